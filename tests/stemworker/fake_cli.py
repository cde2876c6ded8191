"""A stand-in for ``demucs.separate.main`` used by the stemworker unit tests.

Its behaviour depends on the input file's name: ``slow*`` sleeps (to be killed or
timed out), ``garbage*`` fails like demucs on undecodable audio, ``nothing*``
exits 0 without writing, anything else writes four small stem files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

SOURCES = ["drums", "bass", "other", "vocals"]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("track", type=Path)
    parser.add_argument("--repo")
    parser.add_argument("-n", "--name")
    parser.add_argument("-o", "--out", type=Path)
    parser.add_argument("--filename")
    parser.add_argument("--two-stems", dest="stem")
    parser.add_argument("-d", "--device")
    parser.add_argument("-j", "--jobs", type=int)
    parser.add_argument("--mp3", action="store_true")
    parser.add_argument("--flac", action="store_true")
    parser.add_argument("--float32", action="store_true")
    parser.add_argument("--segment", type=int)
    parser.add_argument("--overlap", type=float)
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    """Pretend to separate ``argv``'s track."""
    args = _parse(argv)
    (args.out / "argv.json").write_text(json.dumps(argv))
    kind = args.track.name
    if not args.track.exists():  # like demucs: a message, exit 0, nothing written
        sys.stderr.write(f"File {args.track} does not exist.\n")
        return
    if kind.startswith("slow"):
        sys.stderr.write("  0%|          | 0.0/5.85 [00:00<?, ?seconds/s]")
        sys.stderr.flush()
        time.sleep(120)
    if kind.startswith("garbage"):
        sys.stderr.write("demucs.audio.LoadAudioError: could not be read\n")
        sys.exit(1)
    if kind.startswith("nothing"):
        return
    ext = "mp3" if args.mp3 else "flac" if args.flac else "wav"
    stems = [args.stem, f"no_{args.stem}"] if args.stem else SOURCES
    folder = args.out / args.name
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        (folder / args.filename.format(stem=stem, ext=ext)).write_bytes(b"x" * 10)
    sys.stderr.write("100%|##########| 5.85/5.85 [00:00<00:00]\n")
