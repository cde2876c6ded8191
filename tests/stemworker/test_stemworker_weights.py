"""At start-up the real stemworker knows which offered models can load, says why
not in GET /models, logs one line naming the fix, and refuses their separations
at once (uvicorn subprocess, real pool workers, tiny models)."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from devtools.stemworker_process import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from stemworker import weights
from tests.helpers.stemworker import AUTH, TOKEN, write_wav


class Running:
    def __init__(self, url: str, log: Path, root: Path) -> None:
        self.url, self.log, self.root = url, log, root
        self.http = httpx.Client(base_url=url, headers=AUTH, timeout=60)

    def models(self) -> dict[str, dict[str, object]]:
        return {m["name"]: m for m in self.http.get("/models").json()}

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _start(
    tmp: Path, env: dict[str, str], log_name: str = "stemworker.log"
) -> Iterator[Running]:
    root = tmp / "shared"
    root.mkdir()
    port = free_port()
    log = tmp / log_name
    output: IO[bytes]
    with log.open("wb") as output:
        proc = start_stemworker(
            port,
            {
                "STEMWORKER_TOKEN": TOKEN,
                "SHARED_ROOT": str(root),
                "MAX_CONCURRENT_JOBS": "1",
                "DEMUCS_DEVICE": "cpu",
                **env,
            },
            output=output,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=60)
        yield Running(url, log, root)
    finally:
        stop_stemworker(proc)


@pytest.fixture(scope="module")
def partial_repo(tiny_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny models with htdemucs_ft's second model missing and htdemucs_6s's
    file damaged (same name, other bytes): only htdemucs can load."""
    repo = tmp_path_factory.mktemp("partial") / "models"
    shutil.copytree(tiny_repo, repo)
    next(repo.glob("tiny4b-*.th")).unlink()
    six = next(repo.glob("tiny6a-*.th"))
    six.write_bytes(six.read_bytes()[:-10] + b"0123456789")
    return repo


@pytest.fixture(scope="module")
def partial(
    partial_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    yield from _start(
        tmp_path_factory.mktemp("partial-run"),
        {
            "DEMUCS_REPO": str(partial_repo),
            "DEMUCS_MODELS": "htdemucs,htdemucs_ft,htdemucs_6s,mdx",
            "STEMWORKER_WARMUP": "true",
        },
    )


def test_models_report_whether_they_can_load_and_why_not(partial: Running) -> None:
    models = partial.models()
    assert list(models) == ["htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx"]
    assert (models["htdemucs"]["available"], models["htdemucs"]["reason"]) == (
        True,
        None,
    )
    assert models["htdemucs_ft"]["available"] is False
    assert models["htdemucs_ft"]["reason"] == weights.NOT_FOUND
    assert models["htdemucs_6s"]["reason"] == weights.DAMAGED
    assert models["mdx"]["reason"] == weights.NOT_FOUND
    # The stems of a model that cannot load still come from the standard table.
    assert len(models["htdemucs_6s"]["stems"]) == 6


def test_one_start_up_line_names_every_model_and_the_fix(
    partial: Running, partial_repo: Path
) -> None:
    partial.models()  # inspection is done
    lines = [
        line
        for line in partial.log_text().splitlines()
        if "unavailable" in line or "tiny-models" in line
    ]
    assert len(lines) == 1, partial.log_text()
    line = lines[0]
    assert "WARNING" in line
    for fragment in (
        f"unavailable (DEMUCS_REPO={partial_repo}): ",
        "htdemucs_ft, mdx: weights not found in DEMUCS_REPO; ",
        "htdemucs_6s: weights in DEMUCS_REPO do not match their checksum.",
        "make fetch-models",
        "manage.py fetch_models",
        "make tiny-models",
    ):
        assert fragment in line
    assert "htdemucs:" not in line and "htdemucs," not in line
    # The warm-up runs on the model that loads, not on one that cannot.
    deadline = time.monotonic() + 60
    while "warm-up with" not in partial.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "warm-up with htdemucs took" in partial.log_text()
    assert "failed" not in partial.log_text()


def test_a_separation_for_a_model_that_cannot_load_is_refused_at_once(
    partial: Running,
) -> None:
    partial.models()
    source = write_wav(partial.root / "uploads" / "x" / "input.wav", seconds=1.0)
    started = time.monotonic()
    response = partial.http.post(
        "/separations",
        json={"id": "ft", "input_path": str(source), "model": "htdemucs_ft"},
    )
    assert time.monotonic() - started < 2
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Model weights for htdemucs_ft are not available on this server: "
        "weights not found in DEMUCS_REPO."
    )
    assert partial.http.get("/separations/ft").status_code == 404

    ok = partial.http.post(
        "/separations",
        json={"id": "ok", "input_path": str(source), "model": "htdemucs"},
    )
    assert ok.status_code == 202, ok.text
    state = partial.http.get("/separations/ok", params={"wait": 60}).json()
    assert state["status"] == "succeeded", state


def test_an_empty_repo_starts_with_every_model_unavailable_and_no_warm_up(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    env = {
        "DEMUCS_REPO": str(empty),
        "DEMUCS_MODELS": "htdemucs,htdemucs_6s",
        "STEMWORKER_WARMUP": "true",
    }
    for running in _start(tmp_path, env):
        models = running.models()
        assert [m["reason"] for m in models.values()] == [weights.NOT_FOUND] * 2
        assert running.http.get("/health").json()["status"] == "ok"
        text = running.log_text()
        assert text.count("make tiny-models") == 1
        assert "htdemucs, htdemucs_6s: weights not found in DEMUCS_REPO" in text
        assert "warm-up" not in text


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


@pytest.mark.skipif(
    _resolves("dl.fbaipublicfiles.com"), reason="this machine can download weights"
)
def test_without_a_repo_or_network_only_what_demucs_has_cached_is_available(
    tmp_path: Path,
) -> None:
    # htdemucs is in torch hub's cache, where demucs looks after the hub's.
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "955717e8-8726e21a.th").write_bytes(b"cached")
    env = {
        "DEMUCS_MODELS": "htdemucs,htdemucs_6s,htdemucs_ft",
        "DEMUCS_REPO": "",
        "STEMWORKER_WARMUP": "false",
        # Empty caches; the hub is offline, demucs' own host unreachable.
        "HF_HOME": str(tmp_path / "hf"),
        "TORCH_HOME": str(tmp_path / "torch"),
        "HF_HUB_OFFLINE": "1",
    }
    for running in _start(tmp_path, env):
        models = running.models()
        reason = "weights not downloaded and dl.fbaipublicfiles.com cannot be reached"
        assert [m["reason"] for m in models.values()] == [None, reason, reason]
        assert [m["available"] for m in models.values()] == [True, False, False]
        assert running.log_text().count("make fetch-models") == 1
        assert "(DEMUCS_REPO unset): htdemucs_6s, htdemucs_ft: " in running.log_text()


# -- the file checks on their own ------------------------------------------------


def test_repo_reason_reads_the_layout_demucs_loads(
    tiny_repo: Path, tmp_path: Path
) -> None:
    assert weights.repo_reason("htdemucs_ft", tiny_repo) is None
    assert weights.repo_reason("tiny4a", tiny_repo) is None  # a bare signature
    assert weights.repo_reason("mdx", tiny_repo) == weights.NOT_FOUND
    assert weights.repo_reason("htdemucs", tmp_path / "absent") == weights.NOT_FOUND
    (tmp_path / "htdemucs.yaml").write_text("not: [a bag")
    assert weights.repo_reason("htdemucs", tmp_path) == weights.UNLOADABLE
