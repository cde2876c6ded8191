"""The real service (uvicorn subprocess) running the real demucs CLI on tiny models."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from devtools.stemworker_process import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from stemworker import messages
from tests.helpers.stemworker import AUTH, TOKEN, write_wav

FOUR = ["bass", "drums", "other", "vocals"]


class Service:
    """A running stemworker and its shared root."""

    def __init__(self, url: str, root: Path, proc: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.root = root
        self.proc = proc
        self.http = httpx.Client(base_url=url, headers=AUTH, timeout=30)
        self.input = write_wav(root / "uploads" / "x" / "input.wav")

    def separate(
        self, sep_id: str, **fields: Any
    ) -> tuple[dict[str, Any], list[float]]:
        """POST a separation and poll it to the end; return it and the progress seen."""
        payload = {"id": sep_id, "input_path": str(self.input), "model": "htdemucs",
                   "output_format": "mp3", **fields}  # fmt: skip
        response = self.http.post("/separations", json=payload)
        assert response.status_code == 202, response.text
        seen: list[float] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            data: dict[str, Any] = self.http.get(f"/separations/{sep_id}").json()
            seen.append(data["progress"])
            if data["status"] != "running":
                return data, seen
            time.sleep(0.1)
        raise AssertionError(f"{sep_id} did not finish")


@pytest.fixture(scope="module")
def service(
    tiny_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("shared")
    port = free_port()
    env = {
        "STEMWORKER_TOKEN": TOKEN,
        "SHARED_ROOT": str(root),
        "DEMUCS_REPO": str(tiny_repo),
        "DEMUCS_MODELS": "htdemucs,htdemucs_ft,htdemucs_6s,mdx",
        "MAX_CONCURRENT_JOBS": "1",
        "DEMUCS_DEVICE": "cpu",
    }
    proc = start_stemworker(port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=60)
        yield Service(url, root, proc)
    finally:
        stop_stemworker(proc)


def stem_files(data: dict[str, Any]) -> dict[str, Path]:
    files = {s["name"]: Path(s["path"]) for s in data["stems"]}
    assert all(p.is_file() and p.stat().st_size > 0 for p in files.values())
    return files


def test_models_are_read_from_the_repo(service: Service) -> None:
    models = service.http.get("/models").json()
    assert [m["name"] for m in models] == [
        "htdemucs",
        "htdemucs_ft",
        "htdemucs_6s",
        "mdx",
    ]
    assert [m["available"] for m in models] == [True, True, True, False]
    assert len(models[2]["stems"]) == 6


def test_four_stems_for_mp3_are_float_wavs_for_the_product_to_encode(
    service: Service,
) -> None:
    data, seen = service.separate("four")
    assert data["status"] == "succeeded", data["log"]
    files = stem_files(data)
    assert sorted(files) == FOUR
    out = service.root / "work" / "four" / "htdemucs"
    assert files["vocals"] == out / "vocals.wav"
    info = sf.info(str(files["vocals"]))
    assert (info.subtype, info.channels, info.samplerate) == ("FLOAT", 2, 44100)
    assert data["progress"] == 100.0
    assert seen == sorted(seen)
    assert data["started_at"] and data["finished_at"]


def test_six_stems(service: Service) -> None:
    data, _ = service.separate("six", model="htdemucs_6s", output_format="wav")
    assert data["status"] == "succeeded", data["log"]
    assert sorted(stem_files(data)) == sorted([*FOUR, "guitar", "piano"])
    # wav is written as people get it: 16-bit, by demucs itself
    assert {sf.info(str(p)).subtype for p in stem_files(data).values()} == {"PCM_16"}


def test_two_stems(service: Service) -> None:
    data, _ = service.separate("two", two_stems="vocals")
    assert data["status"] == "succeeded", data["log"]
    assert sorted(stem_files(data)) == ["no_vocals", "vocals"]


def test_bag_of_models_reaches_100(service: Service) -> None:
    data, seen = service.separate("bag", model="htdemucs_ft")
    assert data["status"] == "succeeded", data["log"]
    assert "bag of 2 models" in data["log"]
    assert seen == sorted(seen)
    assert max(seen[:-1], default=0) < 100 and seen[-1] == 100.0


def test_flac_is_left_to_the_product_too(service: Service) -> None:
    data, _ = service.separate("flac", output_format="flac")
    assert data["status"] == "succeeded", data["log"]
    assert {sf.info(str(p)).subtype for p in stem_files(data).values()} == {"FLOAT"}


def test_garbage_input_fails_readably(service: Service) -> None:
    garbage = service.root / "uploads" / "g" / "input.mp3"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"this is not audio at all" * 100)
    data, _ = service.separate("garbage", input_path=str(garbage))
    assert (data["status"], data["error"]) == ("failed", messages.UNREADABLE)
    assert data["log"]


def test_missing_input_fails(service: Service) -> None:
    missing = service.root / "uploads" / "gone" / "input.wav"
    data, _ = service.separate("missing", input_path=str(missing))
    assert (data["status"], data["error"]) == ("failed", messages.MISSING)


def test_model_missing_from_repo_is_refused_with_weights_message(
    service: Service,
) -> None:
    service.http.get("/models")  # the pool has inspected the models
    payload = {"id": "nomodel", "input_path": str(service.input), "model": "mdx"}
    response = service.http.post("/separations", json=payload)
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Model weights for mdx are not available on this server: "
        "weights not found in DEMUCS_REPO."
    )


def test_a_warm_worker_keeps_the_model_loaded(service: Service) -> None:
    # The warm-up loaded htdemucs; the jobs after it get that same model.
    for sep_id in ("kept-1", "kept-2"):
        data, _ = service.separate(sep_id)
        assert data["status"] == "succeeded", data["log"]
        assert "stemworker: model htdemucs: already loaded" in data["log"]
        assert "model htdemucs: loaded" not in data["log"]
