"""How many separations at once, with how many threads, on which device
(stemworker/capacity.py): the rule, and the stemworker starting with it."""

from __future__ import annotations

import json
import os
import re
import time
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
)
from stemworker.capacity import (
    JOB_MEMORY_BYTES,
    RESERVED_MEMORY_BYTES,
    SEGMENT_MEMORY_BYTES,
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
    assert capacity.segment_workers == 0  # one core each: demucs' own run
    assert "2 core(s)" in capacity.reason and "one job per core" in capacity.reason


def test_memory_bounds_the_jobs_and_the_cores_are_shared_out() -> None:
    """Three jobs fit; the spare half GB holds no second chunk, so each job's
    five cores are torch threads."""
    memory = RESERVED_MEMORY_BYTES + 3 * JOB_MEMORY_BYTES + GB // 2
    capacity = choose(
        device="cpu", slots=None, threads=None, cores=16, memory=memory, gpus=[]
    )
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (3, 5, 0)


def test_a_jobs_spare_cores_become_segment_workers_as_memory_allows() -> None:
    # Memory for one job and one more chunk: two workers of eight threads.
    memory = RESERVED_MEMORY_BYTES + JOB_MEMORY_BYTES + SEGMENT_MEMORY_BYTES + GB // 2
    capacity = choose(
        device="cpu", slots=None, threads=None, cores=16, memory=memory, gpus=[]
    )
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (1, 8, 2)
    # Two jobs by hand and memory to spare: a worker per core, one thread each.
    capacity = choose(
        device="cpu", slots=2, threads=None, cores=16, memory=64 * GB, gpus=[]
    )
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (2, 1, 8)
    # Plenty of memory and no setting: a job per core, no spare cores at all.
    capacity = choose(
        device="cpu", slots=None, threads=None, cores=16, memory=64 * GB, gpus=[]
    )
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (16, 1, 0)


def test_a_small_machine_still_runs_one_job() -> None:
    capacity = choose(
        device="cpu", slots=None, threads=None, cores=4, memory=GB, gpus=[]
    )
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (1, 4, 0)


def test_settings_win_over_the_rule() -> None:
    capacity = choose(
        device="cpu", slots=1, threads=None, cores=2, memory=22 * GB, gpus=[]
    )
    # One job on two cores: two chunks at once, one thread each.
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (1, 1, 2)
    assert "MAX_CONCURRENT_JOBS=1" in capacity.reason
    capacity = choose(device="cpu", slots=3, threads=2, cores=2, memory=None, gpus=[])
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (3, 2, 0)
    assert "STEMWORKER_TORCH_THREADS=2" in capacity.reason
    capacity = choose(
        device="cpu",
        slots=1,
        threads=None,
        cores=8,
        memory=None,
        gpus=[],
        segment_workers=3,
    )
    assert (capacity.slots, capacity.threads, capacity.segment_workers) == (1, 2, 3)
    assert "STEMWORKER_SEGMENT_WORKERS=3" in capacity.reason


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
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
    total = int(Path("/proc/meminfo").read_text().split()[1]) * 1024  # MemTotal
    memory = available_memory()
    assert memory is not None and 0 < memory <= total


def _run(tmp_path: Path, env: dict[str, str]) -> tuple[int | None, int | None, str]:
    """Start a stemworker with `env` until it answers or exits; (its slots as
    /health says, or None; its exit code, or None; its log)."""
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
    slots = None
    deadline = time.monotonic() + 120  # a hang guard, not a speed limit
    try:
        while slots is None and proc.poll() is None:
            assert time.monotonic() < deadline, "neither answered nor exited"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                slots = int(health.json()["slots"])
            except httpx.HTTPError:
                time.sleep(0.2)
        code = proc.poll()
    finally:
        stop_stemworker(proc)
    return slots, code, log.read_text(errors="replace")


def test_the_stemworker_logs_what_it_chose(tmp_path: Path) -> None:
    slots, _, log = _run(
        tmp_path, {"STEMWORKER_WARMUP": "false", "DEMUCS_DEVICE": "cpu"}
    )
    chosen = re.search(
        r"capacity: (\d+) slot\(s\) x (\d+) torch thread\(s\) on cpu, "
        r"(\d+) segment worker\(s\) each "
        r"\((\d+) core\(s\), [\d.]+ GB available: one job per core",
        log,
    )
    assert chosen is not None, log
    logged, threads, workers, cores = map(int, chosen.groups())
    assert logged == slots
    assert cores == usable_cores()
    assert 1 <= logged <= cores
    assert threads * max(1, workers) == max(1, cores // logged)


@pytest.mark.skipif(
    Path("/dev/nvidia0").exists(), reason="this machine has an NVIDIA GPU"
)
def test_cuda_on_a_machine_without_a_gpu_does_not_start(tmp_path: Path) -> None:
    slots, code, log = _run(tmp_path, {"DEMUCS_DEVICE": "cuda"})
    assert slots is None and code not in (None, 0)
    assert "stemworker cannot start: DEMUCS_DEVICE=cuda, but no NVIDIA device" in log


def test_device_segment_workers_segment_and_overlap_reach_demucs(
    make_client: Callable[..., TestClient], shared_root: Path
) -> None:
    """Through the fake CLI, which records the argv it was given."""
    client = make_client(
        DEMUCS_DEVICE="cpu",
        STEMWORKER_SEGMENT_WORKERS="3",
        DEMUCS_SEGMENT="5",
        DEMUCS_OVERLAP="0.1",
    )
    song = write_wav(shared_root / "uploads" / "s" / "input.wav", seconds=0.1)
    payload = {"id": "seg", "input_path": str(song), "model": "htdemucs"}
    assert client.post("/separations", json=payload, headers=AUTH).status_code == 202
    assert wait_done(client, "seg")["status"] == "succeeded"
    argv = json.loads((shared_root / "work" / "seg" / "argv.json").read_text())
    assert argv[argv.index("-d") : argv.index("--overlap") + 2] == [
        "-d", "cpu", "-j", "3", "--segment", "5", "--overlap", "0.1",
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
        "STEMWORKER_SEGMENT_WORKERS",
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
        "STEMWORKER_SEGMENT_WORKERS": "segment_workers",
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
