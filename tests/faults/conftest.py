"""Real processes to break: an RQ worker and a stemworker, each killable by PID.

These tests commit for real (`transaction=True`): the worker is another process
and must see the jobs. Each test gets its own stemworker with one slot, so a
test can kill it without disturbing the session's shared one.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from devtools.stemworker_process import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from tests.helpers.db import seed_baseline
from tests.helpers.faults import database_url, descendants

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def baseline(transactional_db) -> None:  # type: ignore[no-untyped-def]
    seed_baseline()


class Stemworker:
    """One stemworker process on a fixed port, which can be killed and restarted."""

    def __init__(self, tiny_models: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "STEMWORKER_TOKEN": settings.STEMWORKER_TOKEN,
            "SHARED_ROOT": str(settings.SHARED_ROOT),
            "DEMUCS_REPO": str(tiny_models),
            "DEMUCS_MODELS": "htdemucs,htdemucs_6s",
            "MAX_CONCURRENT_JOBS": "1",
            "STEMWORKER_WARMUP": "false",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start_stemworker(self.port, self.env)
        wait_healthy(self.url, timeout=120)

    def kill(self) -> None:
        """SIGKILL the server process alone, as a crash would."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_stemworker(self.process)


@pytest.fixture
def stemworker(tiny_models, settings) -> Iterator[Stemworker]:  # type: ignore[no-untyped-def]
    server = Stemworker(tiny_models)
    server.start()
    settings.STEMWORKER_URL = server.url
    try:
        yield server
    finally:
        server.stop()


class RqWorker:
    """`manage.py rqworker stems default` as a separate process group."""

    def __init__(
        self, stemworker_url: str, database: str, log: Path, down_seconds: int
    ) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "TEST_DATABASE_URL": database,
            "TEST_REDIS_URL": settings.TEST_REDIS_URL,
            "MUXMINUS_TEST_SHARED_ROOT": str(settings.SHARED_ROOT),
            "MUXMINUS_TEST_STEMWORKER_URL": stemworker_url,
            # How long the worker waits for a stemworker that went away.
            "STEMWORKER_DOWN_SECONDS": str(down_seconds),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [sys.executable, "manage.py", "rqworker", "stems", "default"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the worker and its work horse, as a lost machine would.

        RQ puts the horse in a session of its own, so it is found by parent PID.
        """
        assert self.process is not None
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


@pytest.fixture
def rq_workers(stemworker, tmp_path) -> Iterator[Callable[..., RqWorker]]:  # type: ignore[no-untyped-def]
    started: list[RqWorker] = []

    def start(database: str | None = None, down_seconds: int = 3) -> RqWorker:
        worker = RqWorker(
            stemworker.url,
            database or database_url(),
            tmp_path / "rqworker.log",
            down_seconds,
        )
        worker.start()
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
