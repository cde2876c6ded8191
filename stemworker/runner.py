"""The warm worker pool: the only module that starts or kills processes.

One ``pool_worker`` process per slot, each in its own process group. A submitted
separation takes a free slot; a background thread sends the job to the slot's
worker and waits for its result line under a hard timeout. Crash, timeout and
cancellation all end the same way: kill the process group, start a fresh worker.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from . import messages
from .canonical import canonical_refusal
from .config import DEFAULT_ENTRY_POINT, Settings
from .progress import parse_progress
from .weights import startup_line

logger = logging.getLogger("stemworker")

LOG_NAME = "demucs.log"
LOG_TAIL_CHARS = 4000
STARTUP_GRACE_SECONDS = 180
FORGET_AFTER_SECONDS = 24 * 3600
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_EOF = object()


class PoolFull(Exception):  # noqa: N818 - reads better at the call site
    """Every slot is running a separation."""


@dataclass
class JobSpec:
    """What to separate; already validated by the API."""

    id: str
    input_path: Path
    model: str
    two_stems: str | None
    output_format: str
    timeout: int


@dataclass
class Separation:
    """State of one separation, kept in memory only."""

    spec: JobSpec
    workdir: Path
    status: str = "running"
    progress: float = 0.0
    error: str | None = None
    stems: list[tuple[str, Path]] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    final_log: str | None = None
    cancel_requested: bool = False
    # Of the run, seconds the worker spent loading models (0: it held them).
    model_load_seconds: float | None = None
    thread: threading.Thread | None = None
    # Set once the separation has ended, so long-polling clients wake at once.
    ended: threading.Event = field(default_factory=threading.Event)

    @property
    def log_path(self) -> Path:
        """Where the worker writes this run's stdout and stderr."""
        return self.workdir / LOG_NAME

    def read_log(self) -> str:
        """The whole log so far ('' when none was written)."""
        try:
            # Bytes, not read_text: universal newlines would turn tqdm's \r into \n.
            return self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return ""

    def refresh(self) -> None:
        """Update progress from the log; monotonic, and 100 only on success."""
        if self.status != "running":
            return
        value = min(parse_progress(self.read_log()), 99.0)
        self.progress = max(self.progress, value)

    def log_tail(self) -> str:
        """The last few thousand characters of the raw log, for operators."""
        text = self.final_log if self.final_log is not None else self.read_log()
        return text[-LOG_TAIL_CHARS:]


class WorkerProcess:
    """One ``pool_worker`` child and a thread that reads its answers."""

    def __init__(
        self,
        settings: Settings,
        *,
        inspect: bool,
        on_ready: Any,
        warmup_models: list[str] | None = None,
        gpu: int | None = None,
    ) -> None:
        config = {
            "parent_pid": os.getpid(),
            "threads": settings.capacity.threads,
            "entry_point": settings.entry_point,
            "models": settings.model_names,
            "repo": str(settings.demucs_repo) if settings.demucs_repo else None,
            "base_argv": _base_argv(settings),
            "warmup": settings.warmup,
            # The first that can load; all offered while nobody knows yet.
            "warmup_models": (
                settings.model_names if warmup_models is None else warmup_models
            ),
            "inspect": inspect,
            "model_cache": settings.model_cache_size,
            "check_downloads": settings.entry_point == DEFAULT_ENTRY_POINT,
        }
        env = dict(os.environ)
        # The worker must import this package whatever the server's cwd is.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p
        )
        if gpu is not None:  # this worker sees its own GPU only, as cuda:0
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        argv = [sys.executable, "-m", "stemworker.pool_worker", json.dumps(config)]
        # S603: fixed argv, no shell; the only variable part is our own JSON config.
        self.proc = subprocess.Popen(  # noqa: S603
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # own process group, killed as a whole
            env=env,
            text=True,
        )
        self.pid = self.proc.pid
        self.jobs_done = 0
        self.results: queue.Queue[Any] = queue.Queue()
        self._on_ready = on_ready
        reader = threading.Thread(
            target=self._read, name=f"stemworker-read-{self.pid}", daemon=True
        )
        reader.start()

    def _read(self) -> None:
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None  # noqa: S101 - set by Popen(stdout=PIPE)
        for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                logger.warning("worker %s wrote a non-JSON line: %r", self.pid, line)
                continue
            if message.get("event") == "ready":
                self._on_ready(
                    message.get("models") or {}, message.get("unavailable") or {}
                )
            else:
                self.results.put(message)
        self.results.put(_EOF)

    def send(self, job: dict[str, Any]) -> None:
        """Write one job line; raises OSError when the worker is gone."""
        stdin = self.proc.stdin
        assert stdin is not None  # noqa: S101 - set by Popen(stdin=PIPE)
        stdin.write(json.dumps(job) + "\n")
        stdin.flush()

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (demucs, ffmpeg) and reap the worker."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.error("worker %s did not die after SIGKILL", self.pid)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


def _base_argv(settings: Settings) -> list[str]:
    argv: list[str] = []
    if settings.demucs_repo:
        argv += ["--repo", str(settings.demucs_repo)]
    return argv + _device_argv(settings)


def _device_argv(settings: Settings) -> list[str]:
    """Device, segment workers, segment and overlap: demucs' own defaults
    unless set or chosen (stemworker/capacity.py)."""
    argv: list[str] = []
    if settings.demucs_device != "auto":
        argv += ["-d", settings.demucs_device]
    capacity = settings.capacity
    if capacity.device == "cpu" and capacity.segment_workers:
        argv += ["-j", str(capacity.segment_workers)]
    if settings.demucs_segment is not None:
        argv += ["--segment", str(settings.demucs_segment)]
    if settings.demucs_overlap is not None:
        argv += ["--overlap", str(settings.demucs_overlap)]
    return argv


def demucs_argv(settings: Settings, spec: JobSpec, outdir: Path) -> list[str]:
    """The exact argv ``python -m demucs`` would get for this separation."""
    argv: list[str] = []
    if settings.demucs_repo:
        argv += ["--repo", str(settings.demucs_repo)]
    argv += ["-n", spec.model]
    if spec.two_stems:
        argv += ["--two-stems", spec.two_stems]
    if spec.output_format != "wav":
        # The product encodes mp3 and flac itself, every stem at once and after
        # this slot is free (jobs/encoding.py); float keeps what it needs.
        argv.append("--float32")
    argv += _device_argv(settings)
    argv += ["-o", str(outdir), "--filename", "{stem}.{ext}", str(spec.input_path)]
    return argv


@dataclass
class Slot:
    """One concurrency slot: a worker and the separation it runs, if any."""

    index: int
    worker: WorkerProcess | None = None
    current: Separation | None = None


class Pool:
    """Bounded pool of warm workers plus the in-memory table of separations."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.slots = [Slot(i) for i in range(settings.capacity.slots)]
        self._seps: dict[str, Separation] = {}
        self._lock = threading.Lock()
        # Notified whenever a slot frees up (long polls for a free slot wait on it).
        self._slot_freed = threading.Condition(self._lock)
        self._models: dict[str, list[str] | None] | None = None
        self._unavailable: dict[str, str] = {}
        self._models_ready = threading.Event()
        self._closed = False
        # PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, so
        # every worker is started from this one long-lived thread, never from a
        # request or job thread that may end.
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="stemworker-spawn")

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start one worker per slot; the first also reports model stems."""
        for slot in self.slots:
            slot.worker = self._spawn(slot, inspect=slot.index == 0)

    def shutdown(self) -> None:
        """Kill every worker; running separations are lost (state is in memory)."""
        self._closed = True
        for slot in self.slots:
            if slot.worker is not None:
                slot.worker.kill()
        self._spawner.shutdown(wait=False)

    def _spawn(self, slot: Slot, *, inspect: bool = False) -> WorkerProcess:
        warmup_models = None
        if self._models_ready.is_set():
            warmup_models = [
                name
                for name in self.settings.model_names
                if name not in self._unavailable
            ]
        future = self._spawner.submit(
            WorkerProcess,
            self.settings,
            inspect=inspect,
            on_ready=self._set_models,
            warmup_models=warmup_models,
            gpu=self._gpu_of(slot),
        )
        return future.result(timeout=60)

    def _gpu_of(self, slot: Slot) -> int | None:
        gpus = self.settings.capacity.gpu_of_slot
        return gpus[slot.index] if slot.index < len(gpus) else None

    def _set_models(
        self, models: dict[str, list[str] | None], unavailable: dict[str, str]
    ) -> None:
        if self._models is None:
            self._unavailable = dict(unavailable)
            self._models = models
            self._models_ready.set()
            if unavailable:
                # One line, naming what to do: the reasons are in GET /models.
                logger.warning(startup_line(unavailable, self.settings.demucs_repo))

    def _replace_worker(self, slot: Slot) -> None:
        if slot.worker is not None:
            slot.worker.kill()
        if not self._closed:
            slot.worker = self._spawn(slot)

    # -- queries -------------------------------------------------------------

    def model_stems(self, timeout: float = 0) -> dict[str, list[str] | None] | None:
        """Stems per model as loaded by a worker; None when not (yet) known."""
        self._models_ready.wait(timeout)
        return self._models

    def unavailable_models(self, timeout: float = 0) -> dict[str, str] | None:
        """Why each model that cannot load cannot; None when not (yet) known."""
        self._models_ready.wait(timeout)
        return dict(self._unavailable) if self._models_ready.is_set() else None

    def busy(self) -> int:
        """Number of slots running a separation."""
        with self._lock:
            return sum(1 for slot in self.slots if slot.current is not None)

    def wait_for_free_slot(self, timeout: float) -> bool:
        """Block up to `timeout` seconds until a slot is free; True when one is.

        Lets a client that got PoolFull learn the moment a slot frees up
        instead of asking again and again.
        """
        with self._slot_freed:
            return self._slot_freed.wait_for(
                lambda: any(slot.current is None for slot in self.slots), timeout
            )

    def worker_pids(self) -> list[int]:
        """Current worker pids, one per slot (for tests and operators)."""
        return [slot.worker.pid for slot in self.slots if slot.worker is not None]

    def get(self, sep_id: str, wait: float = 0) -> Separation | None:
        """The separation with this id, progress refreshed; None when unknown.

        With `wait`, blocks up to that many seconds for a running separation to
        end: a long poll, so clients learn of the end at once while asking
        rarely (every wake-up of another process slows torch's threads).
        """
        with self._lock:
            sep = self._seps.get(sep_id)
        if sep is not None:
            if wait > 0:
                sep.ended.wait(wait)
            sep.refresh()
        return sep

    # -- commands ------------------------------------------------------------

    def submit(self, spec: JobSpec) -> Separation:
        """Start a separation, or return the existing one with that id.

        Raises PoolFull when every slot is busy.
        """
        with self._lock:
            existing = self._seps.get(spec.id)
            if existing is not None:
                return existing
            slot = next((s for s in self.slots if s.current is None), None)
            if slot is None:
                raise PoolFull
            workdir = self.settings.work_root / spec.id
            # A folder left by an earlier stemworker life must not pass as output.
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            sep = Separation(spec=spec, workdir=workdir)
            slot.current = sep
            self._seps[spec.id] = sep
            sep.thread = threading.Thread(
                target=self._run, args=(slot, sep), name=f"sep-{spec.id}", daemon=True
            )
            # Started under the lock so a concurrent DELETE always finds it joinable.
            sep.thread.start()
            self._forget_old()
        logger.info("separation %s started: model=%s", spec.id, spec.model)
        return sep

    def _forget_old(self) -> None:
        """Drop finished separations nobody asked about for a day (memory bound)."""
        cutoff = datetime.now(UTC).timestamp() - FORGET_AFTER_SECONDS
        for key, old in list(self._seps.items()):
            if old.finished_at is not None and old.finished_at.timestamp() < cutoff:
                del self._seps[key]

    def delete(self, sep_id: str) -> bool:
        """Cancel if running, remove its folder and forget it; False when unknown."""
        with self._lock:
            sep = self._seps.get(sep_id)
            if sep is None:
                return False
            sep.cancel_requested = True
            slot = next((s for s in self.slots if s.current is sep), None)
            worker = slot.worker if slot else None
        if worker is not None:
            worker.kill()
        if sep.thread is not None:
            sep.thread.join(timeout=30)
        shutil.rmtree(sep.workdir, ignore_errors=True)
        with self._lock:
            self._seps.pop(sep_id, None)
        return True

    # -- the job thread --------------------------------------------------------

    def _run(self, slot: Slot, sep: Separation) -> None:
        stems: list[tuple[str, Path]] = []
        outcome: str | int = "crashed"
        error: str | None
        try:
            refusal = canonical_refusal(
                sep.spec.input_path, max_seconds=self.settings.max_audio_minutes * 60
            )
            if refusal is not None:
                outcome = "refused"
                status, error = "failed", refusal.message
                sep.log_path.write_text(f"refused: {refusal.detail}\n")
            else:
                outcome = self._execute(slot, sep)
                status, error, stems = self._verdict(sep, outcome)
        except Exception:  # a bug here must not leave the slot busy forever
            logger.exception("separation %s: runner error", sep.spec.id)
            status, error = "failed", messages.FALLBACK
        renew = self._needs_new_worker(slot, outcome)
        if not renew:
            # The worker is ready for the next song: the slot is free the moment
            # demucs exits, before anyone collects (and encodes) these stems.
            self._free(slot)
        with self._lock:
            self._complete(sep, status, error, stems)
        logger.info(
            "separation %s finished: %s%s%s",
            sep.spec.id,
            sep.status,
            f" ({sep.error})" if sep.error else "",
            ""
            if sep.model_load_seconds is None
            else f"; model load {sep.model_load_seconds:.2f} s",
        )
        if renew:
            # Published first: whoever waits for these stems does not wait for a
            # fresh worker to import torch too. The slot waits for it.
            try:
                self._replace_worker(slot)
            except Exception:
                logger.exception(
                    "separation %s: could not renew the worker", sep.spec.id
                )
            self._free(slot)

    def _free(self, slot: Slot) -> None:
        with self._slot_freed:
            slot.current = None
            # One waiter per free slot: the others would only wake to find it
            # taken, on the cores the running separations use (a waiter whose
            # client is gone wastes it until the others' polls time out).
            free = sum(1 for s in self.slots if s.current is None)
            self._slot_freed.notify(free)

    def _execute(self, slot: Slot, sep: Separation) -> str | int:
        """Send the job and wait; returns the exit code or 'crashed'/'timeout'."""
        if slot.worker is None or not slot.worker.alive():
            self._replace_worker(slot)
        worker = slot.worker
        assert worker is not None  # noqa: S101 - just (re)spawned
        job = {
            "id": sep.spec.id,
            "argv": demucs_argv(self.settings, sep.spec, sep.workdir),
            "log_path": str(sep.log_path),
        }
        try:
            worker.send(job)
        except OSError:
            return "crashed"
        # The hard timeout counts from the moment the worker starts the job; a
        # fresh worker may still be importing torch and warming up when we send.
        deadline = time.monotonic() + sep.spec.timeout + STARTUP_GRACE_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            try:
                message = worker.results.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if message is _EOF:
                return "crashed"
            if message.get("id") != sep.spec.id:
                continue
            if message.get("event") == "started":
                deadline = time.monotonic() + sep.spec.timeout
            else:
                sep.model_load_seconds = message.get("model_load_seconds")
                return int(message.get("exit_code", 1))

    def _needs_new_worker(self, slot: Slot, outcome: str | int) -> bool:
        """Whether the slot's worker must be replaced (dead, hung or cancelled)
        or recycled (well used; idle between jobs, so killing it loses nothing)."""
        worker = slot.worker
        if outcome == "refused":  # the worker never saw it
            return False
        if isinstance(outcome, str) or worker is None or not worker.alive():
            return True
        worker.jobs_done += 1
        return worker.jobs_done >= self.settings.recycle_after

    def _verdict(
        self, sep: Separation, outcome: str | int
    ) -> tuple[str, str | None, list[tuple[str, Path]]]:
        """Final status, user message and stems of a finished run."""
        if sep.cancel_requested:
            return "cancelled", None, []
        if outcome == "timeout":
            return "failed", messages.TIMED_OUT, []
        if outcome == "crashed":
            return "failed", messages.CRASHED, []
        stems = _written_stems(sep)
        if outcome == 0 and stems:
            return "succeeded", None, stems
        if not sep.spec.input_path.exists():
            return "failed", messages.MISSING, []
        if outcome == 0:  # demucs exits 0 having written nothing
            return "failed", messages.UNREADABLE, []
        text = messages.human_message(sep.read_log(), model=sep.spec.model)
        return "failed", text, []

    def _complete(
        self,
        sep: Separation,
        status: str,
        error: str | None,
        stems: list[tuple[str, Path]],
    ) -> None:
        sep.refresh()
        sep.final_log = sep.read_log()
        sep.error = error
        sep.stems = stems
        sep.finished_at = datetime.now(UTC)
        if status == "succeeded":
            sep.progress = 100.0
        sep.status = status
        sep.ended.set()


def _written_stems(sep: Separation) -> list[tuple[str, Path]]:
    """Stem files demucs wrote for this separation, in a stable order."""
    folder = sep.workdir / sep.spec.model
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.glob("*.wav") if p.stat().st_size > 0)
    return [(p.stem, p.resolve()) for p in files]
