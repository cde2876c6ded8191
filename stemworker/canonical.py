"""The only input the stemworker separates: the web side's canonical decode.

Every upload is decoded on the web side into 32-bit float WAV, stereo, 44.1 kHz
(jobs/decoding.py), and its length is what that decoding counted. Here we check
it again before demucs sees it: anything else (an upload handed over as it came,
a file whose header hides more samples than it declares, a song past
MAX_AUDIO_MINUTES) is refused, so demucs never falls back on its own ffmpeg
call and never decodes more than the cap.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from . import messages

SAMPLE_RATE = 44100
CHANNELS = 2
SUBTYPE = "FLOAT"
BYTES_PER_FRAME = CHANNELS * 4
# The RIFF and fmt chunks, libsndfile's PEAK chunk and a little slack: a file
# larger than its frames by more than this carries samples it does not declare.
HEADER_ALLOWANCE_BYTES = 4096
_ERRORS = (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError)


@dataclass(frozen=True)
class Refusal:
    """Why an input is not separated: `message` for people, `detail` for the log."""

    message: str
    detail: str


def canonical_refusal(path: Path, *, max_seconds: float) -> Refusal | None:
    """Why `path` may not be separated, or None when it is a canonical file
    of at most `max_seconds`."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return Refusal(messages.MISSING, "the input file does not exist")
    except OSError as error:
        return Refusal(messages.UNREADABLE, f"the input cannot be read: {error}")
    if not stat.S_ISREG(found.st_mode):
        # Never opened: a FIFO or a device would block or never end.
        return Refusal(messages.UNREADABLE, "the input is not a regular file")
    not_canonical = Refusal(
        messages.UNREADABLE,
        "the input is not a canonical file (32-bit float WAV, stereo, 44.1 kHz, "
        "as jobs/decoding.py writes): refused before demucs could decode it",
    )
    try:
        with path.open("rb") as file:
            head = file.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return not_canonical
        info = sf.info(str(path))
    except _ERRORS:
        return not_canonical
    shape = (info.format, info.subtype, info.samplerate, info.channels)
    if shape != ("WAV", SUBTYPE, SAMPLE_RATE, CHANNELS) or info.frames <= 0:
        return not_canonical
    if found.st_size > info.frames * BYTES_PER_FRAME + HEADER_ALLOWANCE_BYTES:
        return Refusal(
            messages.UNREADABLE,
            f"the input holds {found.st_size} bytes, more than its header's "
            f"{info.frames} frames need: refused",
        )
    if info.frames > max_seconds * SAMPLE_RATE:
        return Refusal(
            messages.too_long(max_seconds),
            f"the input is {info.frames / SAMPLE_RATE:.1f} s long, past "
            f"MAX_AUDIO_MINUTES ({max_seconds / 60:g})",
        )
    return None
