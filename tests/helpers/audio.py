"""Audio files made in code for the tests: no recordings are shipped.

The song itself comes from devtools.audio, which the benchmarks share."""

import io
import struct
import subprocess  # noqa: S404 - ffmpeg makes the encoded test files
import zipfile
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

from devtools.audio import song, write_song

__all__ = ["song", "write_song"]


def song_bytes(tmp_path: Path, name: str = "song.wav", seconds: float = 5.0) -> bytes:
    return write_song(tmp_path / name, seconds).read_bytes()


# --- Malformed and adversarial inputs (tests/jobs/test_adversarial_inputs.py) ---


def wav_bytes(
    seconds: float = 1.0,
    rate: int = 44100,
    channels: int = 2,
    subtype: str = "PCM_16",
    silent: bool = False,
) -> bytes:
    """A WAV file in memory, of `song()` (or of silence) in the given layout."""
    audio = song(seconds, rate=rate, channels=channels)
    buffer = io.BytesIO()
    sf.write(buffer, audio * 0 if silent else audio, rate, subtype, format="WAV")
    return buffer.getvalue()


def encoded_bytes(tmp_path: Path, extension: str, seconds: float = 1.0) -> bytes:
    """`song()` encoded by ffmpeg as mp3, flac, m4a… (whatever `extension` says)."""
    source = write_song(tmp_path / "encode-source.wav", seconds)
    target = tmp_path / f"encoded.{extension}"
    argv = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(source), str(target)]
    subprocess.run(argv, check=True, timeout=60)  # noqa: S603
    return target.read_bytes()


def wav_header(
    *,
    rate: int = 44100,
    channels: int = 2,
    bits: int = 16,
    data_bytes: int | None = None,
    payload: bytes = b"",
) -> bytes:
    """A hand-made WAV: the header says what it is told, whatever follows it."""
    declared = len(payload) if data_bytes is None else data_bytes
    block = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH",
        1,
        channels,
        rate & 0xFFFFFFFF,
        (rate * block) & 0xFFFFFFFF,
        block,
        bits,
    )
    riff_size = (4 + 8 + len(fmt) + 8 + declared) & 0xFFFFFFFF
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", declared & 0xFFFFFFFF)
        + payload
    )


def png_bytes() -> bytes:
    """A valid 1x1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("song.flac", b"fLaC" + b"\x00" * 2000)
    return buffer.getvalue()


def random_bytes(size: int, seed: int = 7) -> bytes:
    return np.random.default_rng(seed).bytes(size)
