"""Constants and helpers shared by the stemworker tests."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

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


def wait_done(client: TestClient, sep_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll a stemworker until the separation leaves 'running'."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = client.get(f"/separations/{sep_id}", headers=AUTH).json()
        if data["status"] != "running":
            return data
        time.sleep(0.1)
    raise AssertionError(f"{sep_id} still running after {timeout}s")
