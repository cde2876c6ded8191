"""Reading audio files we are handed: duration and decode probes, waveform peaks."""

import json
import math
import shutil
import subprocess  # noqa: S404 - ffmpeg/ffprobe with a fixed argv, for formats soundfile lacks
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 384000
PEAK_POINTS = 400
# Seconds decoded from the start of every upload (and from the end, where the
# format counts its length exactly): enough to catch a damaged or cut file,
# a few milliseconds for a wav or mp3.
HEAD_SECONDS = 3.0
TAIL_SECONDS = 1.0
BLOCK_SAMPLES = 1 << 20
FFMPEG_TIMEOUT_SECONDS = 30
# ffmpeg guesses the format from the bytes: only audio demuxers, only local
# files, so an upload that is really a playlist never makes it open anything else.
FFMPEG_SAFETY = (
    "-protocol_whitelist",
    "file",
    "-format_whitelist",
    "mp3,wav,w64,flac,ogg,mov,aac,aiff",
)
SOUNDFILE_ERRORS = (sf.LibsndfileError, RuntimeError, ValueError, TypeError)


class UnreadableAudio(Exception):
    """The file is not audio we can separate; `reason` follows the file's name."""

    def __init__(self, reason: str = "could not be read as audio") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Header:
    duration: float
    samplerate: int
    channels: int
    exact: bool  # the length is counted, not estimated from a bitrate (mp3)


def probe_duration(path: Path) -> float:
    """Seconds of audio in `path`, once its start (and its end, where the length is
    exact) has really decoded; raises UnreadableAudio, with the reason, otherwise.

    A header alone passes a truncated or lying file that then fails in demucs.
    soundfile decodes the common formats in-process; whatever it cannot read, or
    reads short, gets a second opinion from ffmpeg (which demucs falls back on).
    """
    header = _soundfile_header(path)
    if header is not None:
        _check_header(header)
        if _soundfile_decodes(path, header):
            return header.duration
    probed = _ffprobe_header(path)
    if probed is None:
        raise UnreadableAudio()
    _check_header(probed)
    _ffmpeg_check(path, probed, tail=header is not None and header.exact)
    return probed.duration


def _check_header(header: _Header) -> None:
    if not math.isfinite(header.duration) or header.duration <= 0:
        raise UnreadableAudio()
    if header.channels < 1:
        raise UnreadableAudio("is damaged: its header describes no audio channel")
    if not MIN_SAMPLE_RATE <= header.samplerate <= MAX_SAMPLE_RATE:
        raise UnreadableAudio(
            f"has a sample rate of {header.samplerate} Hz; use a file between "
            f"{MIN_SAMPLE_RATE // 1000} and {MAX_SAMPLE_RATE // 1000} kHz"
        )


def _soundfile_header(path: Path) -> _Header | None:
    try:
        with sf.SoundFile(str(path)) as audio:
            if audio.frames <= 0 or audio.samplerate <= 0:
                return None
            return _Header(
                duration=audio.frames / audio.samplerate,
                samplerate=audio.samplerate,
                channels=audio.channels,
                exact=audio.format != "MP3",
            )
    except SOUNDFILE_ERRORS:
        return None


def _soundfile_decodes(path: Path, header: _Header) -> bool:
    """Whether the first HEAD_SECONDS (and, if exact, the last second) decode whole."""
    try:
        with sf.SoundFile(str(path)) as audio:
            head = min(audio.frames, round(HEAD_SECONDS * audio.samplerate))
            if _frames_decoded(audio, head) < head:
                return False
            tail = min(audio.frames - head, round(TAIL_SECONDS * audio.samplerate))
            if header.exact and tail > 0:
                audio.seek(audio.frames - tail)
                return _frames_decoded(audio, tail) == tail
            return True
    except SOUNDFILE_ERRORS:
        return False


def _frames_decoded(audio: sf.SoundFile, frames: int) -> int:
    # In blocks: a header may claim hundreds of channels at 384 kHz.
    block = max(1, BLOCK_SAMPLES // audio.channels)
    done = 0
    while done < frames:
        got = len(audio.read(frames=min(block, frames - done), dtype="float32"))
        if got == 0:
            break
        done += got
    return done


def _ffprobe_header(path: Path) -> _Header | None:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    argv = [
        ffprobe,
        "-v",
        "error",
        *FFMPEG_SAFETY,
        "-select_streams",
        "a:0",
        "-show_entries",
        "format=duration:stream=sample_rate,channels",
        "-of",
        "json",
        str(path),
    ]
    done = _run(argv)
    if done is None or done.returncode != 0:
        return None
    try:
        found = json.loads(done.stdout)
        stream = found["streams"][0]
        return _Header(
            duration=float(found["format"]["duration"]),
            samplerate=int(stream["sample_rate"]),
            channels=int(stream["channels"]),
            exact=False,
        )
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _ffmpeg_check(path: Path, header: _Header, *, tail: bool) -> None:
    """Raise UnreadableAudio unless ffmpeg decodes the start (and the end if `tail`)."""
    expected = min(HEAD_SECONDS, header.duration)
    decoded = _ffmpeg_decoded_seconds(path, start=0.0, seconds=expected)
    if decoded is None or decoded < 0.02:
        raise UnreadableAudio()
    complete = decoded >= expected * 0.9 - 0.05
    if complete and tail and header.duration > HEAD_SECONDS + TAIL_SECONDS:
        ending = _ffmpeg_decoded_seconds(
            path, start=header.duration - 2 * TAIL_SECONDS, seconds=TAIL_SECONDS
        )
        complete = (ending or 0.0) >= TAIL_SECONDS / 2
    if not complete:
        raise UnreadableAudio(
            f"is incomplete or damaged: its header announces {_span(header.duration)}"
            " of audio, but decoding stops early. Upload the complete file again"
        )


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _ffmpeg_decoded_seconds(
    path: Path, *, start: float, seconds: float
) -> float | None:
    """How many seconds ffmpeg decodes from `start`, at most `seconds`."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    rate = 8000  # mono 8 kHz 16-bit: a cheap count of what decoded
    argv = [ffmpeg, "-nostdin", "-v", "error", *FFMPEG_SAFETY]
    if start > 0:
        argv += ["-ss", f"{start:.3f}"]
    argv += ["-i", str(path), "-map", "0:a:0", "-t", f"{seconds:.3f}"]
    argv += ["-ac", "1", "-ar", str(rate), "-f", "s16le", "-"]
    done = _run(argv, text=False)
    if done is None:
        return None
    return len(done.stdout) / (2 * rate)


def _run(
    argv: list[str], *, text: bool = True
) -> subprocess.CompletedProcess[Any] | None:
    try:
        return subprocess.run(  # noqa: S603
            argv,
            capture_output=True,
            text=text,
            timeout=FFMPEG_TIMEOUT_SECONDS,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
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
