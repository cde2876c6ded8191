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
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
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
    CpuMeter,
    Product,
    iso,
    keep_logs,
    separations_from_log,
    sigterm_as_interrupt,
    wait_quiet,
    write_results,
)
from devtools.audio import write_song  # noqa: E402
from devtools.model_repo import build_repo  # noqa: E402

POLL_SECONDS = 1.0
REDIS_URL = "redis://127.0.0.1:6379/14"
PG_DB = "muxminus_bench"
EMAIL = "bench@example.com"
JOB_TIMEOUT = 1200.0
CONCURRENT_JOBS = 4
SPEEDUP_TARGET = 0.10  # two slots finish the batch at least 10% sooner


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


def median(values: Sequence[float]) -> float:
    """The median, rounded for printing and JSON."""
    return round(statistics.median(values), 2)


def _diff(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else round(end - start, 2)


# -- the product, and one song through it --


class PipelineProduct(Product):
    """The harness's product on this bench's database and Redis DB, timing jobs."""

    db_name = PG_DB
    redis_url = REDIS_URL

    def setup(self, credits: int) -> None:
        """Fresh database and Redis DB, migrations, a user with token and credits."""
        self.prepare()
        self.add_token_user(EMAIL, credits)

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
            finished = iso(job.get("finished_at"))
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
        spans = separations_from_log(self.stemworker.log)
        return {k: end - start for k, (start, end) in spans.items() if end is not None}


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
    created, started = iso(job.get("created_at")), iso(job.get("started_at"))
    finished = iso(job.get("finished_at"))
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
    product: PipelineProduct, case: PairCase, reps: int, tmp: Path, max_wait: float
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
    product: PipelineProduct, wav: Path, slots: int, reps: int, max_wait: float
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
    product: PipelineProduct, reps: int, tmp: Path, max_wait: float
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


def run_cases(
    product: PipelineProduct, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
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
    product = PipelineProduct(tmp, args.rq_workers)
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
    path = write_results("pipeline", summary)
    print(f"\n[bench] results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
