"""How many separations run at once, and with how many torch threads and
segment workers each.

Chosen from the machine unless MAX_CONCURRENT_JOBS / STEMWORKER_TORCH_THREADS /
STEMWORKER_SEGMENT_WORKERS say otherwise (README, "How the defaults are chosen"):

* **CPU**: one separation per core with one torch thread each, as many as
  memory allows at JOB_MEMORY_BYTES each after RESERVED_MEMORY_BYTES for
  everything else. Measured on two cores: two jobs with one thread each
  finished four full-size jobs 21% sooner than one job with two threads (torch
  scales poorly past one thread per core on demucs' convolutions), and a
  full-size job peaks at about 1.3 GB, plus the models each warm worker keeps.
  Where a job has more than one core (more cores than jobs, or fewer jobs than
  cores because memory is short), it gets them as demucs' own segment workers
  (``-j``: that many chunks of the song at once, one torch thread each) rather
  than as torch threads: measured on two cores, one job with two segment
  workers took 5% (full-size model) to 15% (tiny model) less time than one job
  with two threads, with the same stems to within 1e-7. Each extra worker
  holds one more chunk in flight, about SEGMENT_MEMORY_BYTES (1.0 GB measured
  for the full-size model), so memory bounds them too.
* **CUDA**: one separation per GPU, two where the GPU's memory holds two
  (GPU_JOB_MEMORY_BYTES each: demucs' default segment needs about 7 GB); a
  second job fills the gaps while the other reads, writes or loads, more would
  only share the same GPU time. Each worker sees only its own GPU
  (CUDA_VISIBLE_DEVICES), and the cores are split between them.

Nothing here imports torch: asking it about GPUs takes a second and a few
hundred MB, so it is done in a short child process, and only when the machine
has an NVIDIA device at all.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

logger = logging.getLogger("stemworker")

JOB_MEMORY_BYTES = int(1.8 * 2**30)  # 1.3 GB measured, plus the cached models
SEGMENT_MEMORY_BYTES = 2**30  # each segment worker past the first
RESERVED_MEMORY_BYTES = 2**30
GPU_JOB_MEMORY_BYTES = 7 * 2**30
MAX_JOBS_PER_GPU = 2
PROBE_TIMEOUT_SECONDS = 120
_NVIDIA_MARKERS = ("/dev/nvidia0", "/proc/driver/nvidia/gpus")
_PROBE = (
    "import json, torch\n"
    "gpus = []\n"
    "if torch.cuda.is_available():\n"
    "    gpus = [torch.cuda.get_device_properties(i).total_memory\n"
    "            for i in range(torch.cuda.device_count())]\n"
    "print(json.dumps({'gpus': gpus, 'torch': torch.__version__,\n"
    "                  'cuda': torch.version.cuda}))\n"
)


class CapacityError(Exception):
    """The device asked for is not there; the message says what to do."""


@dataclass(frozen=True)
class Capacity:
    """The slots, threads and device this stemworker runs with, and why."""

    slots: int
    threads: int
    device: str  # "cpu" or "cuda"
    reason: str
    # The GPU index each slot's worker sees (CUDA only).
    gpu_of_slot: tuple[int, ...] = field(default_factory=tuple)
    # demucs' -j: chunks of one song separated at once (CPU only; 0: one by one).
    segment_workers: int = 0

    def summary(self) -> str:
        """The start-up log line."""
        return (
            f"capacity: {self.slots} slot(s) x {self.threads} torch thread(s) on "
            f"{self.device}, {self.segment_workers} segment worker(s) each "
            f"({self.reason})"
        )


def usable_cores() -> int:
    """Cores this process may use: its CPU affinity, and a cgroup quota if any."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def available_memory() -> int | None:
    """Bytes that can still be used: MemAvailable, within a cgroup limit if any."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            left = int(limit) - used
            available = left if available is None else min(available, left)
    except (OSError, ValueError):
        pass
    return available


def gpu_memories() -> tuple[list[int], str]:
    """Total memory of each CUDA GPU torch can use, and what torch is installed.

    ([], why) without an NVIDIA device or without a CUDA build of torch.
    """
    if not any(Path(marker).exists() for marker in _NVIDIA_MARKERS):
        return [], "no NVIDIA device on this machine"
    try:
        # S603: our own fixed probe script, no shell.
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return [], "torch could not be asked about GPUs"
    gpus = [int(m) for m in answer.get("gpus") or []]
    if not gpus:
        build = "CUDA " + answer["cuda"] if answer.get("cuda") else "a CPU-only build"
        return [], f"torch {answer.get('torch')} ({build}) sees no CUDA GPU"
    return gpus, f"torch {answer.get('torch')}, CUDA {answer.get('cuda')}"


def choose(
    *,
    device: str,
    slots: int | None,
    threads: int | None,
    cores: int,
    memory: int | None,
    gpus: list[int],
    gpu_note: str = "",
    segment_workers: int | None = None,
) -> Capacity:
    """The capacity for this machine; `slots`, `threads` and `segment_workers`
    given win over the rule."""
    if device == "cuda" and not gpus:
        raise CapacityError(
            f"DEMUCS_DEVICE=cuda, but {gpu_note or 'no CUDA GPU was found'}. "
            "Install a CUDA build of torch (docker-compose.gpu.yml does) or set "
            "DEMUCS_DEVICE=auto to separate on the CPU."
        )
    if device != "cpu" and gpus:
        return _on_gpus(slots, threads, cores, memory, gpus, gpu_note)
    capacity = _on_cpu(slots, threads, cores, memory, segment_workers)
    if gpu_note:  # auto, and why it is not a GPU
        return replace(capacity, reason=f"{capacity.reason}; {gpu_note}")
    return capacity


def _memory_bound(memory: int | None) -> int | None:
    if memory is None:
        return None
    return max(1, (memory - RESERVED_MEMORY_BYTES) // JOB_MEMORY_BYTES)


def _gb(value: int) -> str:
    return f"{value / 2**30:.1f} GB"


def _on_cpu(
    slots: int | None,
    threads: int | None,
    cores: int,
    memory: int | None,
    workers: int | None,
) -> Capacity:
    free = "memory unknown" if memory is None else f"{_gb(memory)} available"
    if slots is None:
        bound = _memory_bound(memory)
        slots = cores if bound is None else max(1, min(cores, bound))
        reason = (
            f"{cores} core(s), {free}: one job per core, {_gb(JOB_MEMORY_BYTES)} each"
        )
    else:
        reason = f"MAX_CONCURRENT_JOBS={slots}; {cores} core(s), {free}"
    per_job = max(1, cores // slots)
    if workers is None:
        # Threads set by hand keep demucs' own one-chunk-at-a-time run.
        workers = _segment_workers(per_job, slots, memory) if threads is None else 0
    else:
        reason += f"; STEMWORKER_SEGMENT_WORKERS={workers}"
    if threads is None:
        threads = max(1, per_job // max(1, workers))
    else:
        reason += f"; STEMWORKER_TORCH_THREADS={threads}"
    return Capacity(
        slots=slots,
        threads=threads,
        device="cpu",
        reason=reason,
        segment_workers=workers,
    )


def _segment_workers(cores_per_job: int, slots: int, memory: int | None) -> int:
    """One segment worker per core of a job, as memory allows; 0 for one core."""
    workers = cores_per_job
    if memory is not None:
        spare = memory - RESERVED_MEMORY_BYTES - slots * JOB_MEMORY_BYTES
        workers = min(workers, 1 + max(0, spare) // (slots * SEGMENT_MEMORY_BYTES))
    return workers if workers > 1 else 0


def _on_gpus(
    slots: int | None,
    threads: int | None,
    cores: int,
    memory: int | None,
    gpus: list[int],
    gpu_note: str,
) -> Capacity:
    per_gpu = [
        max(1, min(MAX_JOBS_PER_GPU, total // GPU_JOB_MEMORY_BYTES)) for total in gpus
    ]
    sizes = ", ".join(_gb(total) for total in gpus)
    if slots is None:
        slots = sum(per_gpu)
        bound = _memory_bound(memory)
        if bound is not None:
            slots = max(1, min(slots, bound))
        reason = f"{len(gpus)} GPU(s) of {sizes}: {'+'.join(map(str, per_gpu))} job(s)"
    else:
        reason = f"MAX_CONCURRENT_JOBS={slots}; {len(gpus)} GPU(s) of {sizes}"
    # Slots go round the GPUs: 0, 1, ..., then each GPU's second job.
    order = [
        gpu for rank in range(max(per_gpu)) for gpu, n in enumerate(per_gpu) if n > rank
    ]
    gpu_of_slot = tuple(order[i % len(order)] for i in range(slots))
    if threads is None:
        threads = max(1, cores // slots)
    else:
        reason += f"; STEMWORKER_TORCH_THREADS={threads}"
    if gpu_note:
        reason += f"; {gpu_note}"
    return Capacity(
        slots=slots,
        threads=threads,
        device="cuda",
        reason=reason,
        gpu_of_slot=gpu_of_slot,
    )


def for_this_machine(
    device: str,
    slots: int | None,
    threads: int | None,
    segment_workers: int | None = None,
) -> Capacity:
    """The capacity chosen from this machine's cores, memory and GPUs."""
    gpus, note = ([], "") if device == "cpu" else gpu_memories()
    return choose(
        device=device,
        slots=slots,
        threads=threads,
        cores=usable_cores(),
        memory=available_memory(),
        gpus=gpus,
        gpu_note=note,
        segment_workers=segment_workers,
    )
