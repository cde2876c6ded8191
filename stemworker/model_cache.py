"""Models stay loaded in a warm worker (issue 14).

The separation still goes through the demucs CLI's own entry point with the
same argv; what changes is where its loaded model comes from. demucs' Separator
calls ``demucs.api.get_model(name=..., repo=...)`` on every run, which reads
and rebuilds the weights each time (seconds for the full-size models). Inside
our worker process that function is wrapped: a model already loaded is handed
back, up to STEMWORKER_MODEL_CACHE models (least recently used first out), and
reloaded when any of its files in the repo changed on disk (size or mtime).

The model object is shared between runs: demucs only reads it (apply_model
moves it to the run's device; it never trains or edits it).
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

Loader = Callable[..., Any]


def _repo_signature(name: str, repo: Path | None) -> tuple[Any, ...]:
    """What on disk the model `name` was loaded from: a change means reload."""
    if repo is None:
        return ()  # demucs' download cache: files named by checksum, never edited
    try:
        files = sorted(
            p for p in Path(repo).iterdir() if p.suffix in (".th", ".yaml", ".yml")
        )
    except OSError:
        return ("unreadable",)
    signature = []
    for path in files:
        try:
            found = path.stat()
        except OSError:
            continue
        signature.append((path.name, found.st_size, found.st_mtime_ns))
    return tuple(signature)


class ModelCache:
    """An LRU of loaded models keyed by (name, repo), checked against the disk."""

    def __init__(self, loader: Loader, limit: int) -> None:
        self.loader = loader
        self.limit = max(0, limit)
        # Seconds spent loading, all runs together (each job reports its share).
        self.load_seconds = 0.0
        self._models: OrderedDict[tuple[str, str], tuple[tuple[Any, ...], Any]] = (
            OrderedDict()
        )

    def get_model(self, name: str, repo: Path | None = None) -> Any:
        """demucs.api.get_model's signature; loads only what is not loaded."""
        if self.limit == 0:
            return self._load(name, repo)
        key = (name, str(repo) if repo is not None else "")
        signature = _repo_signature(name, Path(repo) if repo is not None else None)
        held = self._models.get(key)
        if held is not None and held[0] == signature:
            self._models.move_to_end(key)
            _note(f"model {name}: already loaded")
            return held[1]
        model = self._load(name, repo)
        self._models[key] = (signature, model)
        self._models.move_to_end(key)
        while len(self._models) > self.limit:
            self._models.popitem(last=False)
        _note(f"model {name}: loaded{' again, its files changed' if held else ''}")
        return model

    def _load(self, name: str, repo: Path | None) -> Any:
        started = time.monotonic()
        try:
            return self.loader(name=name, repo=repo)
        finally:
            self.load_seconds += time.monotonic() - started


def _note(text: str) -> None:
    # fd 2 is the job's log while a job runs: operators see where the model came from.
    sys.stderr.write(f"stemworker: {text}\n")
    sys.stderr.flush()


def install(limit: int) -> ModelCache | None:
    """Wrap demucs.api.get_model in this process; None when demucs is absent."""
    try:
        import demucs.api
    except ImportError:
        return None
    cache = ModelCache(demucs.api.get_model, limit)
    demucs.api.get_model = cache.get_model
    return cache
