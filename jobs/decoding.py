"""Every upload decoded by us into one canonical PCM file, before it is admitted.

A header says how long a file is; only decoding knows. A FLAC whose STREAMINFO
claims 10 s can hold 30 minutes, an mp3's Xing frame count can say anything, and
demucs decodes whatever is there. So the length we record, charge for and derive
every time limit from is the number of samples our own decoder produced, and
demucs only ever reads the file we wrote: 32-bit float WAV, stereo, 44.1 kHz,
the format demucs separates in (stemworker/canonical.py checks it again).

The decoder is ffmpeg, run as tightly as it runs: the container format forced
from our own look at the first bytes (never guessed by ffmpeg), local files
only, the first audio stream only, output cut just past MAX_AUDIO_MINUTES, a
wall-clock timeout, a CPU-time and a memory limit. We count the samples as they
arrive and stop as soon as the cap is passed.
"""

import json
import logging
import math
import shutil
import subprocess  # noqa: S404 - ffmpeg/ffprobe with a fixed argv, no shell
import sys
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import soundfile as sf

logger = logging.getLogger(__name__)

# The canonical file: what demucs separates in (every htdemucs model is
# 44.1 kHz stereo). Float, so the overs of a loud mp3 are kept, not clipped.
SAMPLE_RATE = 44100
CHANNELS = 2
SUBTYPE = "FLOAT"
BYTES_PER_FRAME = CHANNELS * 4
# A RIFF size field is 32 bits: a canonical WAV holds at most this much.
LONGEST_CANONICAL_SECONDS = (2**32 - 4096) // (BYTES_PER_FRAME * SAMPLE_RATE)

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 384000
# A container that announces its length and decodes to less than this share of
# it was cut off (an interrupted upload or download): refused, with a reason.
COMPLETE_SHARE = 2 / 3
MEMORY_LIMIT_BYTES = 1 << 30
# Decoding runs at 25 to 300 times real time here (bench/decoding.py); the
# limit is for a decoder that hangs or crawls, not for a slow machine.
BASE_TIMEOUT_SECONDS = 30.0
TIMEOUT_SECONDS_PER_MINUTE = 3.0
PROBE_TIMEOUT_SECONDS = 30.0
READ_BYTES = 1 << 20
STDERR_LINES = 20

# The forced demuxer per signature (see _sniff). Only these ever open a file.
DEMUXERS = ("wav", "w64", "aiff", "flac", "ogg", "mov", "mp3", "aac")
_W64_GUID = bytes.fromhex("726966662e91cf11a5d628db04c10000")

# Sets the limits, then becomes ffmpeg: no Python code runs in a forked child
# of a threaded server (what preexec_fn would do), and rlimits survive exec.
_LIMITED_EXEC = (
    "import os,resource,sys;"
    "m,c=int(sys.argv[1]),int(sys.argv[2]);"
    "resource.setrlimit(resource.RLIMIT_AS,(m,m));"
    "resource.setrlimit(resource.RLIMIT_CPU,(c,c+1));"
    "os.execv(sys.argv[3],sys.argv[3:])"
)


class UnreadableAudio(Exception):
    """The file is not audio we can separate; `reason` follows the file's name."""

    def __init__(self, reason: str = "could not be read as audio") -> None:
        super().__init__(reason)
        self.reason = reason


class AudioTooLong(Exception):
    """More than `limit_seconds` decoded; `announced` is what the header said."""

    def __init__(self, *, limit_seconds: float, announced: float | None) -> None:
        super().__init__(f"longer than {limit_seconds} s")
        self.limit_seconds = limit_seconds
        self.announced = announced


@dataclass(frozen=True)
class Decoded:
    """What decoding found: the canonical file's length, and the source's shape."""

    seconds: float
    frames: int
    source_format: str
    source_rate: int
    source_channels: int
    announced_seconds: float | None


@dataclass(frozen=True)
class _Header:
    rate: int
    channels: int
    announced: float | None


def ffmpeg_binaries() -> tuple[str, str] | None:
    """ffmpeg and ffprobe, or None where either is missing."""
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    return (ffmpeg, ffprobe) if ffmpeg and ffprobe else None


def decode_timeout_seconds(limit_seconds: float) -> float:
    return BASE_TIMEOUT_SECONDS + TIMEOUT_SECONDS_PER_MINUTE * limit_seconds / 60


def canonical_decode(source: Path, target: Path, *, limit_seconds: float) -> Decoded:
    """Decode `source` into the canonical WAV at `target`, counting every sample.

    Raises UnreadableAudio (with the reason) or AudioTooLong, and then leaves no
    `target` behind. `limit_seconds` is the most audio accepted: decoding stops
    as soon as it is passed.
    """
    binaries = ffmpeg_binaries()
    if binaries is None:
        raise RuntimeError("ffmpeg and ffprobe are needed to decode uploads")
    ffmpeg, ffprobe = binaries
    demuxer = _sniff(source)
    if demuxer is None:
        raise UnreadableAudio()
    header = _probe(ffprobe, source, demuxer)
    try:
        frames, failed = _decode(ffmpeg, source, target, demuxer, header, limit_seconds)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    seconds = frames / SAMPLE_RATE
    problem = _incomplete(frames, failed, header)
    if problem is not None:
        target.unlink(missing_ok=True)
        raise UnreadableAudio(problem)
    return Decoded(
        seconds=seconds,
        frames=frames,
        source_format=demuxer,
        source_rate=header.rate,
        source_channels=header.channels,
        announced_seconds=header.announced,
    )


# --- What the file is: our own look at its first bytes -----------------------------


def _sniff(path: Path) -> str | None:
    """The ffmpeg demuxer for this file's signature, or None: never a guess."""
    with path.open("rb") as file:
        head = file.read(64)
        if head.startswith(b"ID3") and len(head) >= 10:
            # An ID3v2 tag may precede mp3, AAC and FLAC; look behind it.
            size = _syncsafe(head[6:10]) + 10 + (10 if head[5] & 0x10 else 0)
            file.seek(size)
            behind = file.read(64)
            found = _signature(behind)
            return found if found in ("mp3", "aac", "flac") else None
    return _signature(head)


def _syncsafe(data: bytes) -> int:
    return (data[0] << 21) | (data[1] << 14) | (data[2] << 7) | data[3]


def _signature(head: bytes) -> str | None:  # noqa: PLR0911 - one line per format
    if len(head) < 12:
        return None
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(_W64_GUID):
        return "w64"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mov"
    if head[:4] == b"ADIF":
        return "aac"
    if head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # Frame sync: layer bits 00 are AAC in ADTS, anything else MPEG audio.
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    return None


# --- What its header says ----------------------------------------------------------


def _probe(ffprobe: str, path: Path, demuxer: str) -> _Header:
    argv = [
        ffprobe,
        "-v",
        "error",
        *_input_options(demuxer),
        "-select_streams",
        "a:0",
        "-show_entries",
        "format=duration:stream=sample_rate,channels",
        "-of",
        "json",
        "-i",
        str(path),
    ]
    done = _run_limited(argv, timeout=PROBE_TIMEOUT_SECONDS)
    if done is None or done.returncode != 0:
        raise UnreadableAudio()
    try:
        found = json.loads(done.stdout)
        stream = found["streams"][0]
        rate, channels = int(stream["sample_rate"]), int(stream["channels"])
        announced: float | None = float(found.get("format", {}).get("duration", "nan"))
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise UnreadableAudio() from error
    if announced is not None and not (math.isfinite(announced) and announced > 0):
        announced = None
    if channels < 1:
        raise UnreadableAudio("is damaged: its header describes no audio channel")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise UnreadableAudio(
            f"has a sample rate of {rate} Hz; use a file between "
            f"{MIN_SAMPLE_RATE // 1000} and {MAX_SAMPLE_RATE // 1000} kHz"
        )
    return _Header(rate=rate, channels=channels, announced=announced)


def _input_options(demuxer: str) -> list[str]:
    # Forced format, local files only: an upload that is really a playlist or
    # a reference to another file never makes ffmpeg open anything else.
    return [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        demuxer,
        "-f",
        demuxer,
    ]


# --- The samples themselves ----------------------------------------------------------


def _decode(
    ffmpeg: str,
    source: Path,
    target: Path,
    demuxer: str,
    header: _Header,
    limit_seconds: float,
) -> tuple[int, bool]:
    """Write the canonical file; return the frames written and whether ffmpeg
    failed. Raises AudioTooLong past the limit, UnreadableAudio on a timeout."""
    limit_frames = math.floor(limit_seconds * SAMPLE_RATE)
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-threads", "1"]
    argv += [*_input_options(demuxer), "-i", str(source)]
    argv += ["-map", "0:a:0", "-vn", "-sn", "-dn"]
    # One second past the cap is enough to know it was passed.
    argv += ["-t", f"{limit_seconds + 1:.3f}"]
    if header.channels == 1:
        # Both sides at full level (-ac 2 would lower a mono file by 3 dB).
        argv += ["-af", "pan=stereo|c0=c0|c1=c0"]
    argv += ["-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE)]
    argv += ["-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]
    timeout = decode_timeout_seconds(limit_seconds)
    process = _start_limited(argv, cpu_seconds=timeout)
    errors: deque[str] = deque(maxlen=STDERR_LINES)
    reader = threading.Thread(target=_keep_tail, args=(process.stderr, errors))
    reader.start()
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout, expire)
    timer.start()
    frames, too_long = 0, False
    try:
        with sf.SoundFile(
            str(target),
            "w",
            samplerate=SAMPLE_RATE,
            channels=CHANNELS,
            subtype=SUBTYPE,
            format="WAV",
        ) as out:
            frames, too_long = _copy_counting(process, out, limit_frames)
    except BaseException:
        process.kill()
        raise
    finally:
        if too_long:
            process.kill()
        # Bounded: the timer kills a decoder that outlives its time.
        returncode = process.wait()
        timer.cancel()
        reader.join()
        _close(process)
    if too_long:
        raise AudioTooLong(limit_seconds=limit_seconds, announced=header.announced)
    if timed_out.is_set():
        raise UnreadableAudio(
            "took too long to decode; convert it to FLAC or WAV and upload it again"
        )
    failed = returncode != 0
    if failed:
        tail = " | ".join(errors)
        logger.info("ffmpeg exited %s on %s: %s", returncode, source, tail)
    return frames, failed


def _copy_counting(
    process: subprocess.Popen[bytes], out: sf.SoundFile, limit_frames: int
) -> tuple[int, bool]:
    stdout = process.stdout
    assert stdout is not None  # noqa: S101 - set by Popen(stdout=PIPE)
    frames, rest = 0, b""
    while chunk := stdout.read(READ_BYTES):
        data = rest + chunk
        whole = len(data) - len(data) % BYTES_PER_FRAME
        rest = data[whole:]
        block = np.frombuffer(data[:whole], dtype="<f4").reshape(-1, CHANNELS)
        if frames + len(block) > limit_frames:
            return frames + len(block), True
        out.write(block)
        frames += len(block)
    return frames, False


def _incomplete(frames: int, failed: bool, header: _Header) -> str | None:
    """Why a decode that ended short is refused, or None when it is whole."""
    seconds = frames / SAMPLE_RATE
    if frames == 0:
        return "could not be read as audio"
    if failed:
        return (
            f"is incomplete or damaged: decoding fails after {_span(seconds)}."
            " Upload the complete file again"
        )
    announced = header.announced
    if announced is not None and seconds < announced * COMPLETE_SHARE:
        return (
            f"is incomplete or damaged: its header announces {_span(announced)}"
            f" of audio, but decoding stops at {_span(seconds)}. Upload the"
            " complete file again"
        )
    return None


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


# --- Running ffmpeg under limits -----------------------------------------------------


def _limited_argv(argv: list[str], *, cpu_seconds: float) -> list[str]:
    return [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _LIMITED_EXEC,
        str(MEMORY_LIMIT_BYTES),
        str(math.ceil(cpu_seconds)),
        *argv,
    ]


def _start_limited(argv: list[str], *, cpu_seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - fixed argv of our own, no shell
        _limited_argv(argv, cpu_seconds=cpu_seconds),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _run_limited(
    argv: list[str], *, timeout: float
) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(  # noqa: S603 - fixed argv of our own, no shell
            _limited_argv(argv, cpu_seconds=timeout),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None


def _keep_tail(stream: IO[bytes] | None, lines: deque[str]) -> None:
    if stream is None:
        return
    for line in stream:
        lines.append(line.decode(errors="replace").rstrip())


def _close(process: subprocess.Popen[Any]) -> None:
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
