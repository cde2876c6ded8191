"""What the object store adds to a job, against the filesystem backend, in one run.

A job on STORAGE_BACKEND=s3 moves its files through the bucket where the
filesystem backend renames them: the web stores the decoded input, a host
fetches it, stores each stem, and every download is a presign instead of a
file served. This bench times exactly those calls of jobs/store.py on both
backends, for one song of `--seconds` (the canonical float WAV in, four 320
kbps mp3 stems out), median of `--reps`, and prints the store's added seconds
per job and its ratio to the filesystem's.

The S3 server is moto's (devtools/s3_server.py: a Python server on 127.0.0.1).
It is much slower than S3, MinIO or R2 near the hosts, so the seconds here
are an upper bound on the calls' own cost; a real store adds the network
between host and bucket (about 8 s per 100 MB at 100 Mbit/s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
os.environ.setdefault("STEMWORKER_TOKEN", "bench-only")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

STEM_BYTES_PER_SECOND = 320_000 // 8  # 320 kbps mp3
INPUT_BYTES_PER_SECOND = 44_100 * 2 * 4  # canonical: float32 stereo 44.1 kHz
STEMS = ("drums", "bass", "other", "vocals")


def _file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(os.urandom(1 << 20) * (size >> 20))
        out.write(os.urandom(size % (1 << 20)))
    return path


def one_job(files: Any, scratch: Path, seconds: float, job: str) -> dict[str, float]:
    """The store's calls for one job, each timed."""
    timings: dict[str, float] = {}

    def timed(name: str, action: Callable[[], object]) -> None:
        started = time.perf_counter()
        action()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started

    upload = _file(
        scratch / "tmp" / f"{job}.wav", int(seconds * INPUT_BYTES_PER_SECOND)
    )
    key = f"uploads/{job}/input.wav"
    timed("store input", lambda: files.keep(key, upload, content_type="audio/wav"))
    local = scratch / "host" / "uploads" / job / "input.wav"
    timed("fetch input", lambda: files.fetch(key, local))
    for stem in STEMS:
        made = _file(
            scratch / "outputs" / job / f"{stem}.mp3",
            int(seconds * STEM_BYTES_PER_SECOND),
        )
        stem_key = f"outputs/{job}/{stem}.mp3"
        timed(
            "store stems",
            lambda made=made, stem_key=stem_key: files.keep(
                stem_key, made, content_type="audio/mpeg"
            ),
        )
        timed(
            "presign (x4)",
            lambda stem_key=stem_key: files.download_url(
                stem_key,
                filename="x.mp3",
                content_type="audio/mpeg",
                as_attachment=True,
            ),
        )
    timed(
        "delete",
        lambda: (files.remove(f"uploads/{job}"), files.remove(f"outputs/{job}")),
    )
    shutil.rmtree(scratch / "host", ignore_errors=True)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--reps", type=int, default=3)
    opts = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from bench.harness import write_results
    from devtools.s3_server import KEY_ID, REGION, SECRET, s3_server_running
    from jobs.store import FilesystemStore, S3Store

    rows: dict[str, list[dict[str, float]]] = {"filesystem": [], "s3": []}
    with tempfile.TemporaryDirectory(prefix="muxminus-bench-store-") as name:
        scratch = Path(name)
        with s3_server_running() as server:
            bucket = server.bucket_create()
            settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = KEY_ID, SECRET
            backends = {
                "filesystem": FilesystemStore(scratch),
                "s3": S3Store(
                    bucket=bucket,
                    endpoint_url=server.endpoint_url,
                    region=REGION,
                    presign_seconds=300,
                ),
            }
            for rep in range(opts.reps):
                for backend, files in backends.items():
                    rows[backend].append(
                        one_job(files, scratch, opts.seconds, f"j{rep}")
                    )
    phases = list(rows["s3"][0])
    medians = {
        backend: {phase: statistics.median(r[phase] for r in runs) for phase in phases}
        for backend, runs in rows.items()
    }
    size_mb = opts.seconds * (INPUT_BYTES_PER_SECOND + 4 * STEM_BYTES_PER_SECOND) / 1e6
    print(
        f"store calls for one {opts.seconds:g} s job ({size_mb:.0f} MB moved), "
        f"median of {opts.reps}; s3 = moto's server on 127.0.0.1"
    )
    print(f"{'phase':14} {'filesystem s':>13} {'s3 s':>8} {'added s':>8}")
    for phase in phases:
        fs, s3 = medians["filesystem"][phase], medians["s3"][phase]
        print(f"{phase:14} {fs:13.3f} {s3:8.3f} {s3 - fs:8.3f}")
    total_fs = sum(medians["filesystem"].values())
    total_s3 = sum(medians["s3"].values())
    print(
        f"{'per job':14} {total_fs:13.3f} {total_s3:8.3f} {total_s3 - total_fs:8.3f}"
        f"  (s3 / filesystem: {total_s3 / max(total_fs, 1e-9):.0f}x)"
    )
    path = write_results(
        "store",
        {"seconds": opts.seconds, "reps": opts.reps, "medians": medians, "rows": rows},
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
