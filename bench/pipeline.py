"""End-to-end benchmark: one song through the whole product vs. the bare demucs CLI.

What is measured, and why
-------------------------
The product wraps ``python -m demucs``; its promise is that a job costs a user no
more than running the CLI themselves, and less for short songs, because the
stemworker keeps warm processes (torch imported, first inference done) while the
CLI pays start-up every time. This script checks that promise on this machine:

(a) **CLI**: ``python -m demucs --repo REPO -n htdemucs --mp3 -o OUT input.wav`` as a
    fresh subprocess, wall time (what a user would run).
(b) **product**: ``POST /api/v1/jobs/`` to the real web server (gunicorn), through
    the real Redis queue and RQ worker process to the real stemworker (uvicorn and
    its warm pool); wall time from just before the POST to the job's own
    ``finished_at`` (the same clock). The bench polls ``GET /api/v1/jobs/<id>/``
    once a second, as a patient script would: polling is not free on two cores,
    since every wake-up of another process stalls torch's threads.

Both use the same input file and model, run alternately (the order flips every
repetition) so drift hits both; while the CLI runs the product is idle. Cases:

``tiny``        tiny random-weight model, 60 s input: start-up dominates.
``full``        full-size HTDemucs architecture (random weights), 20 s input.
``concurrency`` four 20 s full-size jobs submitted in one request; time until all
                succeed with the stemworker at MAX_CONCURRENT_JOBS=1, then =2.

Each product sample is also split with the job's own timestamps and the
stemworker's log: upload+admit, queue wait, the separation in the stemworker, the
Django-side overhead around it (dispatch, polling, moving stems, peaks) and the
delay until the client saw it. Results go to ``bench/results/pipeline-<ts>.json``.
A MISS is a finding, not an error: the exit status is 0 unless something broke.

Everything runs in a temporary SHARED_ROOT, a fresh PostgreSQL database (SQLite
when PostgreSQL does not answer) and Redis DB 14, all removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from stemworker.devmodels import build_repo  # noqa: E402
from stemworker.testing import free_port  # noqa: E402
from tests.audio import write_song  # noqa: E402

PY = sys.executable
MODEL = "htdemucs"
MODELS = "htdemucs,htdemucs_ft,htdemucs_6s"
MODELS_CACHE = ROOT / "var" / "bench-models"
RESULTS_DIR = ROOT / "bench" / "results"
POLL_SECONDS = 1.0
REDIS_URL = "redis://127.0.0.1:6379/14"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "muxminus_bench"
EMAIL = "bench@example.com"
JOB_TIMEOUT = 1200.0
CONCURRENT_JOBS = 4
SPEEDUP_TARGET = 0.10  # two slots finish the batch at least 10% sooner
QUIET_CORES = 0.15  # other processes may use this much CPU while we time
_WARMUP_RE = re.compile(r"warm-up with \S+ (took|failed)")
_SEP_RE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ stemworker: "
    r"separation (\S+) (started|finished)",
    re.MULTILINE,
)


class BenchError(Exception):
    """Something broke: the bench could not measure what it should."""


@dataclass(frozen=True)
class PairCase:
    """CLI vs. product on one input: the ratio product/CLI must be <= target."""

    name: str
    size: str
    seconds: float
    target: float


PAIR_CASES = {
    "tiny": PairCase("tiny", "tiny", 60.0, 0.75),
    "full": PairCase("full", "full", 20.0, 0.90),
}
ALL_CASES = ("tiny", "full", "concurrency")


@dataclass
class JobSample:
    """One product job: total wall time plus where it went (seconds)."""

    total: float
    phases: dict[str, float | None] = field(default_factory=dict)


# -- small helpers --


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command in a bench environment; return its stdout."""
    done = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def median(values: Sequence[float]) -> float:
    """The median, rounded for printing and JSON."""
    return round(statistics.median(values), 2)


def tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, for error messages."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _iso(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def _diff(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else round(end - start, 2)


# -- other load on the machine --

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


# -- the product's processes --


class Service:
    """One long-running process in its own process group, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path):
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        """Raise BenchError (with its log) when the process has exited."""
        if self.proc.poll() is not None:
            raise BenchError(
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


def fresh_database(tmp: Path, db_name: str = PG_DB) -> tuple[str, bool]:
    """(DATABASE_URL, is_postgres): a new empty PostgreSQL DB, else SQLite in tmp."""
    try:
        import psycopg
        from psycopg import sql

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as db:
            name = sql.Identifier(db_name)
            db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            db.execute(sql.SQL("CREATE DATABASE {}").format(name))
    except Exception as error:  # noqa: BLE001 - any failure means "no PostgreSQL"
        print(f"[bench] PostgreSQL unavailable ({error}); using SQLite")
        return f"sqlite:///{tmp / 'bench.sqlite3'}", False
    return f"postgres://postgres@127.0.0.1:5432/{db_name}", True


def drop_database(db_name: str = PG_DB) -> None:
    """Remove the bench database (best effort)."""
    try:
        import psycopg
        from psycopg import sql

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as db:
            name = sql.Identifier(db_name)
            db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    except Exception as error:  # noqa: BLE001 - cleanup must not hide the result
        print(f"[bench] could not drop database {db_name}: {error}")


def flush_redis(url: str = REDIS_URL) -> None:
    """Empty the bench's Redis DB."""
    redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()


class Product:
    """web (gunicorn) + RQ worker + stemworker on 127.0.0.1, for one bench run."""

    # Each bench has its own database and Redis DB, so two can run side by side.
    db_name = PG_DB
    redis_url = REDIS_URL

    def __init__(self, tmp: Path, rq_workers: int) -> None:
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

    # -- lifecycle ---------------------------------------------------------------

    def setup(self, credits: int) -> None:
        """Fresh database and Redis DB, migrations, a user with token and credits."""
        database_url, self.postgres = fresh_database(self.tmp, self.db_name)
        flush_redis(self.redis_url)
        self.env = self._env(database_url)
        self.manage("migrate", "--noinput")
        self.token = self.manage("create_api_token", EMAIL).strip().splitlines()[-1]
        self.manage("grant_credits", EMAIL, str(credits))

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

    def start_django(self) -> None:
        """Start gunicorn and the RQ worker(s); wait until the API answers."""
        port = self.web_url.rsplit(":", 1)[1]
        web = [
            PY, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--worker-class", "gthread", "--threads", "4",
        ]  # fmt: skip
        self.services.append(Service("web", web, self.env, self.logs / "web.log"))
        # As deployed: one rqworker-pool; each RQ worker follows one separation.
        argv = [
            PY, "manage.py", "rqworker-pool", "stems", "default",
            "--num-workers", str(self.rq_workers),
        ]  # fmt: skip
        self.services.append(
            Service("worker", argv, self.env, self.logs / "worker.log")
        )
        self._wait_web()

    def _wait_web(self, timeout: float = 60.0) -> None:
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

    def start_stemworker(self, repo: Path, slots: int) -> None:
        """(Re)start the stemworker on repo; return once every slot is warm."""
        self.stop_stemworker()
        self.stemworker_starts += 1
        port = self.sw_url.rsplit(":", 1)[1]
        env = {**self.env, "DEMUCS_REPO": str(repo), "MAX_CONCURRENT_JOBS": str(slots)}
        argv = [
            PY, "-m", "uvicorn", "stemworker.main:app",
            "--host", "127.0.0.1", "--port", port,
        ]  # fmt: skip
        log = self.logs / f"stemworker-{self.stemworker_starts}.log"
        self.stemworker = Service("stemworker", argv, env, log)
        started = time.monotonic()
        self._wait_warm(self.stemworker, slots)
        print(
            f"[bench] stemworker up: {slots} slot(s), {repo.name} models, warm after "
            f"{time.monotonic() - started:.1f}s"
        )
        # Fill Django's model cache (it asks the stemworker) outside any timing.
        self.client().get("/api/v1/models/").raise_for_status()

    def _wait_warm(self, service: Service, slots: int, timeout: float = 300.0) -> None:
        """/health answers at once; the pool workers warm up after it (log lines)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            service.check_alive()
            warm = _WARMUP_RE.findall(tail(service.log, 10**7))
            if "failed" in warm:
                raise BenchError(f"stemworker warm-up failed:\n{tail(service.log)}")
            if len(warm) >= slots and self._healthy(slots):
                time.sleep(1.0)  # let the workers settle into reading stdin
                return
            time.sleep(0.5)
        raise BenchError(f"stemworker not warm after {timeout:.0f}s")

    def _healthy(self, slots: int) -> bool:
        try:
            health = httpx.get(f"{self.sw_url}/health", timeout=3).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(health.get("slots") == slots and health.get("busy") == 0)

    def stop_stemworker(self) -> None:
        """Stop the stemworker (its pool workers die with it)."""
        if self.stemworker is not None:
            self.stemworker.stop()
            self.stemworker = None

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

    # -- jobs ------------------------------------------------------------------------

    def client(self) -> httpx.Client:
        """An API client with the bench user's token."""
        return httpx.Client(
            base_url=self.web_url,
            headers={"Authorization": f"Token {self.token}"},
            timeout=httpx.Timeout(120.0, connect=5.0),
        )

    def run_jobs(self, wav: Path, count: int) -> list[JobSample]:
        """Submit `count` copies of wav in one POST; one sample per job."""
        with self.client() as client:
            wall0, t0 = time.time(), time.monotonic()
            ids = self._submit(client, wav, count)
            seen = self._wait_succeeded(client, ids, t0)
        separations = self._separation_seconds()
        samples = []
        for job_id in ids:
            job, elapsed = seen[job_id]
            phases = _phases(job, wall0, elapsed, separations.get(job_id))
            finished = _iso(job.get("finished_at"))
            total = elapsed if finished is None else finished - wall0
            samples.append(JobSample(total=round(total, 2), phases=phases))
        return samples

    def _submit(self, client: httpx.Client, wav: Path, count: int) -> list[str]:
        data = wav.read_bytes()
        files = [("file", (f"song-{i}.wav", data, "audio/wav")) for i in range(count)]
        form = {"model": MODEL, "output_format": "mp3"}
        response = client.post("/api/v1/jobs/", data=form, files=files)
        if response.status_code != 201:
            raise BenchError(
                f"POST /api/v1/jobs/: {response.status_code} {response.text}"
            )
        return [job["id"] for job in response.json()]

    def _wait_succeeded(
        self, client: httpx.Client, ids: list[str], t0: float
    ) -> dict[str, tuple[dict[str, Any], float]]:
        """Poll every job until it succeeded: {id: (job json, seconds since t0)}."""
        seen: dict[str, tuple[dict[str, Any], float]] = {}
        while len(seen) < len(ids):
            if time.monotonic() - t0 > JOB_TIMEOUT:
                raise BenchError(f"jobs not done after {JOB_TIMEOUT:.0f}s")
            time.sleep(POLL_SECONDS)
            for job_id in ids:
                if job_id not in seen:
                    self._poll_one(client, job_id, t0, seen)
        return seen

    def _poll_one(
        self,
        client: httpx.Client,
        job_id: str,
        t0: float,
        seen: dict[str, tuple[dict[str, Any], float]],
    ) -> None:
        response = client.get(f"/api/v1/jobs/{job_id}/")
        now = time.monotonic() - t0
        response.raise_for_status()
        job = response.json()
        if job["status"] == "succeeded":
            seen[job_id] = (job, now)
        elif job["status"] in ("failed", "cancelled"):
            raise BenchError(f"job {job_id} {job['status']}: {job.get('error')}")

    def _separation_seconds(self) -> dict[str, float]:
        """Per separation id, started -> finished as the stemworker logged it."""
        if self.stemworker is None:
            return {}
        starts: dict[str, datetime] = {}
        spans: dict[str, float] = {}
        for stamp, sep_id, what in _SEP_RE.findall(tail(self.stemworker.log, 10**8)):
            moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")
            sep_id = sep_id.rstrip(":")
            if what == "started":
                starts[sep_id] = moment
            elif sep_id in starts:
                spans[sep_id] = (moment - starts[sep_id]).total_seconds()
        return spans


def _phases(
    job: dict[str, Any], wall0: float, elapsed: float, separation: float | None
) -> dict[str, float | None]:
    """Split one job's wall time with its own timestamps (same clock as ours).

    upload_admit: POST until the Job row exists (upload, probe, admission);
    queued: until the RQ worker started it; running: until it was marked
    succeeded, of which `separation` ran in the stemworker and
    `around_separation` is dispatch, polling, moving stems and peaks;
    seen_after: until our poll saw it.
    """
    created, started = _iso(job.get("created_at")), _iso(job.get("started_at"))
    finished = _iso(job.get("finished_at"))
    running = _diff(finished, started)
    sep = None if separation is None else round(separation, 2)
    return {
        "upload_admit": _diff(created, wall0),
        "queued": _diff(started, created),
        "running": running,
        "separation": sep,
        "around_separation": _diff(running, sep),
        "seen_after": _diff(wall0 + elapsed, finished),
    }


# -- the bare CLI --


def run_cli(repo: Path, wav: Path, scratch: Path) -> float:
    """Wall time of ``python -m demucs`` as a fresh process; checks its stems."""
    out = scratch / f"cli-{uuid.uuid4().hex[:8]}"
    argv = [PY, "-m", "demucs", "--repo", str(repo), "-n", MODEL, "--mp3"]
    argv += ["-o", str(out), str(wav)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    stems = list(out.glob(f"{MODEL}/*/*.mp3"))
    shutil.rmtree(out, ignore_errors=True)
    if done.returncode != 0 or len(stems) != 4:
        raise BenchError(
            f"demucs CLI: exit {done.returncode}, {len(stems)} stems:\n"
            f"{done.stderr[-3000:]}"
        )
    return round(elapsed, 2)


# -- cases --


def input_wav(tmp: Path, seconds: float) -> Path:
    """The synthetic song both sides separate (44.1 kHz stereo wav)."""
    path = tmp / f"input-{seconds:g}s.wav"
    if not path.exists():
        write_song(path, seconds)
    return path


def median_phases(samples: Sequence[JobSample]) -> dict[str, float | None]:
    """Median of each phase over the samples that have it."""
    keys = dict.fromkeys(k for s in samples for k in s.phases)
    out: dict[str, float | None] = {}
    for key in keys:
        values = [s.phases[key] for s in samples if s.phases.get(key) is not None]
        out[key] = median(values) if values else None  # type: ignore[arg-type]
    return out


def _timed(action: Any, max_wait: float) -> tuple[Any, float]:
    """Run action() once the machine is quiet; (its result, others' load in cores)."""
    wait_quiet(max_wait)
    meter = CpuMeter()
    result = action()
    return result, meter.foreign_cores()


def run_pair_case(
    product: Product, case: PairCase, reps: int, tmp: Path, max_wait: float
) -> dict[str, Any]:
    """CLI and product alternately, `reps` times each, on the same input."""
    repo = build_repo(MODELS_CACHE / case.size, size=case.size)
    wav = input_wav(tmp, case.seconds)
    product.start_stemworker(repo, slots=1)
    cli: list[float] = []
    jobs: list[JobSample] = []
    load: dict[str, list[float]] = {"cli": [], "product": []}
    actions = {
        "cli": lambda: run_cli(repo, wav, tmp),
        "product": lambda: product.run_jobs(wav, 1)[0],
    }
    for rep in range(reps):
        order = ("cli", "product") if rep % 2 == 0 else ("product", "cli")
        for side in order:
            result, others = _timed(actions[side], max_wait)
            load[side].append(others)
            if side == "cli":
                cli.append(result)
            else:
                jobs.append(result)
            last = cli[-1] if side == "cli" else jobs[-1].total
            print(
                f"[bench] {case.name} rep {rep + 1}/{reps}: {side} {last:.2f}s"
                f" (others used {others:.2f} cores)"
            )
    product.stop_stemworker()
    totals = [j.total for j in jobs]
    ratio = round(median(totals) / median(cli), 3)
    return {
        "input_seconds": case.seconds,
        "model_size": case.size,
        "cli": {"median": median(cli), "samples": cli, "others_cores": load["cli"]},
        "product": {
            "median": median(totals),
            "samples": totals,
            "others_cores": load["product"],
            "phases": [j.phases for j in jobs],
            "median_phases": median_phases(jobs),
        },
        "ratio": ratio,
        "target": case.target,
        "pass": ratio <= case.target,
    }


def _batches(
    product: Product, wav: Path, slots: int, reps: int, max_wait: float
) -> dict[str, Any]:
    """`reps` batches of CONCURRENT_JOBS jobs on an already started stemworker."""
    batches: list[float] = []
    loads: list[float] = []
    per_job: list[list[JobSample]] = []
    for rep in range(reps):
        samples, others = _timed(
            lambda: product.run_jobs(wav, CONCURRENT_JOBS), max_wait
        )
        batches.append(max(s.total for s in samples))
        loads.append(others)
        per_job.append(samples)
        print(
            f"[bench] concurrency slots={slots} rep {rep + 1}/{reps}: all "
            f"{CONCURRENT_JOBS} done in {batches[-1]:.2f}s (others used {others:.2f}"
            " cores)"
        )
    return {
        "median": median(batches),
        "samples": batches,
        "others_cores": loads,
        "jobs": [[asdict(s) for s in batch] for batch in per_job],
    }


def run_concurrency_case(
    product: Product, reps: int, tmp: Path, max_wait: float
) -> dict[str, Any]:
    """Four full-size 20 s jobs at once, with 1 then 2 stemworker slots."""
    repo = build_repo(MODELS_CACHE / "full", size="full")
    wav = input_wav(tmp, 20.0)
    by_slots: dict[str, Any] = {}
    for slots in (1, 2):
        product.start_stemworker(repo, slots=slots)
        by_slots[str(slots)] = _batches(product, wav, slots, reps, max_wait)
    product.stop_stemworker()
    one, two = by_slots["1"]["median"], by_slots["2"]["median"]
    sooner = round((one - two) / one, 3)
    return {
        "jobs": CONCURRENT_JOBS,
        "input_seconds": 20.0,
        "rq_workers": product.rq_workers,
        "slots": by_slots,
        "speedup": round(one / two, 3),
        "sooner_fraction": sooner,
        "target_sooner_fraction": SPEEDUP_TARGET,
        "pass": sooner >= SPEEDUP_TARGET,
    }


# -- reporting --


def _samples(values: Sequence[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def print_pair(name: str, result: dict[str, Any]) -> None:
    """Table for one CLI-vs-product case."""
    verdict = "PASS" if result["pass"] else "MISS"
    label = f"{name} ({result['input_seconds']:g} s, {result['model_size']} model)"
    print(f"\n{label}")
    print(f"  {'':8} {'median s':>9}   samples s")
    for side in ("cli", "product"):
        row = result[side]
        label = "CLI" if side == "cli" else side
        print(
            f"  {label:8} {row['median']:>9.2f}   {_samples(row['samples'])}"
            f"   (others' CPU, cores: {_samples(row['others_cores'])})"
        )
    print(
        f"  ratio product/CLI {result['ratio']:.3f}  target <= {result['target']:.2f}"
        f"  {verdict}"
    )
    phases = result["product"]["median_phases"]
    parts = ", ".join(f"{k} {v:.2f}" for k, v in phases.items() if v is not None)
    print(f"  product median phases (s): {parts}")


def print_concurrency(result: dict[str, Any]) -> None:
    """Table for the concurrency case."""
    verdict = "PASS" if result["pass"] else "MISS"
    print(
        f"\nconcurrency ({result['jobs']} x {result['input_seconds']:g} s, full model,"
        f" {result['rq_workers']} RQ worker(s))"
    )
    print(f"  {'slots':8} {'median s':>9}   samples s (submit -> all succeeded)")
    for slots, row in result["slots"].items():
        print(
            f"  {slots:8} {row['median']:>9.2f}   {_samples(row['samples'])}"
            f"   (others' CPU, cores: {_samples(row['others_cores'])})"
        )
    print(
        f"  speed-up {result['speedup']:.3f}x, {result['sooner_fraction'] * 100:.1f}%"
        f" sooner  target >= {SPEEDUP_TARGET * 100:.0f}% sooner  {verdict}"
    )


def write_json(summary: dict[str, Any]) -> Path:
    """bench/results/pipeline-<timestamp>.json."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"pipeline-{stamp}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path


# -- main --


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per side")
    parser.add_argument(
        "--cases",
        default=",".join(ALL_CASES),
        help="comma list of tiny,full,concurrency",
    )
    parser.add_argument("--quick", action="store_true", help="1 rep, tiny only")
    parser.add_argument(
        "--rq-workers",
        type=int,
        default=3,
        help="RQ worker processes (default 3: the most slots used here, plus one)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=30.0,
        help="seconds to wait for other CPU load to stop before each sample",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.cases = 1, "tiny"
    args.case_list = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.case_list) - set(ALL_CASES)
    if unknown or not args.case_list or args.reps < 1 or args.rq_workers < 1:
        parser.error(f"bad --cases/--reps/--rq-workers ({', '.join(unknown)})")
    return args


def credits_needed(cases: Sequence[str], reps: int) -> int:
    """Credits the run spends, with a margin."""
    jobs = sum(reps for c in cases if c in PAIR_CASES)
    if "concurrency" in cases:
        jobs += 2 * reps * CONCURRENT_JOBS
    return jobs + 5


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so the same cleanup runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def keep_logs(logs: Path) -> None:
    """Copy the services' logs out of the temporary folder before it goes."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = RESULTS_DIR / f"logs-{stamp}"
    shutil.copytree(logs, dest, dirs_exist_ok=True)
    print(f"[bench] service logs kept in {dest.relative_to(ROOT)}", file=sys.stderr)


def run_cases(product: Product, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Set the product up and run each chosen case; {case: result}."""
    product.setup(credits_needed(args.case_list, args.reps))
    product.start_django()
    results: dict[str, Any] = {}
    for name in args.case_list:
        if name in PAIR_CASES:
            case = PAIR_CASES[name]
            results[name] = run_pair_case(product, case, args.reps, tmp, args.max_wait)
        else:
            results[name] = run_concurrency_case(product, args.reps, tmp, args.max_wait)
    return results


def run(args: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    """Start the product, run the chosen cases, return the summary."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="muxbench-")))
    product = Product(tmp, args.rq_workers)
    stack.callback(product.close)
    try:
        results = run_cases(product, args, tmp)
    except BaseException:
        keep_logs(product.logs)
        raise
    return {
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "options": {
            "reps": args.reps,
            "cases": args.case_list,
            "quick": args.quick,
            "rq_workers": args.rq_workers,
        },
        "database": "postgresql" if product.postgres else "sqlite",
        "poll_seconds": POLL_SECONDS,
        "cases": results,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; 0 when it measured (PASS or MISS), 1 on errors, 130 on Ctrl-C."""
    args = parse_args(argv)
    try:
        with sigterm_as_interrupt(), ExitStack() as stack:
            summary = run(args, stack)
    except KeyboardInterrupt:
        print("\n[bench] interrupted; everything stopped and cleaned up")
        return 130
    except (BenchError, httpx.HTTPError, redis.RedisError, OSError) as error:
        print(f"\n[bench] ERROR: {error}", file=sys.stderr)
        return 1
    for name, result in summary["cases"].items():
        if name == "concurrency":
            print_concurrency(result)
        else:
            print_pair(name, result)
    print(f"\n[bench] results: {write_json(summary).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
