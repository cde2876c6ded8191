"""What uploads we take, and the waveform peaks of the stems we serve.

Uploads are decoded by jobs/decoding.py, whatever their extension says.
"""

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

# The extensions an upload may have; its content decides how it is decoded.
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


def peak_blocks(
    audio: sf.SoundFile, points: int = PEAK_POINTS
) -> Iterator[tuple[np.ndarray, float]]:
    """`audio`'s samples (float32, frames x channels) in `points` blocks or
    fewer, each with its peak (max |sample|, 0..1), reading one block at a time."""
    bucket = max(1, math.ceil(audio.frames / points))
    for block in audio.blocks(blocksize=bucket, dtype="float32", always_2d=True):
        peak = float(np.abs(block).max()) if block.size else 0.0
        yield block, min(1.0, round(peak, 3))


def compute_peaks(path: Path, points: int = PEAK_POINTS) -> tuple[list[float], float]:
    """Waveform peaks (max |sample| per bucket, 0..1) and the duration in seconds.

    Reads the file in blocks, so memory stays small whatever the length.
    """
    with sf.SoundFile(str(path)) as audio:
        peaks = [peak for _, peak in peak_blocks(audio, points)]
        rate = audio.samplerate
        return peaks, audio.frames / rate if rate else 0.0
