"""What every bench shares: starting the product, and measuring the machine.

The benches (``pipeline.py``, ``api.py``, ``load.py``) keep their own measurements;
this module starts and stops the product's processes (gunicorn, RQ workers, the
stemworker, cron) in a temporary SHARED_ROOT on a fresh database and Redis DB,
runs ``manage.py`` in that environment, reads other processes' CPU use from
/proc, and writes results and logs under ``bench/results/``.

Import it after the project root is on ``sys.path`` (each bench does that first).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from devtools.processes import (
    PG_ADMIN_URL,
    Service,
    ServiceError,
    create_database,
    flush_redis,
    manage,
    sigterm_as_interrupt,
    tail,
)
from devtools.processes import drop_database as _drop_database
from devtools.stemworker_process import free_port

__all__ = ["Service", "flush_redis", "manage", "sigterm_as_interrupt", "tail"]

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MODEL = "htdemucs"
MODELS = "htdemucs,htdemucs_ft,htdemucs_6s"
MODELS_CACHE = ROOT / "var" / "bench-models"
RESULTS_DIR = ROOT / "bench" / "results"
QUIET_CORES = 0.15  # other processes may use this much CPU while we time
_WARMUP_RE = re.compile(r"warm-up with \S+ (took|failed)")
_SEP_RE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ stemworker: "
    r"separation (\S+) (started|finished)",
    re.MULTILINE,
)


# Anything a bench finds broken; a service that exits raises it too.
BenchError = ServiceError


# -- small helpers --


def iso(value: str | None) -> float | None:
    """An API timestamp (ISO 8601) as a Unix time; None stays None."""
    return datetime.fromisoformat(value).timestamp() if value else None


def separations_from_log(log: Path) -> dict[str, tuple[float, float | None]]:
    """{separation id: (started, finished or None)} from the stemworker's log."""
    spans: dict[str, tuple[float, float | None]] = {}
    for stamp, sep_id, what in _SEP_RE.findall(tail(log, 10**9)):
        moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        sep_id = sep_id.rstrip(":")
        if what == "started":
            spans[sep_id] = (moment, None)
        elif sep_id in spans:
            spans[sep_id] = (spans[sep_id][0], moment)
    return spans


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_results(name: str, summary: dict[str, Any]) -> Path:
    """bench/results/<name>-<timestamp>.json; returns its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{_stamp()}.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return path


def keep_logs(logs: Path) -> None:
    """Copy the services' logs out of the temporary folder before it goes."""
    dest = RESULTS_DIR / f"logs-{_stamp()}"
    shutil.copytree(logs, dest, dirs_exist_ok=True)
    print(f"[bench] service logs kept in {dest.relative_to(ROOT)}", file=sys.stderr)


# -- other load on the machine (/proc) --

_HZ = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _HZ


def _our_cpu() -> float:
    """CPU seconds of this process and all its descendants, reaped ones included."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = sum(int(v) for v in fields[11:15]) / _HZ
    return sum(cpu for pid, cpu in used.items() if _descends(pid, parents))


def _descends(pid: int, parents: dict[int, int]) -> bool:
    me = os.getpid()
    while pid > 1:
        if pid == me:
            return True
        pid = parents.get(pid, 0)
    return False


def pool_processes(parent: int) -> dict[int, float]:
    """{pid: CPU seconds} of the live (not zombie) pool workers under `parent`."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            if "pool_worker" not in (entry / "cmdline").read_text():
                continue
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == parent:
            found[int(entry.name)] = sum(int(v) for v in fields[11:13]) / _HZ
    return found


class CpuMeter:
    """CPU used by processes that are not ours (other people's work), in cores."""

    def __init__(self) -> None:
        self.wall, self.busy, self.ours = time.monotonic(), _machine_busy(), _our_cpu()

    def foreign_cores(self) -> float:
        """Average cores used by others since this meter was created."""
        wall = time.monotonic() - self.wall
        foreign = (_machine_busy() - self.busy) - (_our_cpu() - self.ours)
        return round(max(0.0, foreign) / max(wall, 1e-3), 2)


def wait_quiet(max_wait: float, threshold: float = QUIET_CORES) -> float:
    """Wait (up to max_wait s) until others use < threshold cores; return the last
    reading. The bench can't stop other work; it can avoid timing during it."""
    deadline = time.monotonic() + max_wait
    while True:
        meter = CpuMeter()
        time.sleep(1.0)
        load = meter.foreign_cores()
        if load < threshold or time.monotonic() >= deadline:
            if load >= threshold:
                print(f"[bench] warning: others use {load:.2f} cores; timing anyway")
            return load


# -- the database and Redis --


def fresh_database(tmp: Path, db_name: str) -> tuple[str, bool]:
    """(DATABASE_URL, is_postgres): a new empty PostgreSQL DB, else SQLite in tmp."""
    try:
        return create_database(db_name), True
    except Exception as error:  # noqa: BLE001 - any failure means "no PostgreSQL"
        print(f"[bench] PostgreSQL unavailable ({error}); using SQLite")
        return f"sqlite:///{tmp / 'bench.sqlite3'}", False


def drop_database(db_name: str) -> None:
    """Remove a bench database (best effort)."""
    try:
        _drop_database(db_name)
    except Exception as error:  # noqa: BLE001 - cleanup must not hide the result
        print(f"[bench] could not drop database {db_name}: {error}")


# -- the product's processes --


class Product:
    """web (gunicorn), RQ workers, stemworker and cron on 127.0.0.1, for one run.

    Each bench subclasses it with its own database and Redis DB (`db_name`,
    `redis_url`), so two benches can run side by side.
    """

    db_name: str
    redis_url: str
    client_timeout = 120.0

    def __init__(self, tmp: Path, rq_workers: int = 1) -> None:
        self.tmp, self.rq_workers = tmp, rq_workers
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.shared = tmp / "shared"
        (self.shared / "tmp").mkdir(parents=True)  # FILE_UPLOAD_TEMP_DIR
        self.web_url = f"http://127.0.0.1:{free_port()}"
        self.sw_url = f"http://127.0.0.1:{free_port()}"
        self.services: list[Service] = []
        self.stemworker: Service | None = None
        self.stemworker_starts = 0
        self.env: dict[str, str] = {}
        self.token = ""
        self.postgres = False

    # -- set-up ----------------------------------------------------------------

    def prepare(self, need_postgres: bool = False) -> None:
        """Fresh database and Redis DB, the environment, migrations."""
        database_url, self.postgres = fresh_database(self.tmp, self.db_name)
        if need_postgres and not self.postgres:
            raise BenchError(f"this bench needs PostgreSQL ({PG_ADMIN_URL})")
        flush_redis(self.redis_url)
        self.env = self._env(database_url)
        self.manage("migrate", "--noinput")

    def add_token_user(self, email: str, credits: int) -> None:
        """A user with an API token (`self.token`) and `credits` credits."""
        self.token = self.manage("create_api_token", email).strip().splitlines()[-1]
        self.manage("grant_credits", email, str(credits))

    def _env(self, database_url: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SECRET_KEY=secrets.token_urlsafe(40),
            DJANGO_DEBUG="true",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=database_url,
            REDIS_URL=self.redis_url,
            SHARED_ROOT=str(self.shared),
            STEMWORKER_URL=self.sw_url,
            STEMWORKER_TOKEN=secrets.token_urlsafe(24),
            DEMUCS_MODELS=MODELS,
            DEMUCS_REPO="",
            MAX_CONCURRENT_JOBS="1",
            STEMWORKER_WARMUP="true",
            HF_HUB_OFFLINE="1",
            PYTHONUNBUFFERED="1",
            # The bench polls several jobs: no per-token API rate limits here.
            API_THROTTLE_DEFAULT="",
            API_THROTTLE_JOB_CREATE="",
        )
        return env

    def manage(self, *args: str) -> str:
        """Run a manage.py command in the bench environment; return its stdout."""
        return manage(self.env, *args)

    # -- processes ---------------------------------------------------------------

    def start_web(self, workers: int = 2, threads: int = 4) -> None:
        """Start gunicorn (gthread workers), as deployed."""
        port = self.web_url.rsplit(":", 1)[1]
        web = [
            PY, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "gthread", "--threads", str(threads),
        ]  # fmt: skip
        self.services.append(Service("web", web, self.env, self.logs / "web.log"))

    def start_django(self) -> None:
        """Start gunicorn and the RQ worker(s); wait until the API answers."""
        self.start_web()
        # As deployed (`manage.py rqworkers`), with the count this bench chose.
        argv = [PY, "manage.py", "rqworkers"]
        env = {**self.env, "RQ_WORKERS": str(self.rq_workers)}
        self.services.append(Service("worker", argv, env, self.logs / "worker.log"))
        self.wait_web()

    def wait_web(self, timeout: float = 60.0) -> None:
        """Return once ``GET /api/v1/me/`` answers 200; fail if a service died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for service in self.services:
                service.check_alive()
            try:
                if self.client().get("/api/v1/me/").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise BenchError(f"web did not answer in {timeout:.0f}s")

    def start_cron(self) -> None:
        """`manage.py rqcron config.cron`: the reaper and the purge, as deployed."""
        argv = [PY, "manage.py", "rqcron", "config.cron"]
        self.services.append(Service("cron", argv, self.env, self.logs / "cron.log"))

    def start_stemworker(
        self, repo: Path, slots: int, extra: Mapping[str, str] | None = None
    ) -> None:
        """(Re)start the stemworker on repo; return once every slot is warm."""
        self.stop_stemworker()
        self.stemworker_starts += 1
        port = self.sw_url.rsplit(":", 1)[1]
        env = {**self.env, "DEMUCS_REPO": str(repo), "MAX_CONCURRENT_JOBS": str(slots)}
        env.update(extra or {})
        argv = [
            PY, "-m", "uvicorn", "stemworker.main:app",
            "--host", "127.0.0.1", "--port", port,
        ]  # fmt: skip
        log = self.logs / f"stemworker-{self.stemworker_starts}.log"
        self.stemworker = Service("stemworker", argv, env, log)
        started = time.monotonic()
        self.wait_warm(self.stemworker, slots, self.sw_url)
        print(
            f"[bench] stemworker up: {slots} slot(s), {repo.name} models, warm after "
            f"{time.monotonic() - started:.1f}s"
        )
        # Fill Django's model cache (it asks the stemworker) outside any timing.
        self.client().get("/api/v1/models/").raise_for_status()

    def wait_warm(
        self, service: Service, slots: int, url: str, timeout: float = 300.0
    ) -> None:
        """/health answers at once; the pool workers warm up after it (log lines)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            service.check_alive()
            warm = _WARMUP_RE.findall(tail(service.log, 10**7))
            if "failed" in warm:
                raise BenchError(f"stemworker warm-up failed:\n{tail(service.log)}")
            if len(warm) >= slots and self._healthy(slots, url):
                time.sleep(1.0)  # let the workers settle into reading stdin
                return
            time.sleep(0.5)
        raise BenchError(f"stemworker not warm after {timeout:.0f}s")

    @staticmethod
    def _healthy(slots: int, url: str) -> bool:
        try:
            health = httpx.get(f"{url}/health", timeout=3).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(health.get("slots") == slots and health.get("busy") == 0)

    def stop_stemworker(self) -> None:
        """Stop the stemworker (its pool workers die with it)."""
        if self.stemworker is not None:
            self.stemworker.stop()
            self.stemworker = None

    def check_services(self) -> None:
        """Raise BenchError when any process of the product has exited."""
        for service in [*self.services, self.stemworker]:
            if service is not None:
                service.check_alive()

    def close(self) -> None:
        """Stop every process, empty the bench's Redis DB, drop its database."""
        self.stop_stemworker()
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        try:
            flush_redis(self.redis_url)
        except redis.RedisError as error:
            print(f"[bench] could not flush Redis: {error}")
        if self.postgres:
            drop_database(self.db_name)

    def client(self) -> httpx.Client:
        """An API client with the bench user's token."""
        return httpx.Client(
            base_url=self.web_url,
            headers={"Authorization": f"Token {self.token}"},
            timeout=httpx.Timeout(self.client_timeout, connect=5.0),
        )
