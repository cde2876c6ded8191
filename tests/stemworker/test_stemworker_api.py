"""The HTTP API and the warm pool, with workers calling a fake CLI.

The fake CLI (fake_cli.py) stands in for demucs only where the real one cannot
be made to crash, hang or misbehave on demand; test_stemworker_integration.py
runs the real demucs CLI.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stemworker import messages
from tests.helpers.stemworker import AUTH, wait_done, write_wav


def body(shared_root: Path, name: str = "song.wav", **extra: Any) -> dict[str, Any]:
    """A POST body for an input file (created) under the shared root."""
    path = write_wav(shared_root / "uploads" / "j" / name, seconds=0.1)
    sep_id = extra.pop("id", name.split(".")[0])
    return {
        "id": sep_id,
        "input_path": str(path),
        "model": "htdemucs",
        "output_format": "mp3",
        **extra,
    }


def pool_pids(client: TestClient) -> list[int]:
    pids: list[int] = client.app.state.pool.worker_pids()  # type: ignore[attr-defined]
    return pids


def wait_started(client: TestClient, sep_id: str, shared_root: Path) -> None:
    """Wait until the fake CLI is running the job (it writes argv.json first)."""
    marker = shared_root / "work" / sep_id / "argv.json"
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline, "job never started"
        time.sleep(0.05)


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "slots": 1, "busy": 0, "device": "cpu"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-token"}],
)
def test_missing_or_wrong_token_is_401(
    client: TestClient, headers: dict[str, str], shared_root: Path
) -> None:
    assert client.get("/models", headers=headers).status_code == 401
    response = client.post("/separations", json=body(shared_root), headers=headers)
    assert response.status_code == 401
    assert "detail" in response.json()
    assert client.get("/separations/x", headers=headers).status_code == 401
    assert client.delete("/separations/x", headers=headers).status_code == 401


def test_models_without_repo_use_the_known_table(client: TestClient) -> None:
    response = client.get("/models", headers=AUTH)
    assert response.status_code == 200
    names = [m["name"] for m in response.json()]
    assert names == ["htdemucs", "htdemucs_6s"]
    six = response.json()[1]
    assert six["stems"] == ["drums", "bass", "other", "vocals", "guitar", "piano"]
    assert six["description"] == "Six stems: adds guitar and piano"


def test_success_passes_the_exact_demucs_argv(
    client: TestClient, shared_root: Path
) -> None:
    payload = body(shared_root, two_stems="vocals", output_format="flac")
    response = client.post("/separations", json=payload, headers=AUTH)
    assert response.status_code == 202
    assert response.json()["status"] == "running"
    data = wait_done(client, "song")
    assert data["status"] == "succeeded", data
    assert data["progress"] == 100.0
    out = shared_root / "work" / "song"
    assert {s["name"] for s in data["stems"]} == {"vocals", "no_vocals"}
    # flac is encoded by the product, from float WAVs (jobs/encoding.py)
    assert all(Path(s["path"]) == out / "htdemucs" / f"{s['name']}.wav"
               for s in data["stems"])  # fmt: skip
    argv = json.loads((out / "argv.json").read_text())
    assert argv == [
        "-n", "htdemucs", "--two-stems", "vocals", "--float32",
        "-o", str(out), "--filename", "{stem}.{ext}", payload["input_path"],
    ]  # fmt: skip


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "{root}/uploads/../../outside.wav", "relative/in.wav"],
)
def test_input_outside_shared_root_is_400(
    client: TestClient, shared_root: Path, path: str
) -> None:
    payload = body(shared_root, input_path=path.format(root=shared_root))
    response = client.post("/separations", json=payload, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_symlink_inside_root_pointing_outside_is_400(
    client: TestClient, shared_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF")
    link = shared_root / "uploads" / "link.wav"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    payload = body(shared_root, input_path=str(link))
    assert client.post("/separations", json=payload, headers=AUTH).status_code == 400


def test_unknown_model_or_stem_is_400(client: TestClient, shared_root: Path) -> None:
    for extra in ({"model": "mdx"}, {"two_stems": "guitar"}):
        payload = body(shared_root, **extra)
        response = client.post("/separations", json=payload, headers=AUTH)
        assert response.status_code == 400, extra
    payload = body(shared_root, model="htdemucs_6s", two_stems="guitar")
    assert client.post("/separations", json=payload, headers=AUTH).status_code == 202


def test_a_time_limit_above_the_cap_is_refused_not_shortened(
    make_client: Callable[..., TestClient], shared_root: Path
) -> None:
    client = make_client(STEMWORKER_JOB_TIMEOUT="600")
    response = client.post(
        "/separations", json=body(shared_root, timeout_seconds=601), headers=AUTH
    )
    assert response.status_code == 400
    assert "STEMWORKER_JOB_TIMEOUT=600" in response.json()["detail"]
    accepted = body(shared_root, "ok.wav", timeout_seconds=600)
    assert client.post("/separations", json=accepted, headers=AUTH).status_code == 202


def test_full_pool_is_429_and_repost_is_idempotent(
    client: TestClient, shared_root: Path
) -> None:
    first = client.post(
        "/separations", json=body(shared_root, "slow.wav"), headers=AUTH
    )
    assert first.status_code == 202
    again = client.post(
        "/separations", json=body(shared_root, "slow.wav"), headers=AUTH
    )
    assert again.status_code == 202
    assert again.json()["started_at"] == first.json()["started_at"]
    other = client.post("/separations", json=body(shared_root), headers=AUTH)
    assert other.status_code == 429
    assert other.json() == {"detail": "All 1 separation slots are busy."}
    assert int(other.headers["Retry-After"]) > 0
    assert client.get("/health").json()["busy"] == 1
    assert client.delete("/separations/slow", headers=AUTH).status_code == 204


def test_delete_kills_the_process_group_and_forgets(
    client: TestClient, shared_root: Path
) -> None:
    client.post("/separations", json=body(shared_root, "slow.wav"), headers=AUTH)
    wait_started(client, "slow", shared_root)
    (pid,) = pool_pids(client)
    assert client.delete("/separations/slow", headers=AUTH).status_code == 204
    assert gone(pid)
    assert not (shared_root / "work" / "slow").exists()
    assert client.get("/separations/slow", headers=AUTH).status_code == 404
    assert client.delete("/separations/slow", headers=AUTH).status_code == 404
    (fresh,) = pool_pids(client)
    assert fresh != pid
    client.post("/separations", json=body(shared_root), headers=AUTH)
    assert wait_done(client, "song")["status"] == "succeeded"


def test_worker_crash_fails_the_job_and_replaces_the_worker(
    client: TestClient, shared_root: Path
) -> None:
    client.post("/separations", json=body(shared_root, "slow.wav"), headers=AUTH)
    wait_started(client, "slow", shared_root)
    (pid,) = pool_pids(client)
    os.kill(pid, signal.SIGKILL)
    data = wait_done(client, "slow")
    assert data["status"] == "failed"
    assert data["error"] == messages.CRASHED
    assert data["progress"] < 100
    (fresh,) = pool_pids(client)
    assert fresh != pid
    client.post("/separations", json=body(shared_root), headers=AUTH)
    assert wait_done(client, "song")["status"] == "succeeded"


def test_hard_timeout_stops_the_job(client: TestClient, shared_root: Path) -> None:
    payload = body(shared_root, "slow.wav", timeout_seconds=1)
    client.post("/separations", json=payload, headers=AUTH)
    (pid,) = pool_pids(client)
    data = wait_done(client, "slow")
    assert data["status"] == "failed"
    assert data["error"] == messages.TIMED_OUT
    assert "0%|" in data["log"]
    assert gone(pid)


def test_worker_is_recycled_after_n_jobs(
    make_client: Callable[..., TestClient], shared_root: Path
) -> None:
    client = make_client(STEMWORKER_RECYCLE_AFTER="2")
    pids = []
    for n in range(3):
        # A result is published before its worker is recycled: wait for the slot.
        slots = client.get("/slots", params={"wait": 60}, headers=AUTH).json()
        assert slots["busy"] == 0
        pids.append(pool_pids(client)[0])
        payload = body(shared_root, id=f"job{n}")
        client.post("/separations", json=payload, headers=AUTH)
        assert wait_done(client, f"job{n}")["status"] == "succeeded"
    assert pids[0] == pids[1] != pids[2]
    assert gone(pids[0])


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("garbage.wav", messages.UNREADABLE),
        ("nothing.wav", messages.UNREADABLE),
    ],
)
def test_failures_get_human_messages(
    client: TestClient, shared_root: Path, name: str, error: str
) -> None:
    client.post("/separations", json=body(shared_root, name), headers=AUTH)
    data = wait_done(client, name.split(".")[0])
    assert (data["status"], data["error"]) == ("failed", error)
    assert data["finished_at"]


def test_missing_input_fails_as_missing(client: TestClient, shared_root: Path) -> None:
    payload = body(shared_root, input_path=str(shared_root / "uploads/none/x.wav"))
    assert client.post("/separations", json=payload, headers=AUTH).status_code == 202
    data = wait_done(client, "song")
    assert (data["status"], data["error"]) == ("failed", messages.MISSING)


def test_bad_id_is_rejected(client: TestClient, shared_root: Path) -> None:
    payload = body(shared_root, id="../etc")
    assert client.post("/separations", json=payload, headers=AUTH).status_code == 422


def test_a_long_poll_waits_while_running_and_answers_at_the_end(
    client: TestClient, shared_root: Path
) -> None:
    assert client.post("/separations", json=body(shared_root, "slow.wav"), headers=AUTH)
    wait_started(client, "slow", shared_root)
    started = time.monotonic()
    running = client.get("/separations/slow?wait=0.5", headers=AUTH).json()
    assert running["status"] == "running"
    assert time.monotonic() - started >= 0.5
    assert client.delete("/separations/slow", headers=AUTH).status_code == 204
    started = time.monotonic()
    client.post("/separations", json=body(shared_root, "quick.wav"), headers=AUTH)
    # Answers as soon as the separation ends, long before the 30 s window.
    done = client.get("/separations/quick?wait=30", headers=AUTH).json()
    assert done["status"] == "succeeded"
    assert time.monotonic() - started < 15


def test_a_long_poll_longer_than_a_minute_is_refused(client: TestClient) -> None:
    response = client.get("/separations/x?wait=61", headers=AUTH)
    assert response.status_code == 422
