"""What tempo and key detection costs (jobs/analysis.py), against reading the stems.

A song made in code (`--seconds`, default 180) of four stems as demucs writes
them (float WAV, 44.1 kHz stereo: drums, bass, chords as `other`, a lead as
`vocals`) at 124 BPM in D minor, analysed by `song_analyse`:

- `read`: reading the four stems and nothing else (soundfile, float32): the
  baseline, measured in the same run;
- `cold`: the first `song_analyse` in a fresh process (librosa imported, not
  timed; numba's compiled code loaded from its on-disk cache);
- `cold, no cache`: the same with an empty numba cache, as a fresh container's
  first job pays it when nothing was warmed (NUMBA_CACHE_DIR set to a new folder);
- `warm`: after `analysis_warm_up()`, the median of `--reps` (default 5) calls.

Target: warm under 2 s for a 3-minute song (PASS/MISS; a MISS still exits 0).
The cold figures are shown for the worker's first job, with the import time.

    .venv/bin/python bench/analysis.py [--seconds 180] [--reps 5]

Results: a table on stdout and bench/results/analysis-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
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

STEMS = ("drums", "bass", "other", "vocals")
BPM, KEY = 124.0, "D minor"
TARGET_S = 2.0


def write_stems(folder: Path, seconds: float) -> None:
    """Four stems of a 124 BPM song in D minor (i-iv-V-i), one chord a bar."""
    import numpy as np
    import soundfile as sf

    rate, beat = 44100, 60.0 / BPM
    frames = int(seconds * rate)
    rng = np.random.default_rng(5)
    tracks = {name: np.zeros(frames) for name in STEMS}

    def add(name: str, at: float, sound: np.ndarray, gain: float) -> None:
        start = int(at * rate)
        end = min(frames, start + len(sound))
        if start < end:
            tracks[name][start:end] += gain * sound[: end - start]

    def tone(freq: float, length: float, decay: float) -> np.ndarray:
        t = np.arange(int(length * rate)) / rate
        wave = sum(np.sin(2 * np.pi * k * freq * t) / k for k in range(1, 5))
        return wave * np.minimum(t / 0.01, 1) * np.exp(-t / decay)

    t = np.arange(int(0.3 * rate)) / rate
    kick = np.sin(2 * np.pi * np.cumsum(50 + 90 * np.exp(-t / 0.03)) / rate)
    kick *= np.exp(-t / 0.12)
    snare = np.diff(rng.normal(0, 1, len(t) + 1)) * np.exp(-t / 0.07) * 0.5
    hat = np.diff(rng.normal(0, 1, len(t) + 2), 2)[: len(t)] * np.exp(-t / 0.015) * 0.1
    # D minor: i (D F A), iv (G Bb D), V (A C# E), i; MIDI notes.
    chords = [(62, 65, 69), (67, 70, 62), (69, 61, 64), (62, 65, 69)]
    scale = (62, 64, 65, 67, 69, 70, 72)
    for number in range(int(seconds / beat) + 1):
        at = number * beat
        chord = chords[number // 4 % 4]
        add("drums", at, kick if number % 2 == 0 else snare, 0.5)
        for eighth in (0, beat / 2):
            add("drums", at + eighth, hat, 0.4)
            add(
                "bass",
                at + eighth,
                tone(440 * 2 ** ((chord[0] - 93) / 12), beat / 2, 0.3),
                0.3,
            )
        if number % 2 == 0:
            for note in chord:
                add(
                    "other", at, tone(440 * 2 ** ((note - 69) / 12), 2 * beat, 1.0), 0.1
                )
        lead = scale[rng.integers(len(scale))]
        add("vocals", at, tone(440 * 2 ** ((lead - 69) / 12), beat, 0.5), 0.15)
    for name, mono in tracks.items():
        stereo = np.stack([mono, 0.9 * mono], axis=1).astype("float32")
        sf.write(str(folder / f"{name}.wav"), stereo, rate, "FLOAT")


def child(case: str, folder: Path, reps: int) -> None:
    """One fresh process: prints its figures as JSON on the last line."""
    import soundfile as sf

    paths = [(name, folder / f"{name}.wav") for name in STEMS]
    if case == "read":
        samples = []
        for _ in range(reps):
            started = time.perf_counter()
            for _, path in paths:
                sf.read(str(path), dtype="float32")
            samples.append(time.perf_counter() - started)
        print(json.dumps({"samples_s": samples}))
        return
    started = time.perf_counter()
    from jobs.analysis import analysis_warm_up, song_analyse

    imported = time.perf_counter() - started
    if case == "warm":
        analysis_warm_up()
        samples, result = [], None
        for _ in range(reps):
            started = time.perf_counter()
            result = song_analyse(paths)
            samples.append(time.perf_counter() - started)
    else:
        started = time.perf_counter()
        result = song_analyse(paths)
        samples = [time.perf_counter() - started]
    print(
        json.dumps({"samples_s": samples, "import_s": imported, "result": str(result)})
    )


def _sample(case: str, folder: Path, reps: int) -> dict[str, Any]:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="muxminus-bench-numba-") as cache:
        if case == "cold, no cache":
            env["NUMBA_CACHE_DIR"] = cache
        argv = [sys.executable, __file__, "--child", case, "--folder", str(folder)]
        argv += ["--reps", str(reps)]
        out = subprocess.run(
            argv, check=True, timeout=900, capture_output=True, text=True, env=env
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--max-wait", type=float, default=30.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(opts.child, opts.folder, opts.reps)
        return
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="muxminus-bench-analysis-") as name:
        folder = Path(name)
        write_stems(folder, opts.seconds)
        # "cold" after "warm": the warm run leaves numba's on-disk cache filled.
        for case in ("read", "cold, no cache", "warm", "cold"):
            load = wait_quiet(opts.max_wait)
            measured = _sample(case, folder, opts.reps)
            samples = measured["samples_s"]
            rows.append(
                {
                    "case": case,
                    "median_s": statistics.median(samples),
                    "samples_s": samples,
                    "import_s": measured.get("import_s"),
                    "result": measured.get("result"),
                    "others_cores_last": load,
                }
            )
    baseline = rows[0]["median_s"]
    warm = next(row for row in rows if row["case"] == "warm")
    print(
        f"song_analyse on a {opts.seconds:g} s four-stem song (float WAV), truth "
        f"{BPM:g} BPM {KEY}; warm = median of {opts.reps}; ratio to reading the stems"
    )
    print(f"{'case':15} {'seconds':>8} {'x read':>8} {'import s':>9}  answer")
    for row in rows:
        row["ratio_to_read"] = row["median_s"] / baseline
        imported = f"{row['import_s']:.2f}" if row["import_s"] is not None else "-"
        print(
            f"{row['case']:15} {row['median_s']:8.2f} {row['ratio_to_read']:8.1f} "
            f"{imported:>9}  {row['result'] or ''}"
        )
    verdict = "PASS" if warm["median_s"] <= TARGET_S else "MISS"
    print(f"target: warm <= {TARGET_S:g} s: {verdict} ({warm['median_s']:.2f} s)")
    summary = {
        "seconds": opts.seconds,
        "reps": opts.reps,
        "target_s": TARGET_S,
        "verdict": verdict,
        "rows": rows,
    }
    path = write_results("analysis", summary)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
