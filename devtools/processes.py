"""The product's processes for benches and tests: started, watched and stopped.

Each service runs in its own process group with its output in a log file; a
fresh PostgreSQL database and a Redis DB of its own keep one run apart from
another. bench/harness.py and devtools/production/ both start the product
with these.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import redis

ROOT = Path(__file__).resolve().parent.parent
# The PostgreSQL server databases are made on: this machine's, unless
# BENCH_POSTGRES_URL names another (`make test` runs the load bench on the
# embedded one, a Unix socket given as ?host=).
PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def database_url(name: str) -> str:
    """The URL of database `name` on that server (its query, a socket, kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit(("postgres", parts.netloc, f"/{name}", parts.query, ""))


class ServiceError(Exception):
    """A process of the product could not be started, or stopped working."""


def tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, for error messages."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so that the same clean-up stops the processes
    (they run in sessions of their own and would outlive us otherwise)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def manage(
    env: Mapping[str, str],
    *args: str,
    python: str = sys.executable,
    timeout: float = 300.0,
) -> str:
    """Run a manage.py command in `env`; return its stdout."""
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [python, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise ServiceError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


class Service:
    """One long-running process in its own process group, logging to a file."""

    def __init__(
        self, name: str, argv: list[str], env: Mapping[str, str], log: Path
    ) -> None:
        self.name, self.log = name, log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                argv,
                cwd=ROOT,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        """Raise ServiceError (with its log) when the process has exited."""
        if self.proc.poll() is not None:
            raise ServiceError(
                f"{self.name} exited ({self.proc.returncode}):\n{tail(self.log)}"
            )

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it lingers."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue

    def terminate(self) -> None:
        """SIGTERM the main process alone, as `docker stop` does."""
        if self.proc.poll() is None:
            self.proc.terminate()

    def kill_group(self, grace: float) -> None:
        """Wait up to `grace` seconds for it to exit, then SIGKILL its group
        (what is left of a container once its main process is gone)."""
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)


# -- the database and Redis --


def create_database(name: str, *, template: str | None = None) -> str:
    """A new PostgreSQL database `name` on 127.0.0.1, empty or a copy of
    `template` (an older one of that name is dropped first); returns its URL.
    Raises when PostgreSQL is not there."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as db:
        ident = sql.Identifier(name)
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        create = sql.SQL("CREATE DATABASE {}").format(ident)
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        db.execute(create)
    return database_url(name)


def databases(prefix: str) -> list[str]:
    """The names of the databases starting with `prefix`."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as db:
        rows = db.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", [prefix]
        ).fetchall()
    return [str(row[0]) for row in rows]


def rename_database(old: str, new: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as db:
        db.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(old), sql.Identifier(new)
            )
        )


def drop_database(name: str, *, force: bool = True) -> None:
    """Remove a database made by create_database; `force` cuts its connections
    (without it, a database in use stays and this raises)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as db:
        drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        db.execute(drop + sql.SQL(" WITH (FORCE)") if force else drop)


def flush_redis(url: str) -> None:
    """Empty one Redis DB."""
    redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()
