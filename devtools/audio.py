"""A song made in code, for tests and benchmarks: no recordings are shipped."""

from pathlib import Path

import numpy as np
import soundfile as sf


def song(seconds: float = 5.0, rate: int = 44100, channels: int = 2) -> np.ndarray:
    """A few seconds of a small 'band': bass, a chord, clicks and a wobbling lead."""
    t = np.arange(int(seconds * rate)) / rate
    bass = 0.3 * np.sin(2 * np.pi * 55 * t)
    chord = sum(0.1 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
    clicks = 0.4 * (np.sin(2 * np.pi * 2 * t) > 0.995)
    lead = 0.2 * np.sin(2 * np.pi * (440 + 30 * np.sin(2 * np.pi * 5 * t)) * t)
    mono = (bass + chord + clicks + lead) * 0.6
    return np.stack([mono] * channels, axis=1).astype("float32")


def write_song(path: Path, seconds: float = 5.0, **kwargs: int) -> Path:
    rate = kwargs.get("rate", 44100)
    sf.write(str(path), song(seconds, **kwargs), rate)
    return path


def write_canonical(path: Path, seconds: float = 5.0) -> Path:
    """The song as the web side hands it to the stemworker: 32-bit float WAV,
    stereo, 44.1 kHz (jobs/decoding.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), song(seconds), 44100, subtype="FLOAT", format="WAV")
    return path
