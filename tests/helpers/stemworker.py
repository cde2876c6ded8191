"""Constants and helpers shared by the stemworker tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile

TOKEN = "test-token"  # noqa: S105 - a test fixture, not a secret
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAKE_CLI = Path(__file__).parents[1] / "stemworker" / "fake_cli.py"
TINY_REPO = Path(os.environ.get("MUXMINUS_TINY_MODELS", "/tmp/muxminus-tiny-models"))  # noqa: S108


def write_wav(path: Path, seconds: float = 5.0) -> Path:
    """Write stereo 44.1 kHz noise (random but reproducible) in the canonical
    format, the only input the stemworker separates (stemworker/canonical.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((int(44100 * seconds), 2)) * 0.1
    soundfile.write(path, audio.astype("float32"), 44100, subtype="FLOAT")
    return path
