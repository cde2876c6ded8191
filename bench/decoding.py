"""What canonical decoding costs per minute of audio, and the disk it needs.

Every upload is decoded by jobs/decoding.py into 32-bit float WAV, stereo,
44.1 kHz before it is admitted (issue 12). This bench times that against the
bare ffmpeg decode of the same file in the same run (the ratio is the price of
the probe, the limits and the counting), and against what demucs itself spent
reading the upload before (sphn, then ffmpeg where sphn fails: m4a), which
the stemworker now replaces with reading our canonical file.

    .venv/bin/python bench/decoding.py [--seconds 180] [--reps 5]

Results: a table on stdout and bench/results/decoding-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.harness import write_results  # noqa: E402
from devtools.audio import write_song  # noqa: E402
from jobs.decoding import canonical_decode  # noqa: E402

# What people upload, at the settings their tools default to.
FORMATS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "320k"],
    "flac": ["-c:a", "flac"],
    "wav": ["-c:a", "pcm_s16le"],
    "m4a": ["-c:a", "aac", "-b:a", "256k"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "6"],
    "opus": ["-c:a", "libopus", "-b:a", "160k"],
}
LIMIT_SECONDS = 20 * 60.0


def _median_seconds(run: Callable[[], Any], reps: int) -> float:
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _bare_ffmpeg(path: Path) -> None:
    argv = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path)]
    argv += ["-ac", "2", "-ar", "44100", "-f", "f32le", "-"]
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, timeout=600)  # noqa: S603


def _demucs_reads(path: Path) -> Callable[[], Any]:
    """demucs 4.1.0's reader: sphn, then its own ffmpeg call where sphn fails."""
    import sphn

    def read() -> Any:
        try:
            return sphn.read(str(path))
        except Exception:  # noqa: BLE001 - what demucs does: fall back on ffmpeg
            return _bare_ffmpeg(path)

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--reps", type=int, default=5)
    opts = parser.parse_args()
    minutes = opts.seconds / 60
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="muxminus-bench-decoding-") as folder:
        tmp = Path(folder)
        source = write_song(tmp / "source.wav", opts.seconds)
        canonical = tmp / "canonical.wav"
        for name, codec in FORMATS.items():
            upload = tmp / f"song.{name}"
            argv = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(source)]
            subprocess.run([*argv, *codec, str(upload)], check=True, timeout=600)  # noqa: S603
            ours = _median_seconds(
                lambda upload=upload: canonical_decode(
                    upload, canonical, limit_seconds=LIMIT_SECONDS
                ),
                opts.reps,
            )
            bare = _median_seconds(
                lambda upload=upload: _bare_ffmpeg(upload), opts.reps
            )
            before = _median_seconds(_demucs_reads(upload), opts.reps)
            after = _median_seconds(_demucs_reads(canonical), opts.reps)
            rows.append(
                {
                    "format": name,
                    "ours_s_per_min": ours / minutes,
                    "bare_ffmpeg_s_per_min": bare / minutes,
                    "ratio_ours_to_bare": ours / bare,
                    "demucs_read_upload_s_per_min": before / minutes,
                    "demucs_read_canonical_s_per_min": after / minutes,
                    "added_per_job_s_per_min": (ours + after - before) / minutes,
                    "upload_mb_per_min": upload.stat().st_size / 1e6 / minutes,
                    "canonical_mb_per_min": canonical.stat().st_size / 1e6 / minutes,
                }
            )
            canonical.unlink()
    print(
        f"canonical decoding of a {opts.seconds:g} s song, medians of {opts.reps}; "
        "seconds per minute of audio"
    )
    print(
        f"{'format':7} {'ours':>6} {'ffmpeg':>7} {'ratio':>6} "
        f"{'demucs read: upload':>20} {'canonical':>10} {'added':>7} "
        f"{'MB/min: upload':>15} {'canonical':>10}"
    )
    for row in rows:
        print(
            f"{row['format']:7} {row['ours_s_per_min']:6.3f} "
            f"{row['bare_ffmpeg_s_per_min']:7.3f} {row['ratio_ours_to_bare']:6.2f} "
            f"{row['demucs_read_upload_s_per_min']:20.3f} "
            f"{row['demucs_read_canonical_s_per_min']:10.3f} "
            f"{row['added_per_job_s_per_min']:7.3f} "
            f"{row['upload_mb_per_min']:15.2f} {row['canonical_mb_per_min']:10.2f}"
        )
    path = write_results("decoding", {"seconds": opts.seconds, "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
