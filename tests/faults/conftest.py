"""Real processes to break: an RQ worker and a stemworker, each killable by PID.

These tests commit for real (`transaction=True`): the worker is another process
and must see the jobs. Each test gets its own stemworker with one slot, so a
test can kill it without disturbing the session's shared one.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from stemworker.testing import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from tests.conftest import seed_baseline

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


def database_url(port: int | None = None) -> str:
    """The test database, as the URL another process needs to reach it."""
    params = connection.settings_dict
    host = params.get("HOST") or "127.0.0.1"
    port = port or int(params.get("PORT") or 5432)
    user = params.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


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


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


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


class FlakyTcpProxy:
    """A TCP proxy to PostgreSQL that can drop every connection and refuse new
    ones for a while: the database "briefly unreachable", for real."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(
                target=self._pipe, args=(client, upstream), daemon=True
            ).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self.cut.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    def outage(self, seconds: float) -> None:
        """Drop every connection, refuse new ones for `seconds`, then recover."""
        self.cut.set()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._sockets.clear()
        time.sleep(seconds)
        self.cut.clear()

    def close(self) -> None:
        self.closed.set()
        self.cut.set()
        self.listener.close()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"gave up waiting for {what} after {timeout}s")
