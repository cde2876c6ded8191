"""The stemworker separates only the web side's canonical decode (issue 12).

Whatever else it is handed (an upload as it came, a WAV whose header hides
samples, a song past MAX_AUDIO_MINUTES, a FIFO) fails with a message and never
reaches demucs: the fake CLI, which writes argv.json first, is never called.
"""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from stemworker import messages
from tests.helpers.stemworker import AUTH, wait_done, write_wav


def _separate(client: TestClient, path: Path, sep_id: str) -> dict[str, Any]:
    payload = {"id": sep_id, "input_path": str(path), "model": "htdemucs"}
    response = client.post("/separations", json=payload, headers=AUTH)
    assert response.status_code == 202, response.text
    return wait_done(client, sep_id)


def _mp3(path: Path) -> Path:
    source = write_wav(path.with_suffix(".wav"), seconds=1.0)
    argv = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(source), str(path)]
    subprocess.run(argv, check=True, timeout=60)  # noqa: S603
    source.unlink()
    return path


def _pcm16(path: Path) -> Path:
    sf.write(str(path), sf.read(str(write_wav(path)))[0], 44100, subtype="PCM_16")
    return path


def _mono(path: Path) -> Path:
    sf.write(str(path), sf.read(str(write_wav(path)))[0][:, 0], 44100, "FLOAT")
    return path


def _hides_samples(path: Path) -> Path:
    """A canonical header declaring 0.1 s, with 10 s of samples behind it."""
    write_wav(path, seconds=10.0)
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", int(0.1 * 44100) * 8)
    path.write_bytes(bytes(data))
    return path


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


REFUSED: list[tuple[str, Callable[[Path], Path], str]] = [
    ("an-upload-as-it-came", _mp3, "input.mp3"),
    ("16-bit", _pcm16, "input.wav"),
    ("mono", _mono, "input.wav"),
    ("header-hides-samples", _hides_samples, "input.wav"),
    ("a-fifo", _fifo, "input.wav"),
]


@pytest.mark.parametrize(
    ("make", "name"), [pytest.param(*case[1:], id=case[0]) for case in REFUSED]
)
def test_anything_but_a_canonical_file_never_reaches_demucs(
    client: TestClient, shared_root: Path, make: Callable[[Path], Path], name: str
) -> None:
    path = make(shared_root / "uploads" / "j" / name)
    data = _separate(client, path, "refused")
    assert (data["status"], data["error"]) == ("failed", messages.UNREADABLE)
    assert data["log"].startswith("refused: ")
    assert not (shared_root / "work" / "refused" / "argv.json").exists()


def test_a_canonical_file_past_max_audio_minutes_is_refused(
    make_client: Callable[..., TestClient], shared_root: Path
) -> None:
    client = make_client(MAX_AUDIO_MINUTES="0")
    path = write_wav(shared_root / "uploads" / "j" / "input.wav", seconds=1.0)
    data = _separate(client, path, "long")
    assert (data["status"], data["error"]) == ("failed", messages.too_long(0))
    assert not (shared_root / "work" / "long" / "argv.json").exists()


def test_a_canonical_file_within_the_cap_is_separated(
    client: TestClient, shared_root: Path
) -> None:
    path = write_wav(shared_root / "uploads" / "j" / "input.wav", seconds=1.0)
    data = _separate(client, path, "fine")
    assert data["status"] == "succeeded", data
    assert (shared_root / "work" / "fine" / "argv.json").exists()
