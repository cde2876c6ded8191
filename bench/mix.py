"""What rendering a mix costs (mixes/render.py), against ffmpeg doing the same sum.

A 3-minute song of four stems made in code (bass, chords, drums, a lead),
stored as the product stores stems (mp3 from jobs/encoding.py unless
`--stem-format` says otherwise), rendered to a 320 kbps mp3 of every stem:

- `decode`: reading the four stems and nothing else (soundfile, block by block);
- `ffmpeg`: `ffmpeg -i x4 -filter_complex amix=inputs=4:normalize=0` to a
  320 kbps mp3, the plain sum with no limiter, in one process: the baseline;
- `mix`: mix_render, all stems at gain 1 (sum, limiter, LAME);
- `tempo`, `key`, `tempo+key`: the same at 0.8x, at -2 semitones, and both
  (Rubber Band's offline stretcher through pedalboard).

Each sample is a fresh process (imports not timed), which also gives its peak
memory (max RSS, the interpreter and libraries included: compare with
`decode`). Medians of `--reps` (default 3); the ratio is to `ffmpeg`, measured
in the same run; `others` is the most CPU (cores) other processes used just
before a sample (the figures mean little when it is not near 0). `--cases`
picks some (comma-separated).

    .venv/bin/python bench/mix.py [--seconds 180] [--reps 3] [--stem-format mp3]

Results: a table on stdout and bench/results/mix-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.harness import wait_quiet, write_results  # noqa: E402

STEMS = ("vocals", "drums", "bass", "other")
CASES: dict[str, dict[str, float]] = {
    "mix": {},
    "tempo": {"tempo": 0.8},
    "key": {"semitones": -2},
    "tempo+key": {"tempo": 0.8, "semitones": -2},
}


def write_stems(folder: Path, seconds: float, fmt: str) -> dict[str, Path]:
    """Four stems of a song made in code, encoded as the product encodes stems."""
    import numpy as np
    import soundfile as sf

    from jobs.encoding import stem_encode

    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(3)
    beat = (np.sin(2 * np.pi * 2 * t) > 0.97) * rng.uniform(-1, 1, len(t))
    lead = np.sin(2 * np.pi * (440 + 30 * np.sin(2 * np.pi * 5 * t)) * t)
    audio = {
        "vocals": 0.2 * lead,
        "drums": 0.3 * beat,
        "bass": 0.3 * np.sin(2 * np.pi * 55 * t),
        "other": sum(0.08 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)),
    }
    paths = {}
    for name, mono in audio.items():
        source = folder / f"{name}.float.wav"
        sf.write(str(source), np.stack([mono, mono * 0.9], axis=1), rate, "FLOAT")
        paths[name] = folder / f"{name}.{fmt}"
        stem_encode(source, paths[name], fmt)
        source.unlink()
    return paths


def child(case: str, folder: Path) -> None:
    """One sample, in this fresh process: prints its seconds and max RSS."""
    import soundfile as sf

    from mixes.render import MixSpec, mix_render

    stems = {name: next(folder.glob(f"{name}.*")) for name in STEMS}
    started = time.perf_counter()
    if case == "decode":
        for path in stems.values():
            with sf.SoundFile(str(path)) as audio:
                for _ in audio.blocks(blocksize=1 << 16, dtype="float32"):
                    pass
    else:
        change = CASES[case]
        spec = MixSpec(
            gains=dict.fromkeys(STEMS, 1.0),
            tempo=change.get("tempo", 1.0),
            semitones=int(change.get("semitones", 0)),
        )
        mix_render(stems, spec, folder / "out" / f"{case}.mp3")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss_mb": _peak_rss_mb()}))


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: a child started by
    fork and exec inherits its parent's there."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _sample(case: str, folder: Path) -> tuple[float, float | None]:
    if case == "ffmpeg":
        argv = ["ffmpeg", "-nostdin", "-y", "-v", "error"]
        for name in STEMS:
            argv += ["-i", str(next(folder.glob(f"{name}.*")))]
        argv += ["-filter_complex", f"amix=inputs={len(STEMS)}:normalize=0"]
        argv += ["-c:a", "libmp3lame", "-b:a", "320k", str(folder / "out" / "ff.mp3")]
        started = time.perf_counter()
        subprocess.run(argv, check=True, timeout=600)
        return time.perf_counter() - started, None
    argv = [sys.executable, __file__, "--child", case, "--folder", str(folder)]
    out = subprocess.run(argv, check=True, timeout=600, capture_output=True, text=True)
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    return measured["seconds"], measured["rss_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--stem-format", default="mp3", choices=["mp3", "wav", "flac"])
    parser.add_argument("--max-wait", type=float, default=30.0)
    parser.add_argument("--cases", default=",".join(["decode", "ffmpeg", *CASES]))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(opts.child, opts.folder)
        return
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="muxminus-bench-mix-") as name:
        folder = Path(name)
        (folder / "out").mkdir()
        write_stems(folder, opts.seconds, opts.stem_format)
        for case in opts.cases.split(","):
            samples, memory, others = [], [], []
            for _ in range(opts.reps):
                others.append(wait_quiet(opts.max_wait))
                seconds, rss = _sample(case, folder)
                samples.append(seconds)
                if rss is not None:
                    memory.append(rss)
            rows.append(
                {
                    "case": case,
                    "median_s": statistics.median(samples),
                    "samples_s": samples,
                    "max_rss_mb": max(memory) if memory else None,
                    "others_cores_before": others,
                }
            )
    baseline = next((r["median_s"] for r in rows if r["case"] == "ffmpeg"), math.nan)
    print(
        f"mix of a {opts.seconds:g} s four-stem song ({opts.stem_format} stems) "
        f"to a 320 kbps mp3, medians of {opts.reps}; ratio to ffmpeg amix"
    )
    print(
        f"{'case':10} {'median s':>9} {'x ffmpeg':>9} {'x realtime':>11} "
        f"{'max RSS MB':>11} {'others':>7}"
    )
    for row in rows:
        row["ratio_to_ffmpeg"] = row["median_s"] / baseline
        rss = f"{row['max_rss_mb']:.0f}" if row["max_rss_mb"] else "-"
        print(
            f"{row['case']:10} {row['median_s']:9.2f} {row['ratio_to_ffmpeg']:9.2f} "
            f"{opts.seconds / row['median_s']:11.1f} {rss:>11} "
            f"{max(row['others_cores_before']):7.2f}"
        )
    summary = {"seconds": opts.seconds, "stem_format": opts.stem_format, "rows": rows}
    path = write_results("mix", summary)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
