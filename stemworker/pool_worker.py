"""A warm separation worker: one process per concurrency slot.

Started by ``stemworker.runner`` as ``python -m stemworker.pool_worker CONFIG_JSON``.
It imports torch and demucs once, optionally reports the stems of each configured
model, runs a warm-up separation, then reads one JSON job per line on stdin and
answers one JSON line per job on its original stdout. Each job calls the demucs CLI
entry point with exactly the argv ``python -m demucs`` would get, with fd 1 and
fd 2 pointed at the job's log file so tqdm progress lands there.

Protocol (stdout, one JSON object per line):
``{"event": "ready", "pid": int, "models": {name: [stems] | null},
"unavailable": {name: reason}}`` once (both empty unless this worker inspects),
then
``{"event": "started", "id": str}`` and
``{"event": "result", "id": str, "exit_code": int, "seconds": float,
"model_load_seconds": float}`` per job (the last: loading models, 0 when the
worker already held them).
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from . import model_cache

EntryPoint = Callable[[list[str]], Any]
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL us when the stemworker dies, so no orphan keeps a GPU."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _log(message: str) -> None:
    sys.stderr.write(f"stemworker.pool_worker[{os.getpid()}]: {message}\n")
    sys.stderr.flush()


def load_entry_point(spec: str) -> EntryPoint:
    """Resolve ``module:function`` or ``/path/file.py:function`` to a callable."""
    target, _, func = spec.rpartition(":")
    if target.endswith(".py"):
        module_spec = importlib.util.spec_from_file_location("_stem_entry", target)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {target}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    entry: EntryPoint = getattr(module, func)
    return entry


@contextmanager
def _redirected(log_path: Path) -> Iterator[None]:
    """Point fd 1 and fd 2 at ``log_path`` for the duration of a run."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)


def run_entry(entry: EntryPoint, argv: list[str], log_path: Path) -> int:
    """Call the CLI entry point as ``python -m demucs`` would; return the exit code."""
    with _redirected(log_path):
        try:
            entry(list(argv))
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                return exc.code or 0
            sys.stderr.write(f"{exc.code}\n")
            return 1
        except BaseException:  # noqa: BLE001 - any failure is reported, not fatal
            traceback.print_exc()
            return 1
    return 0


def inspect_models(
    names: list[str], repo: str | None, *, check_downloads: bool = True
) -> tuple[dict[str, list[str] | None], dict[str, str]]:
    """Each model's stems (loaded from the local repo) and, for every model that
    cannot load, the reason why.

    Without a repo nothing is loaded (that could download at start-up): the
    caches and the download hosts say whether each model can load, unless
    `check_downloads` is off (an entry point other than demucs' own downloads
    nothing: the tests' fake CLI).
    """
    from .weights import download_reason, load_failure_reason, repo_reason

    stems: dict[str, list[str] | None] = {}
    reasons: dict[str, str] = {}
    if not repo:
        for name in names if check_downloads else []:
            reason = download_reason(name)
            if reason is not None:
                reasons[name] = reason
        return stems, reasons
    from demucs.pretrained import get_model

    for name in names:
        reason = repo_reason(name, Path(repo))
        if reason is None:
            try:
                stems[name] = list(get_model(name, repo=Path(repo)).sources)
                continue
            except BaseException as exc:  # noqa: BLE001 - demucs calls sys.exit
                reason = load_failure_reason(exc)
        stems[name] = None
        reasons[name] = reason
    return stems, reasons


def warmup_model(config: dict[str, Any], reasons: dict[str, str]) -> str | None:
    """The model the warm-up runs: the first candidate that can load, if any."""
    from .weights import first_loadable

    offered = config.get("warmup_models", config["models"])
    candidates = [name for name in offered if name not in reasons]
    repo = config.get("repo")
    return first_loadable(candidates, Path(repo) if repo else None)


def warm_up(entry: EntryPoint, base_argv: list[str], model: str) -> None:
    """Separate one second of noise so no user job pays the first-inference cost."""
    import numpy as np
    import soundfile

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="stemworker-warmup-") as tmp:
        wav = Path(tmp) / "warmup.wav"
        noise = np.random.default_rng(0).standard_normal((44100, 2)) * 0.05
        soundfile.write(wav, noise.astype("float32"), 44100)
        argv = [*base_argv, "-n", model, "-o", str(Path(tmp) / "out"), str(wav)]
        log = Path(tmp) / "warmup.log"
        code = run_entry(entry, argv, log)
        if code != 0:
            tail = log.read_text(errors="replace")[-800:]
            _log(f"warm-up with {model} failed (exit {code}): {tail}")
            return
    _log(f"warm-up with {model} took {time.monotonic() - started:.1f}s")


def serve(
    entry: EntryPoint, out: IO[str], cache: model_cache.ModelCache | None
) -> None:
    """Run jobs from stdin until EOF, answering one JSON line each."""
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        started = time.monotonic()
        loading = cache.load_seconds if cache is not None else 0.0
        # Lets the runner start the hard timeout now, not while we were warming up.
        out.write(json.dumps({"event": "started", "id": job["id"]}) + "\n")
        out.flush()
        code = run_entry(entry, job["argv"], Path(job["log_path"]))
        result = {
            "event": "result",
            "id": job["id"],
            "exit_code": code,
            "seconds": round(time.monotonic() - started, 3),
            "model_load_seconds": round(
                (cache.load_seconds if cache is not None else 0.0) - loading, 3
            ),
        }
        out.write(json.dumps(result) + "\n")
        out.flush()


def main(config: dict[str, Any]) -> None:
    """Start a worker with the config the runner passed as one JSON argument."""
    _die_with_parent(int(config["parent_pid"]))
    # Keep the real stdout for the protocol; stray prints from libraries go to
    # stderr instead, so they can never corrupt it.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    # Line buffering so "Selected model is a bag of N models" reaches the log
    # before the progress bars it describes.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    import torch

    torch.set_num_threads(int(config["threads"]))
    entry = load_entry_point(config["entry_point"])
    # Models stay loaded between jobs (issue 14): the CLI's own entry point and
    # argv, its get_model served from what this worker already holds.
    cache = model_cache.install(int(config.get("model_cache", 0)))
    models: dict[str, list[str] | None] = {}
    reasons: dict[str, str] = {}
    if config.get("inspect"):
        models, reasons = inspect_models(
            config["models"],
            config.get("repo"),
            check_downloads=bool(config.get("check_downloads", True)),
        )
    ready = {
        "event": "ready",
        "pid": os.getpid(),
        "models": models,
        "unavailable": reasons,
    }
    out.write(json.dumps(ready) + "\n")
    out.flush()
    if config.get("warmup"):
        model = warmup_model(config, reasons)
        if model is not None:
            warm_up(entry, config["base_argv"], model)
    serve(entry, out, cache)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
