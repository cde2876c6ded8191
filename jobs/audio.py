"""Reading audio files we are handed: duration probes and waveform peaks."""

import math
import shutil
import subprocess  # noqa: S404 - ffprobe with a fixed argv, for formats soundfile lacks
from pathlib import Path

import numpy as np
import soundfile as sf

# What demucs can read (m4a/opus/aac need ffmpeg on the stemworker).
ACCEPTED_EXTENSIONS = (
    "mp3",
    "wav",
    "flac",
    "ogg",
    "oga",
    "opus",
    "m4a",
    "aac",
    "aif",
    "aiff",
)
MIN_DURATION_SECONDS = 0.1
PEAK_POINTS = 400


class UnreadableAudio(Exception):
    """The file is not audio we can separate."""


def probe_duration(path: Path) -> float:
    """Seconds of audio in `path`; raises UnreadableAudio when it can't be decoded."""
    duration = _soundfile_duration(path)
    if duration is None:
        duration = _ffprobe_duration(path)
    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise UnreadableAudio("This file could not be read as audio.")
    return duration


def _soundfile_duration(path: Path) -> float | None:
    try:
        with sf.SoundFile(str(path)) as audio:
            if audio.frames <= 0 or audio.samplerate <= 0:
                return None
            # Decode a little, so a valid header over garbage is caught here.
            audio.read(frames=min(audio.frames, audio.samplerate), dtype="float32")
            return audio.frames / audio.samplerate
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        return None


def _ffprobe_duration(path: Path) -> float | None:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    argv = [
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "a:0",
        "-show_entries",
        "format=duration",
        "-of",
        "default=nw=1:nk=1",
        str(path),
    ]
    try:
        done = subprocess.run(  # noqa: S603
            argv, capture_output=True, text=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    try:
        return float(done.stdout.strip()) if done.returncode == 0 else None
    except ValueError:
        return None


def compute_peaks(path: Path, points: int = PEAK_POINTS) -> tuple[list[float], float]:
    """Waveform peaks (max |sample| per bucket, 0..1) and the duration in seconds.

    Reads the file in blocks, so memory stays small whatever the length.
    """
    with sf.SoundFile(str(path)) as audio:
        frames, rate = audio.frames, audio.samplerate
        bucket = max(1, math.ceil(frames / points))
        peaks = [
            round(float(np.abs(block).max()) if block.size else 0.0, 3)
            for block in audio.blocks(blocksize=bucket, dtype="float32", always_2d=True)
        ]
    return [min(1.0, p) for p in peaks], frames / rate if rate else 0.0
