"""End-to-end benchmark: one song through the whole product vs. demucs itself.

What is measured, and why
-------------------------
The product wraps the demucs CLI. On a GPU the separation is a few seconds and
everything around it (interpreter and model loading, encoding, peaks, queue
hops) is most of a job; tiny random models on the CPU stand in for that case,
since their compute is small and the wrapper shows. Three sides, on the same
input file and model, in the same run, alternating (the order turns every
repetition, so drift hits all three):

(a) **CLI**: ``python -m demucs --repo REPO -n MODEL [--mp3] -o OUT input.wav``
    as a fresh process: what a user would run.
(b) **in-process floor**: ``demucs.separate.main(argv)`` with the same argv,
    called in a warm interpreter (torch and demucs imported, one run done
    before): the best today's design could do if it only reused processes.
    It still loads the model and encodes the stems one after another.
(c) **product**: ``POST /api/v1/jobs/`` to gunicorn, through Redis and an RQ
    worker to the stemworker's warm pool and back; from just before the POST to
    the job's own ``finished_at`` (same clock). The bench polls
    ``GET /api/v1/jobs/<id>/`` once a second, as a patient script would (every
    wake-up of another process takes a core from torch).

Each product job is split with its own timestamps, the stemworker's log and
the RQ worker's: upload+admit (POST until the row exists), queued (until a
slot took it), separation (in the stemworker, of which model load), encode
(the stems encoded and measured), collect (the rest: the hand-offs, moving
files, the database) and seen (until the client's poll saw it).

Cases:

``tiny-mp3``, ``tiny-wav``  tiny model, 60 s input: product/CLI <= 0.70 and
                            product/floor <= 0.95.
``full``        full-size HTDemucs architecture (random weights), 20 s input,
                mp3: product/CLI <= 0.88.
``ft``          htdemucs_ft (a bag of four) on the tiny models: the share of the
                separation spent loading models, with the stemworker's model
                cache off (STEMWORKER_MODEL_CACHE=0: before) and on (after).
``concurrency`` four 20 s full-size jobs in one request; time until all succeed
                with the stemworker at MAX_CONCURRENT_JOBS=1, then =2.

``--gpu`` runs ``full`` on a 180 s input on whatever device demucs picks and
prints audio-seconds per second (the GPU check of issue 14). Results go to
``bench/results/pipeline-<ts>.json``. A MISS is a finding, not an error: the
exit status is 0 unless something broke.

Everything runs in a temporary SHARED_ROOT, a fresh PostgreSQL database (SQLite
when PostgreSQL does not answer) and Redis DB 14, all removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

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
    tail,
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
FT_MODEL = "htdemucs_ft"
_LOAD_RE = re.compile(
    r"stemworker: separation (\S+) finished: \w+.*?; model load ([\d.]+) s"
)
_ENCODE_RE = re.compile(
    r"jobs\.runner\.collect job=\S+ job (\S+): \d+ stem\(s\) as \w+, "
    r"encoded and measured in ([\d.]+) s"
)
# The in-process floor: demucs' CLI entry point in one warm interpreter. One JSON
# argv per line in, one JSON line out per run (demucs' own output goes to stderr).
FLOOR_SCRIPT = """
import json, os, sys, time
out = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
import torch, demucs.separate
for line in sys.stdin:
    started = time.monotonic()
    code = 0
    try:
        demucs.separate.main(json.loads(line))
    except SystemExit as exc:
        code = exc.code or 0
    out.write(json.dumps({"seconds": time.monotonic() - started, "code": code}) + "\\n")
"""


@dataclass(frozen=True)
class PairCase:
    """CLI, in-process floor and product on one input."""

    name: str
    size: str
    seconds: float
    output_format: str
    cli_target: float  # product / CLI at most
    floor_target: float | None  # product / in-process floor at most


PAIR_CASES = {
    "tiny-mp3": PairCase("tiny-mp3", "tiny", 60.0, "mp3", 0.70, 0.95),
    "tiny-wav": PairCase("tiny-wav", "tiny", 60.0, "wav", 0.70, 0.95),
    "full": PairCase("full", "full", 20.0, "mp3", 0.88, None),
}
GPU_CASE = PairCase("gpu", "full", 180.0, "mp3", 0.88, None)
ALL_CASES = ("tiny-mp3", "tiny-wav", "full", "ft", "concurrency")
PHASES = ("upload_admit", "queued", "separation", "encode", "collect", "seen")


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


def _cli_flags(output_format: str) -> list[str]:
    return {"mp3": ["--mp3"], "flac": ["--flac"], "wav": []}[output_format]


# -- the product, and one song through it --


class PipelineProduct(Product):
    """The harness's product on this bench's database and Redis DB, timing jobs."""

    db_name = PG_DB
    redis_url = REDIS_URL

    def setup(self, credits: int) -> None:
        """Fresh database and Redis DB, migrations, a user with token and credits."""
        self.prepare()
        self.add_token_user(EMAIL, credits)

    def run_jobs(
        self, wav: Path, count: int, *, model: str = MODEL, output_format: str = "mp3"
    ) -> list[JobSample]:
        """Submit `count` copies of wav in one POST; one sample per job."""
        with self.client() as client:
            wall0, t0 = time.time(), time.monotonic()
            ids = self._submit(client, wav, count, model, output_format)
            seen = self._wait_succeeded(client, ids, t0)
        stemworker_log = tail(self.stemworker.log, 10**9) if self.stemworker else ""
        spans = separations_from_log(self.stemworker.log) if self.stemworker else {}
        loads = dict(_LOAD_RE.findall(stemworker_log))
        encodes = dict(_ENCODE_RE.findall(tail(self.logs / "worker.log", 10**9)))
        samples = []
        for job_id in ids:
            job, elapsed = seen[job_id]
            span = spans.get(job_id)
            phases = _phases(
                job,
                wall0,
                elapsed,
                separation=None if span is None or span[1] is None else span,
                model_load=_float(loads.get(job_id)),
                encode=_float(encodes.get(job_id)),
            )
            finished = iso(job.get("finished_at"))
            total = elapsed if finished is None else finished - wall0
            samples.append(JobSample(total=round(total, 2), phases=phases))
        return samples

    def _submit(
        self,
        client: httpx.Client,
        wav: Path,
        count: int,
        model: str,
        output_format: str,
    ) -> list[str]:
        data = wav.read_bytes()
        files = [("file", (f"song-{i}.wav", data, "audio/wav")) for i in range(count)]
        form = {"model": model, "output_format": output_format}
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


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def _phases(
    job: dict[str, Any],
    wall0: float,
    elapsed: float,
    *,
    separation: tuple[float, float | None] | None,
    model_load: float | None,
    encode: float | None,
) -> dict[str, float | None]:
    """Split one job's wall time with its own timestamps (same clock as ours).

    upload_admit: POST until the Job row exists (upload, decoding, admission);
    queued: until a stemworker slot took it; separation: in the stemworker
    (model_load of it); encode: the stems encoded and measured; collect: the
    rest until it was marked succeeded; seen: until our poll saw it.
    """
    created, started = iso(job.get("created_at")), iso(job.get("started_at"))
    finished = iso(job.get("finished_at"))
    sep = None
    if separation is not None and separation[1] is not None:
        sep = separation[1] - separation[0]
    running = None if finished is None or started is None else finished - started
    collect = None
    if running is not None and sep is not None:
        collect = running - sep - (encode or 0.0)
    return {
        "upload_admit": _diff(created, wall0),
        "queued": _diff(started, created),
        "separation": None if sep is None else round(sep, 2),
        "model_load": model_load,
        "encode": encode,
        "collect": None if collect is None else round(collect, 2),
        "seen": _diff(wall0 + elapsed, finished),
    }


# -- the bare CLI and the in-process floor --


def cli_argv(
    repo: Path, model: str, output_format: str, out: Path, wav: Path
) -> list[str]:
    """The argv a user gives `python -m demucs` for this case."""
    argv = ["--repo", str(repo), "-n", model, *_cli_flags(output_format)]
    return [*argv, "-o", str(out), str(wav)]


def _check_stems(
    out: Path, model: str, output_format: str, what: str, log: str
) -> None:
    stems = list(out.glob(f"{model}/*/*.{output_format}"))
    shutil.rmtree(out, ignore_errors=True)
    if len(stems) != 4:
        raise BenchError(f"{what}: {len(stems)} stems, not 4:\n{log[-3000:]}")


def run_cli(repo: Path, wav: Path, scratch: Path, output_format: str) -> float:
    """Wall time of ``python -m demucs`` as a fresh process; checks its stems."""
    out = scratch / f"cli-{uuid.uuid4().hex[:8]}"
    argv = [PY, "-m", "demucs", *cli_argv(repo, MODEL, output_format, out, wav)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise BenchError(f"demucs CLI: exit {done.returncode}:\n{done.stderr[-3000:]}")
    _check_stems(out, MODEL, output_format, "demucs CLI", done.stderr)
    return round(elapsed, 2)


class InProcessFloor:
    """One warm interpreter calling demucs.separate.main (FLOOR_SCRIPT)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self._log_file = log.open("ab")
        # S603: our own interpreter and script.
        self.proc = subprocess.Popen(  # noqa: S603
            [PY, "-c", FLOOR_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env=env,
            text=True,
        )

    def run(self, argv: list[str]) -> float:
        stdin: IO[str] | None = self.proc.stdin
        stdout: IO[str] | None = self.proc.stdout
        assert stdin is not None and stdout is not None  # noqa: S101 - PIPEs
        stdin.write(json.dumps(argv) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise BenchError(f"in-process floor died:\n{tail(self.log)}")
        answer = json.loads(line)
        if answer["code"]:
            raise BenchError(
                f"in-process demucs exit {answer['code']}:\n{tail(self.log)}"
            )
        return round(float(answer["seconds"]), 2)

    def separate(
        self, repo: Path, wav: Path, scratch: Path, output_format: str
    ) -> float:
        """One timed run, its stems checked."""
        out = scratch / f"floor-{uuid.uuid4().hex[:8]}"
        seconds = self.run(cli_argv(repo, MODEL, output_format, out, wav))
        _check_stems(out, MODEL, output_format, "in-process demucs", tail(self.log))
        return seconds

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log_file.close()


# -- cases --


def input_wav(tmp: Path, seconds: float) -> Path:
    """The synthetic song every side separates (44.1 kHz stereo wav)."""
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


def _timed(action: Callable[[], Any], max_wait: float) -> tuple[Any, float]:
    """Run action() once the machine is quiet; (its result, others' load in cores)."""
    wait_quiet(max_wait)
    meter = CpuMeter()
    result = action()
    return result, meter.foreign_cores()


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")


def run_pair_case(
    product: PipelineProduct,
    case: PairCase,
    reps: int,
    tmp: Path,
    max_wait: float,
    floor: InProcessFloor | None,
) -> dict[str, Any]:
    """CLI, floor and product in turn, `reps` times each, on the same input."""
    repo = build_repo(MODELS_CACHE / case.size, size=case.size)
    wav = input_wav(tmp, case.seconds)
    product.start_stemworker(repo, slots=1)
    fmt = case.output_format
    actions: dict[str, Callable[[], Any]] = {
        "cli": lambda: run_cli(repo, wav, tmp, fmt),
        "product": lambda: product.run_jobs(wav, 1, output_format=fmt)[0],
    }
    if floor is not None and case.floor_target is not None:
        floor.separate(repo, wav, tmp, fmt)  # its first run is not timed: warm
        actions["floor"] = lambda: floor.separate(repo, wav, tmp, fmt)
    sides = list(actions)
    times: dict[str, list[float]] = {side: [] for side in sides}
    load: dict[str, list[float]] = {side: [] for side in sides}
    jobs: list[JobSample] = []
    for rep in range(reps):
        order = sides[rep % len(sides) :] + sides[: rep % len(sides)]
        for side in order:
            outcome, others = _timed(actions[side], max_wait)
            load[side].append(others)
            if side == "product":
                jobs.append(outcome)
                outcome = outcome.total
            times[side].append(outcome)
            print(
                f"[bench] {case.name} rep {rep + 1}/{reps}: {side} {outcome:.2f}s"
                f" (others used {others:.2f} cores)"
            )
    product.stop_stemworker()
    rows: dict[str, dict[str, Any]] = {
        side: {"median": median(values), "samples": values, "others_cores": load[side]}
        for side, values in times.items()
    }
    rows["product"]["phases"] = [j.phases for j in jobs]
    rows["product"]["median_phases"] = median_phases(jobs)
    product_median = rows["product"]["median"]
    result: dict[str, Any] = {
        "input_seconds": case.seconds,
        "model_size": case.size,
        "output_format": fmt,
        "sides": rows,
        "ratio_cli": _ratio(product_median, rows["cli"]["median"]),
        "target_cli": case.cli_target,
        "audio_seconds_per_second": round(case.seconds / product_median, 2),
    }
    result["pass"] = result["ratio_cli"] <= case.cli_target
    if "floor" in rows:
        result["ratio_floor"] = _ratio(product_median, rows["floor"]["median"])
        result["target_floor"] = case.floor_target
        result["pass"] &= result["ratio_floor"] <= (case.floor_target or 0)
    return result


def run_ft_case(
    product: PipelineProduct, reps: int, tmp: Path, max_wait: float
) -> dict[str, Any]:
    """htdemucs_ft on the tiny models: model load share, cache off then on."""
    repo = build_repo(MODELS_CACHE / "tiny", size="tiny")
    wav = input_wav(tmp, 60.0)
    by_cache: dict[str, Any] = {}
    for label, cache in (("before (cache off)", "0"), ("after (cache on)", "")):
        product.start_stemworker(repo, slots=1, extra={"STEMWORKER_MODEL_CACHE": cache})
        jobs = []
        for rep in range(reps):
            [job], _ = _timed(
                lambda: product.run_jobs(wav, 1, model=FT_MODEL, output_format="wav"),
                max_wait,
            )
            jobs.append(job)
            print(f"[bench] ft {label} rep {rep + 1}/{reps}: {job.total:.2f}s")
        phases = median_phases(jobs)
        sep, loaded = phases.get("separation"), phases.get("model_load")
        by_cache[label] = {
            "median_total": median([j.total for j in jobs]),
            "median_phases": phases,
            "model_load_share": None
            if not sep or loaded is None
            else round(loaded / sep, 3),
        }
    product.stop_stemworker()
    return {"model": FT_MODEL, "input_seconds": 60.0, "cache": by_cache}


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


SIDE_LABELS = {"cli": "CLI", "floor": "in-process", "product": "product"}


def print_pair(name: str, result: dict[str, Any]) -> None:
    """Table for one CLI / floor / product case."""
    verdict = "PASS" if result["pass"] else "MISS"
    label = (
        f"{name} ({result['input_seconds']:g} s, {result['model_size']} model,"
        f" {result['output_format']})"
    )
    print(f"\n{label}")
    print(f"  {'':11} {'median s':>9}   samples s")
    for side, row in result["sides"].items():
        print(
            f"  {SIDE_LABELS[side]:11} {row['median']:>9.2f}"
            f"   {_samples(row['samples'])}"
            f"   (others' CPU, cores: {_samples(row['others_cores'])})"
        )
    line = (
        f"  product/CLI {result['ratio_cli']:.3f}"
        f" (target <= {result['target_cli']:.2f})"
    )
    if "ratio_floor" in result:
        line += (
            f", product/in-process {result['ratio_floor']:.3f}"
            f" (target <= {result['target_floor']:.2f})"
        )
    print(f"{line}  {verdict}")
    print(f"  product: {result['audio_seconds_per_second']:.2f} s of audio per second")
    phases = result["sides"]["product"]["median_phases"]
    parts = ", ".join(f"{k} {v:.2f}" for k, v in phases.items() if v is not None)
    print(f"  product median phases (s): {parts}")


def print_ft(result: dict[str, Any]) -> None:
    """Table for the model-load case."""
    print(f"\nft ({result['model']} on the tiny models, {result['input_seconds']:g} s)")
    for label, row in result["cache"].items():
        phases = row["median_phases"]
        share = row["model_load_share"]
        print(
            f"  {label:19} job {row['median_total']:.2f} s, separation"
            f" {phases.get('separation')} s, model load {phases.get('model_load')} s"
            f" = {'n/a' if share is None else f'{share * 100:.1f}%'} of the separation"
        )


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
        help=f"comma list of {','.join(ALL_CASES)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 rep, tiny-mp3 and tiny-wav only"
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="full-size model, 180 s input, 1 rep: audio-seconds per second",
    )
    parser.add_argument(
        "--rq-workers",
        type=int,
        default=5,
        help="RQ worker processes (default 5: two per slot at 2 slots, plus one)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=30.0,
        help="seconds to wait for other CPU load to stop before each sample",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.cases = 1, "tiny-mp3,tiny-wav"
    if args.gpu:
        args.reps, args.cases = 1, "gpu"
    args.case_list = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.case_list) - {*ALL_CASES, "gpu"}
    if unknown or not args.case_list or args.reps < 1 or args.rq_workers < 1:
        parser.error(f"bad --cases/--reps/--rq-workers ({', '.join(unknown)})")
    return args


def credits_needed(cases: Sequence[str], reps: int) -> int:
    """Credits the run spends, with a margin."""
    jobs = sum(reps for c in cases if c in PAIR_CASES or c == "gpu")
    if "ft" in cases:
        jobs += 2 * reps
    if "concurrency" in cases:
        jobs += 2 * reps * CONCURRENT_JOBS
    return jobs + 5


def run_cases(
    product: PipelineProduct, args: argparse.Namespace, tmp: Path, stack: ExitStack
) -> dict[str, Any]:
    """Set the product up and run each chosen case; {case: result}."""
    product.setup(credits_needed(args.case_list, args.reps))
    product.start_django()
    floor: InProcessFloor | None = None
    if any(PAIR_CASES.get(c) and PAIR_CASES[c].floor_target for c in args.case_list):
        floor = InProcessFloor(product.logs / "floor.log")
        stack.callback(floor.close)
    results: dict[str, Any] = {}
    for name in args.case_list:
        if name in PAIR_CASES or name == "gpu":
            case = PAIR_CASES.get(name, GPU_CASE)
            results[name] = run_pair_case(
                product, case, args.reps, tmp, args.max_wait, floor
            )
        elif name == "ft":
            results[name] = run_ft_case(product, args.reps, tmp, args.max_wait)
        else:
            results[name] = run_concurrency_case(product, args.reps, tmp, args.max_wait)
    return results


def _device() -> str:
    done = subprocess.run(
        [PY, "-c", "import torch; print(torch.cuda.get_device_name(0) "
         "if torch.cuda.is_available() else 'cpu')"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


def run(args: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    """Start the product, run the chosen cases, return the summary."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="muxbench-")))
    product = PipelineProduct(tmp, args.rq_workers)
    stack.callback(product.close)
    try:
        results = run_cases(product, args, tmp, stack)
    except BaseException:
        keep_logs(product.logs)
        raise
    return {
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "device": _device(),
        },
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
    print(f"\n[bench] device: {summary['machine']['device']}")
    for name, result in summary["cases"].items():
        if name == "concurrency":
            print_concurrency(result)
        elif name == "ft":
            print_ft(result)
        else:
            print_pair(name, result)
    path = write_results("pipeline", summary)
    print(f"\n[bench] results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
