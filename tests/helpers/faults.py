"""Breaking real processes: a PostgreSQL connection to cut, and patient waiting."""

import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection


def _socket_folder() -> str | None:
    """The Unix-socket folder of the test database (the embedded PostgreSQL)."""
    params = connection.settings_dict
    host = params.get("HOST") or params.get("OPTIONS", {}).get("host") or ""
    return str(host) if str(host).startswith("/") else None


def database_url(port: int | None = None) -> str:
    """The test database, as the URL another process needs to reach it: through
    a FlakyTcpProxy on `port`, else as this process reaches it."""
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    folder = _socket_folder()
    if port is None and folder is not None:
        db_port = params.get("OPTIONS", {}).get("port") or params.get("PORT") or 5432
        return f"postgres://{user}@/{params['NAME']}?host={folder}&port={db_port}"
    host = "127.0.0.1" if folder is not None else params.get("HOST") or "127.0.0.1"
    port = port or int(params.get("PORT") or 5432)
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


class FlakyTcpProxy:
    """A TCP proxy to PostgreSQL that can drop every connection and refuse new
    ones for a while: the database "briefly unreachable", for real. It reaches
    the test database the way this process does (TCP, or its Unix socket)."""

    def __init__(self, target_port: int) -> None:
        folder = _socket_folder()
        self.target: Any = (
            f"{folder}/.s.PGSQL.{target_port}" if folder else ("127.0.0.1", target_port)
        )
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            return upstream
        return socket.create_connection(self.target)

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            upstream = self._connect_upstream()
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
