"""API latency benchmark: the job list and job creation vs. a trivial call.

What is measured, and why
-------------------------
Scripts poll ``GET /api/v1/jobs/`` and post songs; neither may cost much more
than the cheapest authenticated call. Under gunicorn on 127.0.0.1 (2 workers x
4 threads, as bench/pipeline.py and the compose file run it), 20 concurrent
clients (threads, one keep-alive connection each, one API token) send:

``models``  ``GET /api/v1/models/``: the baseline. Token authentication, the
            throttle check and one Redis read (the stemworker's model list is
            cached in Redis for 5 minutes in production; here the cache is
            filled before timing, so no stemworker is needed and none runs).
``list``    ``GET /api/v1/jobs/`` (the default page of 50, with 4 stems each)
            for a user who has 1,000 finished jobs.
``dashboard``       ``GET /jobs/``, the signed-in job list's first page (50
                    rows rendered: times, lengths, stems, expiry) for the same
                    1,000 jobs, with a session cookie.
``dashboard_last``  ``GET /jobs/?page=20``: its last page. Paging must not get
                    slower with the length of the list.
``status``          ``GET /jobs/status/?newest=1``: what an open dashboard polls
                    (the newest page, as JSON and as rendered rows).
``create``  ``POST /api/v1/jobs/`` with one 0.5 s wav (about 90 kB): streaming,
            probing, admission (the account row locked) and the debit. No RQ
            worker runs, so the jobs stay queued.

The phases run one after the other in one run, baseline first and last (the
figure used is the pooled samples), after a warm-up. Targets: p99(list) <= 3 x
p99(models), and p50(dashboard_last) <= 1.5 x p50(dashboard). Rate limits are
turned off and the active-job cap raised for the run (environment), so every
answer is a 200 or 201; anything else is an error.

Everything runs in a temporary SHARED_ROOT, a fresh PostgreSQL database
(muxminus_bench_api) and Redis DB 13, all removed at the end. Results go to
``bench/results/api-<timestamp>.json``. A MISS is a finding, not an error.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
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
    MODELS,
    BenchError,
    CpuMeter,
    Product,
    sigterm_as_interrupt,
    wait_quiet,
    write_results,
)
from devtools.audio import write_song  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/13"
PG_DB = "muxminus_bench_api"
EMAIL = "api-bench@example.com"
TARGET = 3.0  # p99(list) <= TARGET x p99(models)
PAGING_TARGET = 1.5  # p50(last page) <= PAGING_TARGET x p50(first page)

SEED_JOBS = """
from datetime import timedelta
from django.utils import timezone
from accounts.models import User
from jobs.models import Job, Stem
user = User.objects.get(email={email!r})
now = timezone.now()
jobs = Job.objects.bulk_create(
    Job(user=user, original_filename=f"Song {{i}}.mp3", input_extension="mp3",
        model="htdemucs", output_format="mp3", status=Job.Status.SUCCEEDED,
        progress=100, duration_seconds=180.0, created_at=now - timedelta(minutes=i),
        started_at=now - timedelta(minutes=i), finished_at=now,
        expires_at=now + timedelta(hours=24))
    for i in range({count})
)
Stem.objects.bulk_create(
    Stem(job=job, name=name, relative_path=f"outputs/{{job.pk}}/{{name}}.mp3",
         size_bytes=7_000_000, peaks=[0.5] * 200)
    for job in jobs for name in ("drums", "bass", "other", "vocals")
)
print("jobs:", Job.objects.filter(user=user).count())
"""

# A signed-in session for the bench user, as a login would leave it.
SEED_SESSION = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.models import User
user = User.objects.get(email={email!r})
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print("session:", settings.SESSION_COOKIE_NAME, store.session_key)
"""

FILL_MODEL_CACHE = """
from django.conf import settings
from django.core.cache import cache
from jobs import catalog
models = [
    {"name": n, "stems": catalog.FALLBACK_STEMS.get(n, catalog.DEFAULT_STEMS),
     "description": ""}
    for n in settings.DEMUCS_MODELS
]
cache.set(catalog.CACHE_KEY, models, 24 * 3600)
"""


@dataclass
class Phase:
    """One endpoint under load: latencies in milliseconds."""

    name: str
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    others_cores: list[float] = field(default_factory=list)

    def add(self, other: Phase) -> None:
        self.latencies += other.latencies
        self.wall += other.wall
        self.others_cores += other.others_cores

    def summary(self) -> dict[str, Any]:
        values = sorted(self.latencies)
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return {
            "requests": len(values),
            "p50_ms": round(cuts[49], 2),
            "p99_ms": round(cuts[98], 2),
            "mean_ms": round(statistics.fmean(values), 2),
            "max_ms": round(values[-1], 2),
            "per_second": round(len(values) / self.wall, 1) if self.wall else None,
            "others_cores": self.others_cores,
        }


# -- the product --------------------------------------------------------------


class ApiProduct(Product):
    """gunicorn alone (no RQ worker, no stemworker) on a fresh database."""

    db_name = PG_DB
    redis_url = REDIS_URL
    client_timeout = 60.0

    def setup(self, jobs: int, credits: int) -> None:
        self.prepare(need_postgres=True)
        self.add_token_user(EMAIL, credits)
        out = self.manage("shell", "-c", SEED_JOBS.format(email=EMAIL, count=jobs))
        count = out.rsplit("jobs:", 1)[-1].strip()
        print(f"[bench] {EMAIL} has {count} finished jobs (4 stems each)")
        self.manage("shell", "-c", FILL_MODEL_CACHE)
        self.manage("collectstatic", "--noinput")
        out = self.manage("shell", "-c", SEED_SESSION.format(email=EMAIL))
        name, key = out.rsplit("session:", 1)[-1].split()
        self.session_cookie = f"{name}={key}"

    def _env(self, database_url: str) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis_url,
            "SHARED_ROOT": str(self.shared),
            # The pages need their static files' manifest (DEBUG is off).
            "STATIC_ROOT": str(self.logs.parent / "static"),
            "STEMWORKER_URL": self.sw_url,  # nobody there
            "STEMWORKER_TOKEN": secrets.token_urlsafe(24),
            "DEMUCS_MODELS": MODELS,
            "MAX_ACTIVE_JOBS_PER_USER": "1000000",
            "API_THROTTLE_DEFAULT": "",
            "API_THROTTLE_JOB_CREATE": "",
            "LOG_LEVEL": "WARNING",
        }

    def start(self, workers: int, threads: int) -> None:
        self.start_web(workers, threads)
        self.wait_web()


# -- load ---------------------------------------------------------------------

Request = Callable[[httpx.Client], httpx.Response]


def load(
    product: ApiProduct, name: str, send: Request, total: int, clients: int
) -> Phase:
    """`total` requests from `clients` threads; every answer must be 2xx."""
    phase = Phase(name)
    lock = threading.Lock()
    remaining = [total]
    errors: list[str] = []
    start = threading.Barrier(clients + 1)

    def worker() -> None:
        with product.client() as client:
            start.wait()
            while True:
                with lock:
                    if remaining[0] <= 0 or errors:
                        return
                    remaining[0] -= 1
                began = time.perf_counter()
                try:
                    response = send(client)
                except httpx.HTTPError as error:
                    errors.append(f"{name}: {error!r}")
                    return
                elapsed = (time.perf_counter() - began) * 1000
                if not response.is_success:
                    errors.append(
                        f"{name}: {response.status_code} {response.text[:300]}"
                    )
                    return
                with lock:
                    phase.latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.wall = time.perf_counter() - began
    if errors:
        raise BenchError(errors[0])
    return phase


def requests_for(
    wav: bytes, *, session_cookie: str, last_page: int
) -> dict[str, Request]:
    form = {"model": "htdemucs", "output_format": "mp3"}

    def create(client: httpx.Client) -> httpx.Response:
        return client.post(
            "/api/v1/jobs/",
            data=form,
            files=[("file", ("bench.wav", wav, "audio/wav"))],
        )

    def signed_in(path: str) -> Request:
        def send(client: httpx.Client) -> httpx.Response:
            headers = {"Cookie": session_cookie, "Authorization": ""}
            response = client.get(path, headers=headers)
            if response.is_success and "data-job-list" not in response.text[:200_000]:
                if not path.startswith("/jobs/status/"):
                    raise httpx.HTTPError(f"{path}: not the job list (signed out?)")
            return response

        return send

    return {
        "models": lambda client: client.get("/api/v1/models/"),
        "list": lambda client: client.get("/api/v1/jobs/"),
        "dashboard": signed_in("/jobs/"),
        "dashboard_last": signed_in(f"/jobs/?page={last_page}"),
        "status": signed_in("/jobs/status/?newest=1"),
        "create": create,
    }


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    wav = write_song(tmp / "bench.wav", seconds=0.5).read_bytes()
    product = ApiProduct(tmp)
    try:
        product.setup(jobs=args.jobs, credits=args.creates + args.warmup + 10)
        product.start(args.workers, args.threads)
        send = requests_for(
            wav,
            session_cookie=product.session_cookie,
            last_page=max(1, -(-args.jobs // 50)),
        )
        for name in ("models", "list", "dashboard", "dashboard_last", "create"):
            load(product, f"warm-up {name}", send[name], args.warmup, args.clients)
        phases = {name: Phase(name) for name in send}
        plan = [("models", args.requests // 2), ("list", args.requests)]
        plan += [(name, args.requests // 2) for name in ("dashboard", "dashboard_last")]
        plan += [("status", args.requests // 2)]
        plan += [("models", args.requests - args.requests // 2)]
        plan += [("create", args.creates)]
        for name, count in plan:
            wait_quiet(args.max_wait)
            meter = CpuMeter()
            measured = load(product, name, send[name], count, args.clients)
            measured.others_cores.append(meter.foreign_cores())
            phases[name].add(measured)
            print(
                f"[bench] {name}: {len(measured.latencies)} requests in "
                f"{measured.wall:.1f}s (others used {measured.others_cores[0]:.2f} "
                "cores)"
            )
    finally:
        product.close()
    summaries = {name: phase.summary() for name, phase in phases.items()}
    base = summaries["models"]
    ratios = {
        f"{name}_{q}": round(summaries[name][f"{q}_ms"] / base[f"{q}_ms"], 2)
        for name in ("list", "dashboard", "dashboard_last", "status", "create")
        for q in ("p50", "p99")
    }
    paging = round(
        summaries["dashboard_last"]["p50_ms"] / summaries["dashboard"]["p50_ms"], 2
    )
    return {
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "options": vars(args),
        "phases": summaries,
        "ratios_vs_models": ratios,
        "paging_last_vs_first_p50": paging,
        "target": f"p99(list) <= {TARGET:g} x p99(models); "
        f"p50(last page) <= {PAGING_TARGET:g} x p50(first page)",
        "pass": ratios["list_p99"] <= TARGET and paging <= PAGING_TARGET,
    }


def report(summary: dict[str, Any]) -> None:
    options = summary["options"]
    print(
        f"\nAPI latency, {options['clients']} concurrent clients, gunicorn "
        f"{options['workers']}x{options['threads']} threads, "
        f"{options['jobs']} jobs in the list user's account"
    )
    print(
        f"  {'endpoint':30} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7}"
        "  others' CPU (cores)"
    )
    labels = {
        "models": "GET /api/v1/models/ (base)",
        "list": "GET /api/v1/jobs/",
        "dashboard": "GET /jobs/ (page 1 of 50)",
        "dashboard_last": "GET /jobs/?page=last",
        "status": "GET /jobs/status/ (poll)",
        "create": "POST /api/v1/jobs/ (1 file)",
    }
    for name, label in labels.items():
        row = summary["phases"][name]
        others = " ".join(f"{c:.2f}" for c in row["others_cores"])
        print(
            f"  {label:30} {row['requests']:>5} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['per_second']:>7}  {others}"
        )
    ratios = summary["ratios_vs_models"]
    print(
        f"  ratios vs models: list p50 {ratios['list_p50']:.2f}x, p99 "
        f"{ratios['list_p99']:.2f}x; create p50 {ratios['create_p50']:.2f}x, p99 "
        f"{ratios['create_p99']:.2f}x"
    )
    print(
        f"  job list page: p50 {ratios['dashboard_p50']:.2f}x models; last page "
        f"{summary['paging_last_vs_first_p50']:.2f}x the first; status poll p50 "
        f"{ratios['status_p50']:.2f}x models"
    )
    verdict = "PASS" if summary["pass"] else "MISS"
    print(f"  target {summary['target']}: {verdict}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in the list")
    parser.add_argument("--requests", type=int, default=600, help="per GET phase")
    parser.add_argument("--creates", type=int, default=200, help="POSTs timed")
    parser.add_argument("--warmup", type=int, default=40, help="per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=60.0,
        help="seconds to wait for other CPU load to stop before each phase",
    )
    args = parser.parse_args(argv)
    if min(args.clients, args.jobs, args.requests, args.creates, args.warmup) < 1:
        parser.error("every count must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """0 when it measured (PASS or MISS), 1 when something broke."""
    args = parse_args(argv)
    try:
        with (
            sigterm_as_interrupt(),
            tempfile.TemporaryDirectory(prefix="muxbench-api-") as tmp,
        ):
            summary = run(args, Path(tmp))
    except KeyboardInterrupt:
        print("\n[bench] interrupted; everything stopped and cleaned up")
        return 130
    except (BenchError, httpx.HTTPError, redis.RedisError, OSError) as error:
        print(f"\n[bench] ERROR: {error}", file=sys.stderr)
        return 1
    report(summary)
    path = write_results("api", summary)
    print(f"\n[bench] results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
