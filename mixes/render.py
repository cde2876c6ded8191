"""The signal side of a mix: a finished job's stems, summed, cut, stretched, encoded.

The chosen stems are summed with their gains and nothing else: no
normalisation (ffmpeg's `amix` divides by the number of inputs, which made a
competitor's exports quieter), so every stem at gain 1 gives back the song
demucs separated. Only where the sum would clip (a true peak over
`CEILING_DBTP`) does a look-ahead limiter lower it, just there; every other
sample is the plain sum.

Stems are read block by block (soundfile, which follows an mp3's gapless tag),
and limiting and encoding stream too, so a long song costs a few blocks of
memory (137 MB peak for a 20-minute song, interpreter included). A tempo or key
change is the exception: Rubber Band's offline stretcher (pedalboard's
`time_stretch`, its best quality; pedalboard has no streaming one) takes the
whole region at once, in and out as float32 plus pedalboard's copies: 1.6 GB
peak for 20 minutes at 0.8x (bench/mix.py). Mixes are encoded by
jobs/encoding.py exactly as the stems are (LAME 320 kbps CBR, 16-bit WAV or
FLAC).
"""

import math
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pedalboard
import soundfile as sf

from jobs.encoding import _writer, pcm16

from .limiter import CEILING_DBTP, TruePeakLimiter

FORMATS = ("mp3", "wav", "flac")
MAX_GAIN = 2.0  # +6.02 dB
TEMPO_RANGE = (0.5, 1.5)
SEMITONE_RANGE = (-6, 6)
MIN_REGION_SECONDS = 0.1
# LAME's encoder delay (576) plus mpg123's decoder delay (529): the silence an
# mp3 without a gapless tag (lameenc writes none) starts with.
_MP3_UNTAGGED_DELAY = 1105
_BLOCK_FRAMES = 1 << 16
# The limiter aims this far under the ceiling: other meters' interpolators
# read broadband peaks up to ~0.05 dB higher than ours.
_METER_MARGIN_DB = 0.1
# A region may end this far past the song's measured end (rounding).
_END_SLACK_SECONDS = 0.01
# Of the work with a tempo or key change, the share before and after the
# stretch, and the stretch's usual cost (seconds per second of audio, 2 cores).
_SUM_SHARE, _ENCODE_SHARE = 0.05, 0.15
_STRETCH_SECONDS_PER_SECOND = 0.12


class MixRenderError(Exception):
    """The stems cannot be mixed: missing, unreadable or of different rates."""


@dataclass(frozen=True)
class MixSpec:
    gains: dict[str, float]  # stem name -> linear gain 0..2; others are left out
    start: float | None = None  # seconds of the song; None = from the start
    end: float | None = None  # seconds of the song; None = to the end
    tempo: float = 1.0  # 0.5..1.5, pitch kept
    semitones: int = 0  # -6..+6, tempo kept
    output_format: str = "mp3"  # mp3 (320 kbps CBR) | wav (16-bit PCM) | flac


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration: float  # seconds of the rendered file
    limited: bool  # the sum would have clipped and the limiter lowered it
    max_reduction_db: float  # the deepest cut the limiter made (0.0 when none)


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + " s"


def _gain_problems(gains: Mapping[str, float], stem_names: list[str]) -> list[str]:
    problems = []
    unknown = sorted(set(gains) - set(stem_names))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        problems.append(
            f"This song has no stem called {names}; "
            f"its stems are: {', '.join(stem_names) or 'none'}."
        )
    for name, gain in sorted(gains.items()):
        if not math.isfinite(gain) or not 0 <= gain <= MAX_GAIN:
            problems.append(
                f"The gain of {name!r} must be between 0 (muted) and {MAX_GAIN:g} "
                f"(+6 dB); it was {gain:g}."
            )
    # A gain out of range already says what to fix: not also "choose a stem".
    if not problems and not any(gain > 0 for gain in gains.values()):
        problems.append("Choose at least one stem to mix, with a gain above 0.")
    return problems


def _region_problems(spec: MixSpec, duration: float) -> list[str]:
    start, end = spec.start, spec.end
    for label, value in (("start", start), ("end", end)):
        if value is not None and not math.isfinite(value):
            return [f"The {label} of the region must be a number of seconds."]
    known = duration > 0  # an unmeasured song is checked only against itself
    problems = []
    if start is not None and start < 0:
        problems.append("The region cannot start before the song (0 s).")
    if known and start is not None and start >= duration:
        problems.append(
            f"The region starts at {_seconds(start)}, but the song is only "
            f"{_seconds(duration)} long."
        )
    if known and end is not None and end > duration + _END_SLACK_SECONDS:
        problems.append(
            f"The region ends at {_seconds(end)}, past the end of the song "
            f"({_seconds(duration)})."
        )
    if end is not None and end <= (start or 0.0):
        problems.append("The region must start before it ends.")
    if problems:
        return problems
    until = min(math.inf if end is None else end, duration if known else math.inf)
    if until - (start or 0.0) < MIN_REGION_SECONDS:
        problems.append(
            f"The region must be at least {_seconds(MIN_REGION_SECONDS)} long."
        )
    return problems


def mix_spec_problems(
    spec: MixSpec, stem_names: list[str], duration: float
) -> list[str]:
    """Everything wrong with `spec` for a song of these stems and `duration`
    seconds (0 when unknown), in words for the person who asked; [] when fine."""
    problems = _gain_problems(spec.gains, list(stem_names))
    problems += _region_problems(spec, duration)
    low, high = TEMPO_RANGE
    if not math.isfinite(spec.tempo) or not low <= spec.tempo <= high:
        problems.append(
            f"The tempo must be between {low:g}x and {high:g}x the original; "
            f"it was {spec.tempo:g}x."
        )
    low_st, high_st = SEMITONE_RANGE
    if int(spec.semitones) != spec.semitones or not low_st <= spec.semitones <= high_st:
        problems.append(
            f"The key change must be a whole number of semitones from {low_st} to "
            f"+{high_st}; it was {spec.semitones:g}."
        )
    if spec.output_format not in FORMATS:
        problems.append(
            f"The format must be one of {', '.join(FORMATS)}; "
            f"it was {spec.output_format!r}."
        )
    return problems


def _mp3_delay(path: Path) -> int:
    """Frames to skip at the start of an mp3 so it lines up with the song.

    A file with a Xing/Info tag is trimmed by the decoder itself; the stems
    lameenc writes have none and start with LAME's delay."""
    with path.open("rb") as file:
        head = file.read(1 << 16)
    offset = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        size = head[6:10]
        offset = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    first_frame = head[offset : offset + 200]
    return (
        0 if b"Xing" in first_frame or b"Info" in first_frame else _MP3_UNTAGGED_DELAY
    )


@dataclass
class _Stem:
    file: sf.SoundFile
    gain: float
    delay: int  # frames before the song's first one

    @property
    def frames(self) -> int:
        return max(0, self.file.frames - self.delay)


def _open_stems(stems: Mapping[str, Path], gains: Mapping[str, float]) -> list[_Stem]:
    chosen = {name: gain for name, gain in gains.items() if gain > 0}
    if not chosen:
        raise MixRenderError("no stem has a gain above 0")
    missing = sorted(set(chosen) - set(stems))
    if missing:
        raise MixRenderError(f"stems not given: {', '.join(missing)}")
    opened: list[_Stem] = []
    try:
        for name, gain in sorted(chosen.items()):
            path = Path(stems[name])
            file = sf.SoundFile(str(path))
            delay = _mp3_delay(path) if file.format == "MP3" else 0
            opened.append(_Stem(file=file, gain=float(gain), delay=delay))
            if file.channels not in (1, 2):
                raise MixRenderError(f"{name}: {file.channels} channels")
        if len({stem.file.samplerate for stem in opened}) != 1:
            raise MixRenderError("the stems have different sample rates")
    except (sf.LibsndfileError, RuntimeError, OSError, MixRenderError) as error:
        _close(opened)
        if isinstance(error, MixRenderError):
            raise
        raise MixRenderError(f"a stem cannot be read: {error}") from error
    return opened


def _close(stems: list[_Stem]) -> None:
    for stem in stems:
        stem.file.close()


def _summed_blocks(stems: list[_Stem], first: int, last: int) -> Iterator[np.ndarray]:
    """The gained sum of frames [first, last), stereo float32, block by block."""
    for stem in stems:
        stem.file.seek(min(stem.file.frames, stem.delay + first))
    for position in range(first, last, _BLOCK_FRAMES):
        count = min(_BLOCK_FRAMES, last - position)
        total = np.zeros((count, 2), dtype=np.float32)
        for stem in stems:
            block = stem.file.read(count, dtype="float32", always_2d=True)
            total[: len(block)] += block * np.float32(stem.gain)
        yield total


def _stretched(
    stems: list[_Stem],
    first: int,
    last: int,
    spec: MixSpec,
    report: Callable[[float], None],
) -> np.ndarray:
    """The whole region, summed and changed in tempo and key (frames x 2).

    Rubber Band runs in a thread (pedalboard releases the GIL) so that its
    progress, which it does not tell, can be estimated meanwhile."""
    total = np.zeros((2, last - first), dtype=np.float32)
    position = 0
    for block in _summed_blocks(stems, first, last):
        total[:, position : position + len(block)] = block.T
        position += len(block)
        report(_SUM_SHARE * position / max(1, last - first))
    samplerate = stems[0].file.samplerate
    expected = _STRETCH_SECONDS_PER_SECOND * total.shape[1] / samplerate
    share = 1 - _SUM_SHARE - _ENCODE_SHARE
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mix-stretch") as pool:
        started = time.monotonic()
        stretching = pool.submit(
            pedalboard.time_stretch,
            total,
            float(samplerate),
            stretch_factor=spec.tempo,
            pitch_shift_in_semitones=float(spec.semitones),
        )
        while True:
            try:
                return stretching.result(timeout=1.0).T
            except TimeoutError:
                guess = min(0.95, (time.monotonic() - started) / expected)
                report(_SUM_SHARE + share * guess)


def _frames_of_region(spec: MixSpec, samplerate: int, length: int) -> tuple[int, int]:
    first = 0 if spec.start is None else max(0, round(spec.start * samplerate))
    last = length if spec.end is None else min(length, round(spec.end * samplerate))
    if last <= first:
        raise MixRenderError("the region is empty")
    return first, last


def mix_render(
    stems: Mapping[str, Path],
    spec: MixSpec,
    dest: Path,
    progress: Callable[[float], None] | None = None,
) -> RenderResult:
    """Render `spec` of `stems` (name -> file) into `dest`, reporting 0..1.

    Stems not in `spec.gains`, or at gain 0, are left out. Raises
    MixRenderError when the stems cannot be mixed (`dest` is then removed);
    `spec` is assumed to have passed mix_spec_problems.
    """
    if spec.output_format not in FORMATS:
        raise MixRenderError(f"unknown format {spec.output_format!r}")
    report = progress or (lambda _fraction: None)
    opened = _open_stems(stems, spec.gains)
    try:
        samplerate = opened[0].file.samplerate
        first, last = _frames_of_region(
            spec, samplerate, max(stem.frames for stem in opened)
        )
        if spec.tempo != 1 or spec.semitones:
            audio = _stretched(opened, first, last, spec, report)
            offset, share = 1 - _ENCODE_SHARE, _ENCODE_SHARE
            blocks: Iterator[np.ndarray] = (
                audio[i : i + _BLOCK_FRAMES]
                for i in range(0, len(audio), _BLOCK_FRAMES)
            )
            frames = len(audio)
        else:
            offset, share = 0.0, 1.0
            blocks, frames = _summed_blocks(opened, first, last), last - first
        report(offset)
        limiter = _encode(
            blocks,
            dest,
            spec.output_format,
            samplerate,
            frames,
            lambda done: report(offset + share * done),
        )
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        dest.unlink(missing_ok=True)
        raise MixRenderError(f"the mix cannot be rendered: {error}") from error
    except MixRenderError:
        dest.unlink(missing_ok=True)
        raise
    finally:
        _close(opened)
    report(1.0)
    return RenderResult(
        path=dest,
        duration=frames / samplerate,
        limited=limiter.max_reduction_db < 0,
        max_reduction_db=round(limiter.max_reduction_db, 2),
    )


def _encode(
    blocks: Iterator[np.ndarray],
    dest: Path,
    output_format: str,
    samplerate: int,
    frames: int,
    report: Callable[[float], None],
) -> TruePeakLimiter:
    """Limit and write `blocks`. The encoder (LAME and libsndfile release the
    GIL) writes one block while the next is read and limited, in order."""
    limiter = TruePeakLimiter(samplerate, ceiling_dbtp=CEILING_DBTP - _METER_MARGIN_DB)
    writer = _writer(dest, output_format, samplerate, 2)
    written = 0
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mix-encode") as pool:
            pending: Future[None] | None = None
            for block in blocks:
                samples = pcm16(
                    limiter.process(np.ascontiguousarray(block, np.float32))
                )
                if pending is not None:
                    pending.result()  # one block in flight: memory stays bounded
                pending = pool.submit(writer.write, samples)
                written += len(block)
                report(written / max(1, frames))
            if pending is not None:
                pending.result()
        writer.write(pcm16(limiter.finish()))
    finally:
        writer.close()
    return limiter
