"""Fixtures for the stemworker tests (no Django: run with ``-p no:django``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devtools.model_repo import build_repo
from stemworker.config import get_settings
from tests.helpers.stemworker import FAKE_CLI, TINY_REPO, TOKEN


@pytest.fixture(scope="session")
def tiny_repo() -> Path:
    """Tiny random demucs models, built once and cached across runs."""
    return build_repo(TINY_REPO, size="tiny")


@pytest.fixture
def shared_root(tmp_path: Path) -> Path:
    """An empty SHARED_ROOT."""
    root = tmp_path / "shared"
    root.mkdir()
    return root


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, shared_root: Path) -> dict[str, str]:
    """Environment for a stemworker whose workers call the fake CLI."""
    env = {
        "STEMWORKER_TOKEN": TOKEN,
        "SHARED_ROOT": str(shared_root),
        "DEMUCS_MODELS": "htdemucs,htdemucs_6s",
        "MAX_CONCURRENT_JOBS": "1",
        # The argv the fake CLI records must not depend on this machine's cores
        # (test_capacity covers the rule and -j reaching demucs).
        "STEMWORKER_SEGMENT_WORKERS": "0",
        "STEMWORKER_WARMUP": "false",
        "STEMWORKER_ENTRY_POINT": f"{FAKE_CLI}:main",
    }
    for key in ("DEMUCS_REPO", "DEMUCS_DEVICE", "STEMWORKER_RECYCLE_AFTER"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def make_client(
    monkeypatch: pytest.MonkeyPatch, fake_env: dict[str, str]
) -> Iterator[Callable[..., TestClient]]:
    """Factory: ``make_client(**extra_env)`` returns a started TestClient."""
    clients: list[TestClient] = []

    def factory(**extra: str) -> TestClient:
        for key, value in extra.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        from stemworker.main import app

        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)
    get_settings.cache_clear()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A started TestClient over the fake CLI, one slot."""
    return make_client()
