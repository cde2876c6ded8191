"""Stems in the format a person asked for, and their waveform peaks, in one pass.

The stemworker leaves each stem as a WAV in the separation's work folder: 32-bit
float when mp3 or flac was asked (encoded here, every stem at once, while the
stemworker's slot already runs the next separation), 16-bit when wav was asked
(that is the file people get). Each stem is read once, and the same samples give
its encoded file and its peaks: no mp3 is decoded again to draw a waveform.

The files are the ones demucs' CLI writes (demucs/audio.py): demucs has already
applied its clip handling to the float samples; 16-bit samples are
clamp(-1, 1) * 32767, truncated; mp3 is LAME at 320 kbps CBR, quality 2, from
those 16-bit samples; flac is 16-bit. One thread per stem: LAME and libsndfile
release the GIL, and threads measured as fast as processes on two cores
(bench/README.md).
"""

import logging
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import lameenc
import numpy as np
import soundfile as sf

from jobs.audio import compute_peaks, peak_blocks

logger = logging.getLogger(__name__)

MP3_BITRATE_KBPS = 320
MP3_QUALITY = 2  # LAME's algorithm quality: demucs' default --mp3-preset
_PCM16_SCALE = 2**15 - 1


class StemUnreadable(Exception):
    """A stem the stemworker wrote could not be read or encoded."""


@dataclass(frozen=True)
class FinishedStem:
    """A stem in its final place and format, measured."""

    name: str
    path: Path
    duration_seconds: float
    peaks: list[float]


class _Writer(Protocol):
    def write(self, pcm16: np.ndarray) -> None: ...

    def close(self) -> None: ...


class _Mp3Writer:
    """LAME, fed block by block: the same bitstream as one call on the whole stem."""

    def __init__(self, path: Path, *, samplerate: int, channels: int) -> None:
        self._encoder = lameenc.Encoder()
        self._encoder.set_bit_rate(MP3_BITRATE_KBPS)
        self._encoder.set_in_sample_rate(samplerate)
        self._encoder.set_channels(channels)
        self._encoder.set_quality(MP3_QUALITY)
        self._encoder.silence()
        self._file = path.open("wb")

    def write(self, pcm16: np.ndarray) -> None:
        self._file.write(self._encoder.encode(pcm16.tobytes()))

    def close(self) -> None:
        try:
            self._file.write(self._encoder.flush())
        finally:
            self._file.close()


class _SoundfileWriter:
    """16-bit FLAC or WAV through libsndfile, given the 16-bit samples as they are."""

    def __init__(
        self, path: Path, *, samplerate: int, channels: int, container: str
    ) -> None:
        self._file = sf.SoundFile(
            str(path),
            "w",
            samplerate=samplerate,
            channels=channels,
            subtype="PCM_16",
            format=container,
        )

    def write(self, pcm16: np.ndarray) -> None:
        self._file.write(pcm16)

    def close(self) -> None:
        self._file.close()


def _writer(path: Path, output_format: str, samplerate: int, channels: int) -> _Writer:
    if output_format == "mp3":
        return _Mp3Writer(path, samplerate=samplerate, channels=channels)
    container = {"flac": "FLAC", "wav": "WAV"}[output_format]
    return _SoundfileWriter(
        path, samplerate=samplerate, channels=channels, container=container
    )


def pcm16(block: np.ndarray) -> np.ndarray:
    """Float samples as demucs turns them into 16-bit ones (truncated, not rounded)."""
    return (np.clip(block, -1.0, 1.0) * _PCM16_SCALE).astype("<i2")


def stem_encode(
    source: Path, target: Path, output_format: str
) -> tuple[list[float], float]:
    """Encode the WAV `source` into `target` in `output_format`; its peaks and
    duration. `target` appears whole or not at all; `source` is left in place."""
    partial = target.with_name(f".{target.name}.part")
    try:
        with sf.SoundFile(str(source)) as audio:
            writer = _writer(partial, output_format, audio.samplerate, audio.channels)
            try:
                peaks = []
                for block, peak in peak_blocks(audio):
                    writer.write(pcm16(block))
                    peaks.append(peak)
            finally:
                writer.close()
            duration = audio.frames / audio.samplerate if audio.samplerate else 0.0
        os.replace(partial, target)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise StemUnreadable(f"{source.name}: {error}") from error
    return peaks, duration


def stem_finish(
    source: Path, target: Path, output_format: str
) -> tuple[list[float], float]:
    """Put one stem at `target` in `output_format`; its peaks and duration.

    A stem already in that format is moved; a WAV in another is encoded, then
    removed. Safe to repeat: a retry finds the target already there.
    """
    if source.exists() and source.suffix.lstrip(".") != output_format:
        peaks, duration = stem_encode(source, target, output_format)
        source.unlink()
        return peaks, duration
    if source.exists() or not target.exists():
        shutil.move(source, target)
    try:
        return compute_peaks(target)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise StemUnreadable(f"{target.name}: {error}") from error


def stems_finish(
    stems: Sequence[tuple[str, Path]], folder: Path, output_format: str
) -> list[FinishedStem]:
    """Every stem into `folder` as `<name>.<output_format>`, all at once.

    Raises StemUnreadable when one cannot be read or encoded; the stems already
    finished stay in `folder` for the caller to keep or remove.
    """
    folder.mkdir(parents=True, exist_ok=True)
    targets = [(name, folder / f"{name}.{output_format}") for name, _ in stems]

    def finish(index: int) -> tuple[list[float], float]:
        return stem_finish(stems[index][1], targets[index][1], output_format)

    with ThreadPoolExecutor(
        max_workers=max(1, len(stems)), thread_name_prefix="stem-encode"
    ) as pool:
        measured = list(pool.map(finish, range(len(stems))))
    return [
        FinishedStem(name=name, path=path, duration_seconds=duration, peaks=peaks)
        for (name, path), (peaks, duration) in zip(targets, measured, strict=True)
    ]
