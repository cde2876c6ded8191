"""Load benchmark: many API users, each uploading a batch of small songs at once.

What is checked, and why
------------------------
The product promises each person at most MAX_ACTIVE_JOBS_PER_USER (5) jobs in
progress, the machine at most MAX_CONCURRENT_JOBS demucs separations at once,
fair turns between people, and a credit ledger that always balances. This script
starts the whole product as deployed (gunicorn, ``manage.py rqworkers``, ``rqcron``,
the stemworker with its warm pool on the tiny random models) on a fresh
database, Redis DB 11 and a temporary SHARED_ROOT, makes ``--users`` verified
accounts with exactly ``--uploads`` credits and an API token each, and lets one
thread per person (one keep-alive httpx connection each) do what an eager
script does:

* ``POST /api/v1/jobs/`` one file at a time (a generated ``--seconds-of-audio``
  stereo wav, an ``Idempotency-Key`` each), the next one as soon as the last
  was admitted; a 429 waits its ``Retry-After`` (capped at ``--retry-cap`` s)
  and sends the same request again;
* polls ``GET /api/v1/jobs/<id>/`` of each of its jobs every ``--poll`` s until
  it ends, and downloads each succeeded job's zip once;
* deletes its jobs only at the very end, after the ledger check.

Meanwhile samplers record: active (queued + running) jobs per person from the
database every 0.5 s; the stemworker's busy slots (``GET /health``) and its live
pool processes (those using CPU counted apart) every 0.2 s. Afterwards the
job timestamps give the exact per-person overlap of [created, finished], and
the stemworker's own log (``separation <id> started/finished``, one line each)
the exact overlap of separations.

Requirements (PASS/FAIL; exit status 1 on any FAIL): no 5xx and no transport
error; every job ends and succeeds; never more than 5 active jobs per person;
never more than MAX_CONCURRENT_JOBS separations at once; every zip downloaded;
``ledger_mismatches()`` empty and each balance == starting credits - succeeded
jobs. Figures: wall time, throughput, HTTP status counts, 429s, queue wait,
turnaround, and fairness (each person's first POST to their first separation).
JSON goes to ``bench/results/load-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    MODEL,
    MODELS_CACHE,
    PY,
    BenchError,
    Product,
    Service,
    iso,
    keep_logs,
    pool_processes,
    separations_from_log,
    sigterm_as_interrupt,
    tail,
    write_results,
)
from devtools.audio import write_song  # noqa: E402
from devtools.model_repo import build_repo  # noqa: E402
from devtools.processes import database_url  # noqa: E402
from devtools.s3_server import KEY_ID as S3_KEY_ID  # noqa: E402
from devtools.s3_server import REGION as S3_REGION  # noqa: E402
from devtools.s3_server import SECRET as S3_SECRET  # noqa: E402
from devtools.s3_server import S3Server, s3_server_running  # noqa: E402
from devtools.stemworker_process import free_port  # noqa: E402

PG_DB = "muxminus_load"
REDIS_URL = "redis://127.0.0.1:6379/11"
MAX_ACTIVE = 5  # MAX_ACTIVE_JOBS_PER_USER, as deployed
ENDED = ("succeeded", "failed", "cancelled")
JOB_DEADLINE = 3600.0  # a run longer than this is stuck, not slow
LOG_RACE = 0.05  # s: the stemworker logs "finished" just after freeing the slot

MAKE_USERS = """
import json
from accounts.services import api_token_create, user_create_verified
from billing.services import account_for_user, credits_adjust
users = []
for i in range({count}):
    user = user_create_verified(email=f"load-{{i:03d}}@example.com")
    user.set_password("load-bench-password")
    user.save(update_fields=["password"])
    balance = account_for_user(user).balance
    if balance != {credits}:
        credits_adjust(user=user, delta={credits} - balance, note="load bench")
    _, secret = api_token_create(user=user, name="load bench")
    users.append({{"email": user.email, "token": secret,
                   "credits": account_for_user(user).balance}})
print("USERS=" + json.dumps(users))
"""

LEDGER = """
import json
from billing.models import CreditAccount
from billing.services import ledger_mismatches
from jobs.models import Job
mismatches = [(str(a.user), a.balance, total) for a, total in ledger_mismatches()]
balances = {a.user.email: a.balance
            for a in CreditAccount.objects.select_related("user")}
succeeded = {}
for job in Job.objects.filter(status="succeeded").select_related("user"):
    succeeded[job.user.email] = succeeded.get(job.user.email, 0) + 1
statuses, hosts = {}, {}
for job in Job.objects.all():
    statuses[job.status] = statuses.get(job.status, 0) + 1
    hosts[job.host or "?"] = hosts.get(job.host or "?", 0) + 1
print("LEDGER=" + json.dumps({"mismatches": mismatches, "balances": balances,
                              "succeeded": succeeded, "statuses": statuses,
                              "hosts": hosts}))
"""


# -- the product --------------------------------------------------------------


@dataclass(frozen=True)
class SeparationHost:
    name: str
    url: str
    stemworker: Service
    workers: Service


class LoadProduct(Product):
    """The harness's product on this bench's database and Redis DB."""

    db_name = PG_DB
    redis_url = REDIS_URL

    def __init__(
        self,
        tmp: Path,
        rq_workers: int,
        slots: int,
        threads: int = 0,
        s3: S3Server | None = None,
    ) -> None:
        super().__init__(tmp, rq_workers)
        self.slots, self.threads, self.s3 = slots, threads, s3
        self.users: list[dict[str, Any]] = []
        self.hosts: list[SeparationHost] = []

    def setup_users(self, count: int, credits: int) -> None:
        """Fresh database and Redis DB, migrations, `count` funded users."""
        self.prepare(need_postgres=True)
        # DEBUG is off, as deployed: pages need the collected static manifest.
        self.manage("collectstatic", "--noinput")
        out = self.manage(
            "shell", "-c", MAKE_USERS.format(count=count, credits=credits)
        )
        self.users = json.loads(out.rsplit("USERS=", 1)[1])
        self.token = self.users[0]["token"]  # for the start-up checks

    def _env(self, database_url: str) -> dict[str, str]:
        env = super()._env(database_url)
        env.update(
            DJANGO_DEBUG="false",
            DJANGO_SECURE_SSL_REDIRECT="false",
            STATIC_ROOT=str(self.tmp / "static"),
            MAX_CONCURRENT_JOBS=str(self.slots),
            MAX_ACTIVE_JOBS_PER_USER=str(MAX_ACTIVE),
            # Production's rate limits: a load test should meet them.
            API_THROTTLE_DEFAULT="600/minute",
            API_THROTTLE_JOB_CREATE="30/minute",
        )
        if self.threads:
            env["STEMWORKER_TORCH_THREADS"] = str(self.threads)
        if self.s3 is not None:
            env.update(
                STORAGE_BACKEND="s3",
                AWS_STORAGE_BUCKET_NAME=self.s3.bucket_create(),
                AWS_S3_ENDPOINT_URL=self.s3.endpoint_url,
                AWS_S3_REGION_NAME=S3_REGION,
                AWS_ACCESS_KEY_ID=S3_KEY_ID,
                AWS_SECRET_ACCESS_KEY=S3_SECRET,
                HOST_BEAT_SECONDS="2",
            )
        return env

    def host_add(self, repo: Path) -> None:
        """One separation host: a stemworker of `slots` slots and `manage.py
        rqworkers` on a scratch folder of its own, sharing nothing with the
        centre (web, cron) but PostgreSQL, Redis and the bucket."""
        index = len(self.hosts) + 1
        name, scratch = f"host-{index}", self.tmp / f"host-{index}"
        (scratch / "tmp").mkdir(parents=True)
        url = f"http://127.0.0.1:{free_port()}"
        env = {
            **self.env,
            "SHARED_ROOT": str(scratch),
            "STEMWORKER_URL": url,
            "MUXMINUS_HOST": name,
            "DEMUCS_REPO": str(repo),
            "MAX_CONCURRENT_JOBS": str(self.slots),
        }
        argv = [
            PY, "-m", "uvicorn", "stemworker.main:app",
            "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1],
        ]  # fmt: skip
        stemworker = Service(
            f"{name} stemworker", argv, env, self.logs / f"{name}-stemworker.log"
        )
        self.wait_warm(stemworker, self.slots, url)
        workers = Service(
            f"{name} workers",
            [PY, "manage.py", "rqworkers"],
            {**env, "RQ_WORKERS": str(self.rq_workers)},
            self.logs / f"{name}-workers.log",
        )
        self.hosts.append(SeparationHost(name, url, stemworker, workers))
        print(f"[load] {name} up: {self.slots} slot(s), scratch {scratch.name}/")

    def wait_hosts_offer_models(self, timeout: float = 60.0) -> None:
        """Once every host has beaten, the centre's catalog lists their models."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_services()
            with self.client() as client:
                models = client.get("/api/v1/models/")
            if models.status_code == 200 and models.json():
                return
            time.sleep(0.5)
        raise BenchError(f"no host offered models within {timeout:.0f}s")

    def stemworkers(self) -> list[tuple[str, Service]]:
        """(url, service) of every stemworker: the machine's own, or the hosts'."""
        if self.hosts:
            return [(host.url, host.stemworker) for host in self.hosts]
        assert self.stemworker is not None  # noqa: S101 - started before the run
        return [(self.sw_url, self.stemworker)]

    def total_slots(self) -> int:
        return self.slots * max(len(self.hosts), 1)

    def check_services(self) -> None:
        super().check_services()
        for host in self.hosts:
            host.stemworker.check_alive()
            host.workers.check_alive()

    def close(self) -> None:
        for host in self.hosts:
            host.workers.stop()
            host.stemworker.stop()
        self.hosts.clear()
        super().close()

    def ledger(self) -> dict[str, Any]:
        """Ledger mismatches, balances and succeeded jobs per email, job statuses."""
        out = self.manage("shell", "-c", LEDGER)
        result: dict[str, Any] = json.loads(out.rsplit("LEDGER=", 1)[1])
        return result


# -- samplers -----------------------------------------------------------------


class Sampler(threading.Thread, ABC):
    """Calls `sample()` every `interval` s until stopped; keeps the maxima."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stopping = threading.Event()
        self.samples = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.sample()
                self.samples += 1
            except Exception as error:  # noqa: BLE001 - record, keep sampling
                if len(self.errors) < 5:
                    self.errors.append(repr(error))
            self.stopping.wait(self.interval)

    @abstractmethod
    def sample(self) -> None:
        """Take one sample; an exception is recorded and sampling goes on."""

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class DatabaseSampler(Sampler):
    """Active (queued + running) jobs per user, and running jobs, from PostgreSQL."""

    QUERY = (
        "SELECT user_id, count(*), count(*) FILTER (WHERE status = 'running') "
        "FROM jobs_job WHERE status IN ('queued', 'running') GROUP BY user_id"
    )

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(interval)
        self.max_active_per_user = 0
        self.max_running = 0
        self.max_active_total = 0
        self._db: Any = None

    def sample(self) -> None:
        import psycopg

        if self._db is None:
            url = database_url(PG_DB)
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=3)
        rows = self._db.execute(self.QUERY).fetchall()
        self.max_active_per_user = max(
            [self.max_active_per_user, *(r[1] for r in rows)]
        )
        self.max_running = max(self.max_running, sum(r[2] for r in rows))
        self.max_active_total = max(self.max_active_total, sum(r[1] for r in rows))

    def stop(self) -> None:
        super().stop()
        if self._db is not None:
            self._db.close()


class StemworkerSampler(Sampler):
    """Busy slots (GET /health) and live / CPU-using pool processes, summed
    over every stemworker (one per separation host)."""

    BUSY_CPU = 0.25  # share of one core over the interval that counts as working

    def __init__(
        self, stemworkers: Sequence[tuple[str, int]], interval: float = 0.2
    ) -> None:
        super().__init__(interval)
        self.stemworkers = stemworkers  # (url, pid)
        self.client = httpx.Client(timeout=5.0)
        self.max_busy = 0
        self.max_processes = 0
        self.max_working = 0
        self.busy_histogram: Counter[int] = Counter()
        # (wall-clock time, busy slots): matched with the jobs' queued spans.
        self.timeline: list[tuple[float, int]] = []
        self._last: dict[int, float] = {}
        self._last_at = time.monotonic()

    def sample(self) -> None:
        busy = sum(
            int(self.client.get(f"{url}/health").json()["busy"])
            for url, _ in self.stemworkers
        )
        self.timeline.append((time.time(), busy))
        self.max_busy = max(self.max_busy, busy)
        self.busy_histogram[busy] += 1
        now, procs = time.monotonic(), {}
        for _, pid in self.stemworkers:
            procs.update(pool_processes(pid))
        self.max_processes = max(self.max_processes, len(procs))
        span = max(now - self._last_at, 1e-3)
        working = sum(
            1
            for pid, cpu in procs.items()
            if pid in self._last and (cpu - self._last[pid]) / span >= self.BUSY_CPU
        )
        self.max_working = max(self.max_working, working)
        self._last, self._last_at = procs, now

    def stop(self) -> None:
        super().stop()
        self.client.close()


# -- simulated users ----------------------------------------------------------


@dataclass
class JobRecord:
    """One upload, as its user saw it."""

    user: int
    key: str
    posted_at: float  # wall clock, just before the POST that admitted it
    admitted_at: float = 0.0
    id: str = ""
    final: dict[str, Any] = field(default_factory=dict)
    seen_end_at: float = 0.0
    zip_bytes: int = 0


@dataclass
class Totals:
    """Counters every user thread adds to (under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[str] = field(default_factory=Counter)
    codes_429: Counter[str] = field(default_factory=Counter)
    retry_after: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)
    jobs: list[JobRecord] = field(default_factory=list)
    first_post: dict[int, float] = field(default_factory=dict)

    def error(self, message: str) -> None:
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(message)


class User(threading.Thread):
    """One person's script: upload every file, poll, download each zip once."""

    def __init__(
        self, index: int, base: str, token: str, song: bytes, opts: argparse.Namespace
    ) -> None:
        super().__init__(name=f"user-{index}", daemon=True)
        self.index, self.song, self.opts, self.totals = index, song, opts, opts.totals
        self.client = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Token {token}"},
            timeout=httpx.Timeout(120.0, connect=10.0),
        )
        self.pending = [uuid.uuid4().hex for _ in range(opts.uploads)]
        self.active: dict[str, tuple[JobRecord, float]] = {}  # id -> (rec, next poll)
        self.next_post = 0.0
        self.max_active_seen = 0

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """Send one request; count its status; None on a transport error.

        A connection reset on a reused keep-alive connection (gunicorn closes
        idle ones after 2 s, the poll interval) is retried at once for GET and
        DELETE, and by the caller for POST (same Idempotency-Key), as browsers
        do; those are counted apart. Any other transport error is a failure.
        """
        for attempt in (1, 2):
            try:
                response = self.send(method, url, **kwargs)
                break
            except httpx.HTTPError as error:
                reset = isinstance(error, (httpx.ReadError, httpx.RemoteProtocolError))
                retry = reset and (attempt == 1 or method == "POST")
                with self.totals.lock:
                    self.totals.statuses[
                        "reset, retried" if retry else "transport error"
                    ] += 1
                    if retry and len(self.totals.resets) < 20:
                        self.totals.resets.append(f"{method} {url}: {error!r}")
                if not retry:
                    self.totals.error(f"user {self.index} {method} {url}: {error!r}")
                if not retry or method == "POST":
                    return None
        with self.totals.lock:
            self.totals.statuses[str(response.status_code)] += 1
        if response.status_code >= 500:
            self.totals.error(
                f"user {self.index} {method} {url}: {response.status_code} "
                f"{response.text[:300]}"
            )
        return response

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)

    def run(self) -> None:
        try:
            self.opts.start.wait()
            deadline = time.monotonic() + JOB_DEADLINE
            while (self.pending or self.active) and time.monotonic() < deadline:
                if self.pending and time.monotonic() >= self.next_post:
                    self.post()
                    continue
                self.poll_due()
                time.sleep(self.pause())
            if self.pending or self.active:
                self.totals.error(f"user {self.index}: jobs not done in time")
        except Exception as error:  # noqa: BLE001 - a user thread must report, not die
            self.totals.error(f"user {self.index}: {error!r}")

    def pause(self) -> float:
        """Sleep until the next POST or poll is due (at least 50 ms)."""
        due = [when for _, when in self.active.values()]
        if self.pending:
            due.append(self.next_post)
        return min(max(min(due, default=0.5) - time.monotonic(), 0.05), 1.0)

    def post(self) -> None:
        key = self.pending[0]
        record = JobRecord(self.index, key, posted_at=time.time())
        with self.totals.lock:
            self.totals.first_post.setdefault(self.index, record.posted_at)
        files = [("file", (f"user{self.index}-{key[:6]}.wav", self.song, "audio/wav"))]
        form = {"model": MODEL, "output_format": "mp3"}
        response = self.request(
            "POST", "/api/v1/jobs/", data=form, files=files,
            headers={"Idempotency-Key": key},
        )  # fmt: skip
        if response is None:
            self.next_post = time.monotonic() + 1.0  # retry with the same key
            return
        if response.status_code == 201:
            self.admitted(record, response.json()[0])
        elif response.status_code == 429:
            self.backoff(response)
        else:
            self.totals.error(
                f"user {self.index} POST: {response.status_code} {response.text[:300]}"
            )
            self.pending.pop(0)  # give that file up; the run FAILs

    def admitted(self, record: JobRecord, job: dict[str, Any]) -> None:
        record.admitted_at, record.id = time.time(), job["id"]
        self.pending.pop(0)
        self.active[record.id] = (record, time.monotonic() + self.opts.poll)
        self.max_active_seen = max(self.max_active_seen, len(self.active))
        with self.totals.lock:
            self.totals.jobs.append(record)

    def backoff(self, response: httpx.Response) -> None:
        try:
            code = response.json().get("code", "?")
        except ValueError:
            code = "?"
        try:
            wait = float(response.headers.get("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        with self.totals.lock:
            self.totals.codes_429[code] += 1
            self.totals.retry_after.setdefault(code, []).append(wait)
        cap = self.opts.retry_cap if code == "too_many_active_jobs" else 60.0
        self.next_post = time.monotonic() + min(max(wait, 0.2), cap)

    def poll_due(self) -> None:
        now = time.monotonic()
        for job_id, (record, when) in list(self.active.items()):
            if when > now:
                continue
            response = self.request("GET", f"/api/v1/jobs/{job_id}/")
            job = response.json() if response and response.status_code == 200 else {}
            if job.get("status") in ENDED:
                record.final, record.seen_end_at = job, time.time()
                del self.active[job_id]
                if job["status"] == "succeeded":
                    self.download(record)
            else:
                self.active[job_id] = (record, now + self.opts.poll)

    def download(self, record: JobRecord) -> None:
        # On s3 a redirect to the bucket (httpx drops the token on the way).
        url = f"/api/v1/jobs/{record.id}/download/"
        response = self.request("GET", url, follow_redirects=True)
        if response is not None and response.status_code == 200:
            if response.content[:2] == b"PK":
                record.zip_bytes = len(response.content)
            else:
                self.totals.error(f"job {record.id}: the download is not a zip")

    def delete_all(self) -> None:
        """The end of the run: delete every job this user created."""
        for record in [r for r in self.totals.jobs if r.user == self.index]:
            self.request("DELETE", f"/api/v1/jobs/{record.id}/")


# -- figures ------------------------------------------------------------------


class SiteUser(User):
    """One person in a browser: signed in with a password on allauth's form,
    posting as the dashboard's script does (session cookie and CSRF token to
    POST /api/v1/jobs/), polling and downloading with the same session.

    The product's cookies are Secure (production is https); over the bench's
    plain http the client keeps and sends them itself, as the browser would
    over https.
    """

    def __init__(
        self, index: int, base: str, email: str, song: bytes, opts: argparse.Namespace
    ) -> None:
        super().__init__(index, base, "", song, opts)
        self.client.headers.pop("Authorization")
        self.email = email
        self.jar: dict[str, str] = {}

    def run(self) -> None:
        try:
            self.sign_in()
        except Exception as error:  # noqa: BLE001 - a user thread must report, not die
            self.totals.error(f"site user {self.index} could not sign in: {error!r}")
        super().run()

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            self.jar[name.strip()] = rest.split(";", 1)[0]
        cookies = "; ".join(f"{name}={value}" for name, value in self.jar.items())
        self.client.headers["Cookie"] = cookies
        if "csrftoken" in self.jar:
            self.client.headers["X-CSRFToken"] = self.jar["csrftoken"]
        return response

    def sign_in(self) -> None:
        page = self.send("GET", "/accounts/login/")
        if "csrftoken" not in self.jar:
            raise RuntimeError(f"no CSRF cookie: {page.status_code} {page.headers}")
        response = self.send(
            "POST",
            "/accounts/login/",
            data={
                "login": self.email,
                "password": "load-bench-password",
                "csrfmiddlewaretoken": self.jar.get("csrftoken", ""),
            },
        )
        if "sessionid" not in self.jar:
            raise RuntimeError(f"no session: {response.status_code} {response.text}")


def pcts(values: Sequence[float]) -> dict[str, float | None]:
    """p50, p95 and max (s), rounded; None for an empty list."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p95": round(p95, 2),
        "max": round(ordered[-1], 2),
    }


def max_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """Most intervals open at one moment (an end at t comes before a start at t)."""
    events = sorted(
        [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
        key=lambda e: (e[0], e[1]),
    )
    open_now = most = 0
    for _, step in events:
        open_now += step
        most = max(most, open_now)
    return most


def idle_while_queued(
    timeline: Sequence[tuple[float, int]],
    queued: Sequence[tuple[float, float]],
    slots: int,
) -> dict[str, Any]:
    """How often a slot was idle while a job waited: of the /health samples
    taken while at least one job was queued (created, not yet separating), the
    share that saw fewer than `slots` busy. Every slot busy means 0."""
    waiting = [
        busy for at, busy in timeline if any(start <= at < end for start, end in queued)
    ]
    idle = sum(1 for busy in waiting if busy < slots)
    return {
        "samples_with_jobs_queued": len(waiting),
        "samples_with_a_slot_idle": idle,
        "share": round(idle / len(waiting), 3) if waiting else None,
    }


def handoff_gaps(
    seps: dict[str, tuple[float, float | None]],
    queued: Sequence[tuple[float, float]],
) -> list[float]:
    """For each separation that ended while a job was queued: seconds until the
    next separation started (the stemworker's log), i.e. how long a freed slot
    stood empty with work waiting."""
    starts = sorted(start for start, _ in seps.values())
    gaps = []
    for _, end in seps.values():
        if end is None or not any(a <= end < b for a, b in queued):
            continue
        later = [s for s in starts if s >= end - LOG_RACE]
        if later:
            gaps.append(max(0.0, later[0] - end))
    return gaps


def job_figures(
    jobs: Sequence[JobRecord],
    seps: dict[str, tuple[float, float | None]],
    first_post: dict[int, float],
) -> dict[str, Any]:
    """Queue waits, turnaround, separation times, fairness, per-user overlap."""
    created = {j.id: iso(j.final.get("created_at")) for j in jobs}
    started = {j.id: iso(j.final.get("started_at")) for j in jobs}
    finished = {j.id: iso(j.final.get("finished_at")) for j in jobs}
    sep_start = {k: v[0] for k, v in seps.items()}
    first_sep: dict[int, float] = {}
    for job in jobs:
        if job.id in sep_start:
            first_sep[job.user] = min(first_sep.get(job.user, 1e18), sep_start[job.id])
    per_user: dict[int, list[tuple[float, float]]] = {}
    for job in jobs:
        c, f = created[job.id], finished[job.id]
        if c is not None and f is not None:
            per_user.setdefault(job.user, []).append((c, f))

    def diffs(a: dict[str, float | None], b: Mapping[str, float | None]) -> list[float]:
        pairs = ((a[k], b.get(k)) for k in a)
        return [end - start for start, end in pairs if start and end]

    return {
        "queue_to_rq_start": pcts(diffs(created, started)),
        "queue_to_separation": pcts(diffs(created, sep_start)),
        "separation": pcts([e - s for s, e in seps.values() if e is not None]),
        "turnaround_post_to_finished": pcts(
            [end - j.posted_at for j in jobs if (end := finished[j.id]) is not None]
        ),
        "fairness_first_post_to_first_separation": pcts(
            [first_sep[u] - t for u, t in first_post.items() if u in first_sep]
        ),
        "max_active_per_user_exact": max(
            (max_overlap(v) for v in per_user.values()), default=0
        ),
    }


def queued_spans(
    jobs: Sequence[JobRecord], seps: dict[str, tuple[float, float | None]]
) -> list[tuple[float, float]]:
    """Each job's wait: from its row being created to its separation starting."""
    spans = []
    for job in jobs:
        created, sep = iso(job.final.get("created_at")), seps.get(job.id)
        if created is not None and sep is not None:
            spans.append((created, sep[0]))
    return spans


# -- the run ------------------------------------------------------------------


def start_product(product: LoadProduct, opts: argparse.Namespace) -> None:
    product.setup_users(opts.users, opts.uploads)
    print(f"[load] {opts.users} users with {opts.uploads} credits and a token each")
    if opts.hosts:  # the centre: web and cron; the RQ workers run on the hosts
        product.start_web()
        product.wait_web()
    else:
        product.start_django()
    repo = build_repo(MODELS_CACHE / "tiny", size="tiny")
    if opts.hosts:
        for _ in range(opts.hosts):
            product.host_add(repo)
        product.wait_hosts_offer_models()
    else:
        product.start_stemworker(repo, slots=opts.slots)
    product.start_cron()


def run_users(product: LoadProduct, opts: argparse.Namespace, song: bytes) -> float:
    """All users at once; returns the wall time until the last job ended."""
    opts.totals, opts.start = Totals(), threading.Barrier(opts.users + 1)
    opts.web_log = product.logs / "web.log"
    # Every other person uses the site (as a browser does), the rest the API.
    users = [
        SiteUser(i, product.web_url, u["email"], song, opts)
        if opts.site and i % 2
        else User(i, product.web_url, u["token"], song, opts)
        for i, u in enumerate(product.users)
    ]
    for user in users:
        user.start()
    opts.start.wait()
    began = time.monotonic()
    last_report = began
    while any(u.is_alive() for u in users):
        time.sleep(1.0)
        product.check_services()
        if time.monotonic() - last_report >= 30:
            last_report = time.monotonic()
            done = sum(1 for j in opts.totals.jobs if j.final)
            print(
                f"[load] {last_report - began:5.0f}s: {len(opts.totals.jobs)} admitted,"
                f" {done} ended, {opts.totals.statuses.get('429', 0)} 429s"
            )
    opts.user_threads = users
    return time.monotonic() - began


def measure(product: LoadProduct, opts: argparse.Namespace) -> dict[str, Any]:
    """Run the load with the samplers on; every figure the report prints."""
    song_path = write_song(product.tmp / "song.wav", seconds=opts.seconds_of_audio)
    song = song_path.read_bytes()
    stemworkers = product.stemworkers()
    samplers = [
        DatabaseSampler(),
        StemworkerSampler([(url, service.proc.pid) for url, service in stemworkers]),
    ]
    for sampler in samplers:
        sampler.start()
    cpu0 = time.process_time()
    try:
        wall = run_users(product, opts, song)
    finally:
        for sampler in samplers:
            sampler.stop()
    bench_cpu = time.process_time() - cpu0
    ledger = product.ledger()
    for user in opts.user_threads:
        user.delete_all()
    after_delete = product.ledger()
    seps: dict[str, tuple[float, float | None]] = {}
    for _, service in stemworkers:
        seps.update(separations_from_log(service.log))
    return summarise(
        opts,
        wall,
        bench_cpu,
        samplers,
        seps,
        ledger,
        after_delete,
        len(song),
        product.total_slots(),
    )


def summarise(
    opts: argparse.Namespace,
    wall: float,
    bench_cpu: float,
    samplers: list[Any],
    seps: dict[str, tuple[float, float | None]],
    ledger: dict[str, Any],
    after_delete: dict[str, Any],
    song_bytes: int,
    slots: int,
) -> dict[str, Any]:
    totals: Totals = opts.totals
    db, sw = samplers
    jobs = totals.jobs
    ours = {j.id for j in jobs}
    closed = [(s, e - LOG_RACE) for k, (s, e) in seps.items() if k in ours and e]
    finals = Counter(j.final.get("status", "unfinished") for j in jobs)
    return {
        "finished_at": datetime.now(UTC).isoformat(),
        "options": {
            k: v
            for k, v in vars(opts).items()
            if k not in ("totals", "start", "user_threads", "users_created", "web_log")
        },
        "cpus": os.cpu_count(),
        "song_bytes": song_bytes,
        "total_slots": slots,
        "wall_seconds": round(wall, 1),
        "bench_cpu_seconds": round(bench_cpu, 1),
        "expected_jobs": opts.users * opts.uploads,
        "admitted": len(jobs),
        "final_statuses": dict(finals),
        "zips": sum(1 for j in jobs if j.zip_bytes),
        "http": dict(sorted(totals.statuses.items())),
        "http_429_codes": dict(totals.codes_429),
        "retry_after_seconds": {k: pcts(v) for k, v in totals.retry_after.items()},
        "errors": totals.errors,
        "resets_retried": totals.resets,
        "web_worker_trouble": web_worker_trouble(opts.web_log),
        "max_active_per_user_sampled": db.max_active_per_user,
        "max_active_total_sampled": db.max_active_total,
        "max_running_jobs_sampled": db.max_running,
        "db_samples": db.samples,
        "stemworker_max_busy_sampled": sw.max_busy,
        "stemworker_busy_histogram": dict(sorted(sw.busy_histogram.items())),
        "pool_processes_max": sw.max_processes,
        "pool_processes_working_max": sw.max_working,
        "stemworker_samples": sw.samples,
        "sampler_errors": db.errors + sw.errors,
        "separations_logged": len(closed),
        "max_separations_overlap_from_log": max_overlap(closed),
        "figures": job_figures(jobs, seps, totals.first_post),
        "idle_while_queued": idle_while_queued(
            sw.timeline, queued_spans(jobs, seps), slots
        ),
        "handoff_seconds": pcts(
            handoff_gaps(
                {k: v for k, v in seps.items() if k in ours}, queued_spans(jobs, seps)
            )
        ),
        "jobs_per_minute": round(finals.get("succeeded", 0) / wall * 60, 1),
        "ledger": ledger,
        "ledger_after_delete": after_delete,
    }


# -- report -------------------------------------------------------------------


def web_worker_trouble(log: Path) -> list[str]:
    """gunicorn's lines about a worker that timed out, died or was (re)booted
    after the first ones: a reset connection must not hide a crash."""
    lines = tail(log, 10**9).splitlines()
    boots = [line for line in lines if "Booting worker" in line]
    bad = ("WORKER TIMEOUT", "Worker exited", "was sent SIGKILL", "Worker failed")
    return [line for line in lines if any(b in line for b in bad)] + boots[2:]


def verdicts(s: dict[str, Any], opts: argparse.Namespace) -> list[tuple[str, bool]]:
    """(requirement, passed) for each promise the run checks."""
    http = s["http"]
    five = sum(n for code, n in http.items() if code.startswith("5"))
    expected = s["expected_jobs"]
    ledger = s["ledger"]
    balances_ok = all(
        ledger["balances"].get(u["email"])
        == u["credits"] - ledger["succeeded"].get(u["email"], 0)
        for u in opts.users_created
    )
    slots_seen = max(
        s["stemworker_max_busy_sampled"],
        s["pool_processes_working_max"],
        s["max_separations_overlap_from_log"],
    )
    return [
        (f"no 5xx ({five})", five == 0),
        (
            f"no unrecovered transport errors ({http.get('transport error', 0)}; "
            f"keep-alive resets retried: {http.get('reset, retried', 0)})",
            "transport error" not in http,
        ),
        (
            "web workers never timed out or restarted",
            not s["web_worker_trouble"],
        ),
        (f"every job admitted ({s['admitted']}/{expected})", s["admitted"] == expected),
        (
            f"every job ended and succeeded ({s['final_statuses']})",
            s["final_statuses"].get("succeeded", 0) == expected,
        ),
        (
            f"<= {MAX_ACTIVE} active jobs per user (sampled "
            f"{s['max_active_per_user_sampled']}, exact "
            f"{s['figures']['max_active_per_user_exact']})",
            max(
                s["max_active_per_user_sampled"],
                s["figures"]["max_active_per_user_exact"],
            )
            <= MAX_ACTIVE,
        ),
        (
            f"<= {s['total_slots']} separations at once (seen {slots_seen})",
            slots_seen <= s["total_slots"]
            and s["pool_processes_max"] <= s["total_slots"],
        ),
        (f"every zip downloaded ({s['zips']})", s["zips"] == expected),
        ("ledger balanced (ledger_mismatches() empty)", not ledger["mismatches"]),
        ("each balance == starting credits - succeeded jobs", balances_ok),
        (
            "ledger balanced after deleting every job",
            not s["ledger_after_delete"]["mismatches"],
        ),
        ("no client-side errors", not s["errors"]),
    ]


def _row(name: str, p: dict[str, Any]) -> str:
    if not p["n"]:
        return f"  {name:42} (none)"
    return (
        f"  {name:42} p50 {p['p50']:7.2f}  p95 {p['p95']:7.2f}  max {p['max']:7.2f}"
        f"  (n={p['n']})"
    )


def layout_words(o: Mapping[str, Any]) -> str:
    threads = f" x {o['threads']} thread(s)" if o.get("threads") else ""
    if not o.get("hosts"):
        return f"one machine (shared folder), {o['slots']} slot(s){threads}"
    return (
        f"{o['hosts']} separation host(s) on s3 of {o['slots']} slot(s){threads} each"
    )


def report(s: dict[str, Any], opts: argparse.Namespace) -> bool:
    """Print the figures and the verdicts; True when everything passed."""
    o = s["options"]
    print(
        f"\nLoad: {o['users']} users x {o['uploads']} uploads of "
        f"{o['seconds_of_audio']:g} s ({s['song_bytes'] // 1024} kB wav), model "
        f"{MODEL} (tiny), {layout_words(o)}, {o['rq_workers']} RQ "
        f"workers, {s['cpus']} CPUs"
    )
    jobs_min = s["final_statuses"].get("succeeded", 0) / s["wall_seconds"] * 60
    print(f"  wall time {s['wall_seconds']:.1f} s, {jobs_min:.1f} jobs/min; bench "
          f"process CPU {s['bench_cpu_seconds']:.1f} s")  # fmt: skip
    print(f"  jobs: {s['expected_jobs']} wanted, {s['admitted']} admitted, final "
          f"{s['final_statuses']}, zips downloaded {s['zips']}")  # fmt: skip
    print(f"  HTTP statuses: {s['http']}; 429 by code: {s['http_429_codes']}")
    print(
        f"  active jobs per user: max sampled {s['max_active_per_user_sampled']} "
        f"({s['db_samples']} samples), exact from timestamps "
        f"{s['figures']['max_active_per_user_exact']}; all users' active max "
        f"{s['max_active_total_sampled']}, 'running' in the DB max "
        f"{s['max_running_jobs_sampled']}"
    )
    print(
        f"  separations at once: /health busy max {s['stemworker_max_busy_sampled']}"
        f" ({s['stemworker_samples']} samples, histogram "
        f"{s['stemworker_busy_histogram']}), pool processes alive max "
        f"{s['pool_processes_max']}, using CPU max {s['pool_processes_working_max']},"
        f" overlap in the stemworker log {s['max_separations_overlap_from_log']}"
        f" ({s['separations_logged']} separations)"
    )
    idle = s["idle_while_queued"]
    share = "n/a" if idle["share"] is None else f"{idle['share'] * 100:.1f}%"
    print(
        f"  a slot idle while jobs were queued: {share} of samples"
        f" ({idle['samples_with_a_slot_idle']} of"
        f" {idle['samples_with_jobs_queued']} taken while a job waited)"
    )
    names = {
        "queue_to_rq_start": "queue wait: created -> started_at (RQ)",
        "queue_to_separation": "queue wait: created -> separation start",
        "separation": "separation in the stemworker",
        "turnaround_post_to_finished": "turnaround: POST -> finished_at",
        "fairness_first_post_to_first_separation": "fairness: 1st POST -> 1st sep.",
    }
    handoff = _row("slot freed -> next separation (jobs queued)", s["handoff_seconds"])
    print("  seconds:")
    for key, label in names.items():
        print(_row(label, s["figures"][key]))
    print(handoff)
    for code, p in s["retry_after_seconds"].items():
        print(_row(f"Retry-After on 429 {code}", p))
    for error in s["errors"][:10] + s["sampler_errors"]:
        print(f"  error: {error}")
    for reset in s["resets_retried"][:10]:
        print(f"  reset, retried: {reset}")
    for line in s["web_worker_trouble"][:10]:
        print(f"  gunicorn: {line}")
    ok = True
    print()
    for requirement, passed in verdicts(s, opts):
        ok &= passed
        print(f"  {'PASS' if passed else 'FAIL'}  {requirement}")
    return ok


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--uploads", type=int, default=10, help="per user")
    parser.add_argument("--slots", type=int, default=2, help="MAX_CONCURRENT_JOBS")
    parser.add_argument("--seconds-of-audio", type=float, default=2.0)
    parser.add_argument(
        "--rq-workers",
        type=int,
        default=0,
        help="default: two per slot plus one, as `manage.py rqworkers` starts",
    )
    parser.add_argument("--poll", type=float, default=2.0, help="s between polls")
    parser.add_argument(
        "--retry-cap", type=float, default=5.0, help="max s waited on a 429"
    )
    parser.add_argument(
        "--site",
        action="store_true",
        help="every other user signs in and uploads through the site's session",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 users x 6 uploads (one past the cap, so 429s happen)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads per separation (default: the stemworker's rule)",
    )
    parser.add_argument(
        "--hosts",
        type=int,
        default=0,
        help="separation hosts of --slots slots each on STORAGE_BACKEND=s3 (a "
        "local S3 server), sharing no folder with the web; 0: one machine with "
        "the shared folder, as docker-compose.yml runs it",
    )
    parser.add_argument(
        "--compare-hosts",
        action="store_true",
        help="in one run: one machine on the shared folder (2 slots), one host "
        "on s3 (2 slots) and two hosts on s3 (1 slot each), 1 thread a slot",
    )
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.users, opts.uploads = 3, MAX_ACTIVE + 1
    opts.rq_workers_given = opts.rq_workers
    opts.rq_workers = opts.rq_workers or 2 * opts.slots + 1
    if min(opts.users, opts.uploads, opts.slots, opts.rq_workers) < 1:
        parser.error("every count must be at least 1")
    if opts.hosts < 0 or opts.threads < 0:
        parser.error("--hosts and --threads cannot be negative")
    return opts


# (label, hosts, slots per host): the same two torch threads in all three.
HOST_LAYOUTS = (
    ("one machine, shared folder", 0, 2),
    ("one host, s3", 1, 2),
    ("two hosts, s3", 2, 1),
)


def run_layout(opts: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """Start the product in the layout `opts` names, load it, stop it."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="muxload-")))
        s3 = stack.enter_context(s3_server_running()) if opts.hosts else None
        product = LoadProduct(tmp, opts.rq_workers, opts.slots, opts.threads, s3)
        stack.callback(product.close)
        try:
            start_product(product, opts)
            opts.users_created = product.users
            summary = measure(product, opts)
        except BaseException:
            keep_logs(product.logs)
            raise
        ok = report(summary, opts)
        if not ok:
            keep_logs(product.logs)
    return summary, ok


def compare_hosts(opts: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    """HOST_LAYOUTS one after another on the same load; a table at the end."""
    runs: dict[str, dict[str, Any]] = {}
    ok = True
    for label, hosts, slots in HOST_LAYOUTS:
        print(f"\n[load] === {label}: {max(hosts, 1)} x {slots} slot(s) ===")
        layout = argparse.Namespace(**vars(opts))
        layout.hosts, layout.slots, layout.threads = hosts, slots, opts.threads or 1
        layout.rq_workers = opts.rq_workers_given or 2 * slots + 1
        runs[label], passed = run_layout(layout)
        ok &= passed
    base = runs[HOST_LAYOUTS[0][0]]
    print(f"\nLayouts, {opts.users} users x {opts.uploads} uploads of "
          f"{opts.seconds_of_audio:g} s, 2 torch threads in all:")  # fmt: skip
    print(f"  {'layout':28} {'jobs/min':>8} {'vs first':>8} {'wait p50':>8} "
          f"{'wait p95':>8} {'turn p50':>8} {'idle':>6}  jobs per host")  # fmt: skip
    for label, run in runs.items():
        wait = run["figures"]["queue_to_separation"]
        turn = run["figures"]["turnaround_post_to_finished"]
        idle = run["idle_while_queued"]["share"]
        spread = {k: v for k, v in run["ledger"]["hosts"].items() if k != "?"}
        print(
            f"  {label:28} {run['jobs_per_minute']:8.1f} "
            f"{run['jobs_per_minute'] / max(base['jobs_per_minute'], 1e-9):8.2f} "
            f"{wait['p50'] or 0:8.2f} {wait['p95'] or 0:8.2f} {turn['p50'] or 0:8.2f} "
            f"{'n/a' if idle is None else f'{idle * 100:.0f}%':>6}  {spread or '-'}"
        )
    return {"layouts": runs}, ok


def main(argv: Sequence[str] | None = None) -> int:
    """0 when every requirement passed, 1 on a FAIL or an error, 130 on Ctrl-C."""
    opts = parse_args(argv)
    try:
        with sigterm_as_interrupt():
            summary, ok = (
                compare_hosts(opts) if opts.compare_hosts else run_layout(opts)
            )
    except KeyboardInterrupt:
        print("\n[load] interrupted; everything stopped and cleaned up")
        return 130
    except (BenchError, httpx.HTTPError, redis.RedisError, OSError) as error:
        print(f"\n[load] ERROR: {error}", file=sys.stderr)
        return 1
    path = write_results("load-hosts" if opts.compare_hosts else "load", summary)
    print(f"\n[load] results: {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
