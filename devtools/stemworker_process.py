"""Helpers for tests (ours and Django's e2e) that run the real stemworker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import httpx

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_stemworker(
    port: int, env: Mapping[str, str], *, output: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``uvicorn stemworker.main:app`` on 127.0.0.1:port as a subprocess.

    ``env`` is added to the current environment (it must hold at least
    ``STEMWORKER_TOKEN`` and ``SHARED_ROOT``). The server runs in its own process
    group; stop it with ``stop_stemworker``. With ``output`` (a file opened for
    writing), its stdout and stderr go there instead of the caller's.
    """
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_PARENT, full_env.get("PYTHONPATH", "")) if p
    )
    argv = [
        sys.executable, "-m", "uvicorn", "stemworker.main:app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    # S603: fixed argv built here, no shell.
    return subprocess.Popen(  # noqa: S603
        argv, env=full_env, start_new_session=True, stdout=output, stderr=output
    )


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    """Poll ``{url}/health`` until it answers 200; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"stemworker at {url} not healthy after {timeout}s")


def stop_stemworker(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a server from ``start_stemworker`` (SIGTERM, then SIGKILL)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
