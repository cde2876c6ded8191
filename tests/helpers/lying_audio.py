"""Real audio files whose containers lie about their length, made in code.

Each format lies in the ways its container allows: a header field that counts
samples, frames or time, rewritten to claim `claim` seconds while the file
holds `seconds` of audio (issue 12: a FLAC claiming 10 s held 30 minutes).
"""

import struct
import subprocess  # noqa: S404 - ffmpeg makes the encoded files
from collections.abc import Callable
from pathlib import Path

# Cheap to make and small to upload: 8 kHz mono, as an attacker would choose.
RATE = 8000


def encoded(tmp: Path, extension: str, seconds: float, *codec: str) -> bytes:
    """`seconds` of a quiet tone at 8 kHz mono, encoded by ffmpeg."""
    target = tmp / f"lying-source-{seconds:g}.{extension}"
    argv = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi"]
    argv += ["-i", f"sine=frequency=220:sample_rate={RATE}:duration={seconds}"]
    argv += ["-ac", "1", *codec, str(target)]
    subprocess.run(argv, check=True, timeout=120)  # noqa: S603
    return target.read_bytes()


# --- WAV: the RIFF and data chunk sizes --------------------------------------------


def wav_data_size(data: bytes, claim: float) -> bytes:
    """The data chunk says `claim` seconds; every sample is still there."""
    out = bytearray(data)
    at = out.index(b"data")
    out[at + 4 : at + 8] = struct.pack("<I", int(claim * RATE) * 2)
    return bytes(out)


def wav_streamed(data: bytes, claim: float) -> bytes:
    """Sizes a recorder writes before it knows the length (0xFFFFFFFF)."""
    out = bytearray(data)
    out[4:8] = b"\xff\xff\xff\xff"
    at = out.index(b"data")
    out[at + 4 : at + 8] = b"\xff\xff\xff\xff"
    return bytes(out)


# --- AIFF: the COMM chunk's frame count ------------------------------------------


def aiff_frames(data: bytes, claim: float) -> bytes:
    out = bytearray(data)
    at = out.index(b"COMM")
    # COMM: size (4), channels (2), numSampleFrames (4), ...
    out[at + 10 : at + 14] = struct.pack(">I", int(claim * RATE))
    return bytes(out)


# --- FLAC: STREAMINFO's total samples --------------------------------------------


def flac_total_samples(data: bytes, claim: float | None) -> bytes:
    """STREAMINFO's 36-bit sample count says `claim` s (None: "unknown", 0)."""
    out = bytearray(data)
    assert out[:4] == b"fLaC"  # noqa: S101 - ffmpeg wrote it
    packed = int.from_bytes(out[18:26], "big")
    total = 0 if claim is None else int(claim * RATE)
    packed = (packed & ~((1 << 36) - 1)) | total
    out[18:26] = packed.to_bytes(8, "big")
    return bytes(out)


def flac_unknown(data: bytes, claim: float) -> bytes:
    return flac_total_samples(data, None)


# --- MP3: the Xing/Info frame count -----------------------------------------------


def mp3_xing_frames(data: bytes, claim: float) -> bytes:
    out = bytearray(data)
    at = out.find(b"Xing")
    at = at if at >= 0 else out.index(b"Info")
    flags = int.from_bytes(out[at + 4 : at + 8], "big")
    assert flags & 1  # noqa: S101 - ffmpeg writes the frame count
    # MPEG-2 layer III at 8 kHz: 576 samples per frame.
    out[at + 8 : at + 12] = struct.pack(">I", round(claim * RATE / 576))
    return bytes(out)


# --- Ogg (Vorbis, Opus): the last page's granule position --------------------------


def ogg_last_granule(data: bytes, claim: float, *, rate: int = RATE) -> bytes:
    """The last page says the stream ends at `claim` s (its CRC made right)."""
    out = bytearray(data)
    at = out.rindex(b"OggS")
    out[at + 6 : at + 14] = struct.pack("<q", int(claim * rate))
    segments = out[at + 26]
    size = 27 + segments + sum(out[at + 27 : at + 27 + segments])
    out[at + 22 : at + 26] = b"\0\0\0\0"
    out[at + 22 : at + 26] = struct.pack("<I", _ogg_crc(bytes(out[at : at + size])))
    return bytes(out)


def opus_last_granule(data: bytes, claim: float) -> bytes:
    return ogg_last_granule(data, claim, rate=48000)  # Opus counts at 48 kHz


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


# --- MP4/M4A: the movie, track and media header durations --------------------------


def mp4_durations(data: bytes, claim: float) -> bytes:
    """mvhd, tkhd and mdhd all say `claim` s; the sample table is untouched."""
    out = bytearray(data)
    for atom in (b"mvhd", b"mdhd"):
        at = out.index(atom)
        version = out[at + 4]
        assert version == 0  # noqa: S101 - ffmpeg writes version 0 for short files
        timescale = struct.unpack(">I", out[at + 16 : at + 20])[0]
        out[at + 20 : at + 24] = struct.pack(">I", int(claim * timescale))
        if atom == b"mvhd":
            movie_scale = timescale
    at = out.index(b"tkhd")
    out[at + 24 : at + 28] = struct.pack(">I", int(claim * movie_scale))
    return bytes(out)


Lie = Callable[[bytes, float], bytes]

# (id, extension, ffmpeg codec options, the lie)
LIES: list[tuple[str, str, tuple[str, ...], Lie]] = [
    ("wav-data-size", "wav", (), wav_data_size),
    ("wav-streamed-sizes", "wav", (), wav_streamed),
    ("aiff-comm-frames", "aiff", (), aiff_frames),
    ("flac-streaminfo", "flac", (), flac_total_samples),
    ("flac-unknown-length", "flac", (), flac_unknown),
    ("mp3-xing-frames", "mp3", ("-b:a", "8k"), mp3_xing_frames),
    ("ogg-vorbis-granule", "ogg", ("-c:a", "libvorbis"), ogg_last_granule),
    ("opus-granule", "opus", ("-b:a", "6k"), opus_last_granule),
    ("m4a-header-durations", "m4a", ("-b:a", "16k"), mp4_durations),
]
