"""What uploads we take, and the waveform peaks of the stems we serve.

Uploads are decoded by jobs/decoding.py, whatever their extension says.
"""

import math
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
