"""Loaded models kept per worker (stemworker/model_cache.py), on demucs' own
loader and the tiny models' real files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import demucs.api
import pytest

from stemworker.model_cache import ModelCache

REAL_LOADER = demucs.api.get_model


@pytest.fixture
def repo(tiny_repo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(tiny_repo, copy)
    return copy


def test_a_model_is_loaded_once_and_again_when_its_files_change(repo: Path) -> None:
    cache = ModelCache(REAL_LOADER, limit=3)
    first = cache.get_model(name="htdemucs", repo=repo)
    assert cache.get_model(name="htdemucs", repo=repo) is first
    weights = next(repo.glob("*.th"))
    later = weights.stat().st_mtime_ns + 5_000_000_000
    os.utime(weights, ns=(later, later))
    reloaded = cache.get_model(name="htdemucs", repo=repo)
    assert reloaded is not first
    assert list(reloaded.sources) == list(first.sources)


def test_the_cache_holds_at_most_its_limit(repo: Path) -> None:
    cache = ModelCache(REAL_LOADER, limit=1)
    four = cache.get_model(name="htdemucs", repo=repo)
    cache.get_model(name="htdemucs_6s", repo=repo)
    assert cache.get_model(name="htdemucs", repo=repo) is not four


def test_a_limit_of_zero_loads_every_time(repo: Path) -> None:
    cache = ModelCache(REAL_LOADER, limit=0)
    assert cache.get_model(name="htdemucs", repo=repo) is not cache.get_model(
        name="htdemucs", repo=repo
    )
