"""How many separations at once, with how many threads, on which device
(stemworker/capacity.py): the rule, and the stemworker starting with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from devtools.stemworker_process import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from stemworker.capacity import (
    JOB_MEMORY_BYTES,
    RESERVED_MEMORY_BYTES,
    CapacityError,
    available_memory,
    choose,
    usable_cores,
)
from stemworker.config import Settings
from tests.helpers.stemworker import AUTH, TOKEN, wait_done, write_wav

GB = 2**30


def test_on_two_cores_two_jobs_of_one_thread() -> None:
    capacity = choose(
        device="auto", slots=None, threads=None, cores=2, memory=22 * GB, gpus=[]
    )
    assert (capacity.slots, capacity.threads, capacity.device) == (2, 1, "cpu")
    assert "2 core(s)" in capacity.reason and "one job per core" in capacity.reason


def test_memory_bounds_the_jobs_and_the_cores_are_shared_out() -> None:
    memory = RESERVED_MEMORY_BYTES + 3 * JOB_MEMORY_BYTES + GB // 2
    capacity = choose(
        device="cpu", slots=None, threads=None, cores=16, memory=memory, gpus=[]
    )
    assert (capacity.slots, capacity.threads) == (3, 5)


def test_a_small_machine_still_runs_one_job() -> None:
    capacity = choose(
        device="cpu", slots=None, threads=None, cores=4, memory=GB, gpus=[]
    )
    assert (capacity.slots, capacity.threads) == (1, 4)


def test_settings_win_over_the_rule() -> None:
    capacity = choose(
        device="cpu", slots=1, threads=None, cores=2, memory=22 * GB, gpus=[]
    )
    assert (capacity.slots, capacity.threads) == (1, 2)
    assert "MAX_CONCURRENT_JOBS=1" in capacity.reason
    capacity = choose(device="cpu", slots=3, threads=2, cores=2, memory=None, gpus=[])
    assert (capacity.slots, capacity.threads) == (3, 2)
    assert "STEMWORKER_TORCH_THREADS=2" in capacity.reason


def test_one_job_per_gpu_two_where_its_memory_holds_two() -> None:
    capacity = choose(
        device="auto",
        slots=None,
        threads=None,
        cores=16,
        memory=64 * GB,
        gpus=[80 * GB, 12 * GB],
    )
    assert capacity.device == "cuda"
    assert capacity.slots == 3
    # Round the GPUs first: each has a job before the big one gets its second.
    assert capacity.gpu_of_slot == (0, 1, 0)
    assert capacity.threads == 5


def test_gpu_slots_set_by_hand_go_round_the_gpus() -> None:
    capacity = choose(
        device="cuda",
        slots=4,
        threads=None,
        cores=8,
        memory=None,
        gpus=[8 * GB, 8 * GB],
    )
    assert capacity.gpu_of_slot == (0, 1, 0, 1)
    assert capacity.threads == 2


def test_auto_without_a_gpu_says_why_it_runs_on_the_cpu() -> None:
    capacity = choose(
        device="auto",
        slots=None,
        threads=None,
        cores=2,
        memory=8 * GB,
        gpus=[],
        gpu_note="torch 2.13.0 (a CPU-only build) sees no CUDA GPU",
    )
    assert capacity.device == "cpu"
    assert "CPU-only build" in capacity.reason


def test_cuda_without_a_gpu_is_refused_with_what_to_do() -> None:
    with pytest.raises(CapacityError, match="DEMUCS_DEVICE=auto"):
        choose(
            device="cuda",
            slots=None,
            threads=None,
            cores=2,
            memory=8 * GB,
            gpus=[],
            gpu_note="no NVIDIA device on this machine",
        )


def test_this_machine_is_read() -> None:
    assert usable_cores() >= 1
    memory = available_memory()
    assert memory is None or memory > 0


def _run_briefly(tmp_path: Path, env: dict[str, str]) -> tuple[int | None, str]:
    """Start a stemworker with `env`; (its exit code if it stopped, its log)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    log = tmp_path / "stemworker.log"
    port = free_port()
    with log.open("wb") as output:
        proc = start_stemworker(
            port,
            {"STEMWORKER_TOKEN": TOKEN, "SHARED_ROOT": str(shared), **env},
            output=output,
        )
    try:
        try:
            wait_healthy(f"http://127.0.0.1:{port}", timeout=60)
            slots = httpx.get(f"http://127.0.0.1:{port}/health").json()["slots"]
        except TimeoutError:
            slots = None
        code = proc.poll()
    finally:
        stop_stemworker(proc)
    text = log.read_text(errors="replace")
    return (code if slots is None else slots), text


def test_the_stemworker_logs_what_it_chose(tmp_path: Path) -> None:
    slots, log = _run_briefly(
        tmp_path, {"STEMWORKER_WARMUP": "false", "DEMUCS_DEVICE": "cpu"}
    )
    expected = choose(
        device="cpu",
        slots=None,
        threads=None,
        cores=usable_cores(),
        memory=available_memory(),
        gpus=[],
    )
    assert slots == expected.slots
    assert f"capacity: {expected.slots} slot(s) x {expected.threads} torch" in log


@pytest.mark.skipif(
    Path("/dev/nvidia0").exists(), reason="this machine has an NVIDIA GPU"
)
def test_cuda_on_a_machine_without_a_gpu_does_not_start(tmp_path: Path) -> None:
    code, log = _run_briefly(tmp_path, {"DEMUCS_DEVICE": "cuda"})
    assert code not in (None, 0)
    assert "stemworker cannot start: DEMUCS_DEVICE=cuda, but no NVIDIA device" in log


def test_segment_and_overlap_reach_demucs(
    make_client: Callable[..., TestClient], shared_root: Path
) -> None:
    """Through the fake CLI, which records the argv it was given."""
    client = make_client(DEMUCS_SEGMENT="5", DEMUCS_OVERLAP="0.1")
    song = write_wav(shared_root / "uploads" / "s" / "input.wav", seconds=0.1)
    payload = {"id": "seg", "input_path": str(song), "model": "htdemucs"}
    assert client.post("/separations", json=payload, headers=AUTH).status_code == 202
    assert wait_done(client, "seg")["status"] == "succeeded"
    argv = json.loads((shared_root / "work" / "seg" / "argv.json").read_text())
    assert argv[argv.index("--segment") : argv.index("--overlap") + 2] == [
        "--segment", "5", "--overlap", "0.1",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEMUCS_SEGMENT", "8"), ("DEMUCS_OVERLAP", "1"), ("MAX_CONCURRENT_JOBS", "0")],
)
def test_settings_out_of_range_are_refused(
    monkeypatch: pytest.MonkeyPatch, fake_env: dict[str, str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings()  # type: ignore[call-arg]  # from the environment


@pytest.mark.parametrize(
    "name",
    [
        "MAX_CONCURRENT_JOBS",
        "STEMWORKER_TORCH_THREADS",
        "STEMWORKER_MODEL_CACHE",
        "DEMUCS_SEGMENT",
        "DEMUCS_OVERLAP",
    ],
)
def test_an_empty_setting_means_its_default(
    monkeypatch: pytest.MonkeyPatch, fake_env: dict[str, str], name: str
) -> None:
    """compose passes `${VAR:-}` as an empty string."""
    monkeypatch.setenv(name, "")
    defaults = Settings()  # type: ignore[call-arg]  # from the environment
    field = {
        "MAX_CONCURRENT_JOBS": "max_concurrent_jobs",
        "STEMWORKER_TORCH_THREADS": "torch_threads_per_job",
        "STEMWORKER_MODEL_CACHE": "model_cache",
        "DEMUCS_SEGMENT": "demucs_segment",
        "DEMUCS_OVERLAP": "demucs_overlap",
    }[name]
    assert getattr(defaults, field) is None


def test_the_slot_is_free_when_the_result_is_published(
    make_client: Callable[..., TestClient], shared_root: Path
) -> None:
    """Whoever learns the separation ended finds its slot free already: the
    next song may start while these stems are collected."""
    client = make_client()
    for name in ("one", "two"):
        song = write_wav(shared_root / "uploads" / name / "input.wav", seconds=0.1)
        payload = {"id": name, "input_path": str(song), "model": "htdemucs"}
        assert (
            client.post("/separations", json=payload, headers=AUTH).status_code == 202
        )
        assert wait_done(client, name)["status"] == "succeeded"
        assert client.get("/health").json()["busy"] == 0
