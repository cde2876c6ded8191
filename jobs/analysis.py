"""Tempo and key of a separated song, from its stems (issue 17).

Pure: stems in, an `Analysis` out; no models, no settings. librosa does the
signal work (decoding, onset envelope, percussive/harmonic split, chroma); this
module only chooses what to feed it and how to read the answer.

Tempo comes from the drums stem when the job has one, else from the percussive
part of the sum of the stems that are not vocals. Its onset envelope (spectral
flux on a level-aware log scale) is autocorrelated, and the peaks between 60
and 200 BPM are the candidate beats. Half and double tempo (octave errors) are
told apart the way a drummer's pattern shows them: the beat is the fastest
candidate that repeats nearly as well as the best one (8th-note hats repeat
less well than kick and snare together) and whose pulse the envelope's
spectrum confirms (half the beat has little energy at its own frequency). 1.5
times that tempo wins when its bars (four of its beats) repeat better: a kick
on every dotted quarter can outweigh the beat. The winning period is then
refined over its first eight multiples.

Key comes from the harmonic stems (never drums; vocals at half weight): their
mean chroma is correlated with the 24 rotations of the Albrecht & Shanahan
(2013) major and minor key profiles, the Krumhansl-Schmuckler method with
profiles measured on a pop and classical corpus, which tell relative and
parallel keys apart better than Krumhansl's probe-tone ratings.

The envelope is low-passed at 16 Hz first: a separation's stems carry a ripple
at demucs' STFT frame rate (43 Hz) whose autocorrelation, on poor stems, beat
the beat's (129 BPM read for 124 at a confidence of 0.84). The tempo's
confidence is how well the envelope repeats after one beat, two or a bar.

Either answer is None, with a low confidence, when the evidence is weak (and the
tempo when the song is under 10 s): no answer is better than a wrong one.
Call `analysis_warm_up()` once when a worker process starts: librosa's numba
code costs seconds on its first call.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# librosa's numba functions cache their machine code beside librosa's sources,
# else under $HOME; where neither is writable (the image's app user) importing
# librosa fails with "no locator available". A default under the temp dir works
# everywhere; a deployment may point it at a volume to keep the cache.
os.environ.setdefault(
    "NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "muxminus-numba")
)

import librosa  # noqa: E402
import scipy.ndimage  # noqa: E402
import scipy.signal  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

RATE = 22050  # tempo: hats and snares keep their edges up to 11 kHz
KEY_RATE = 11025  # key: chroma needs nothing above 5 kHz
HOP = 256
FPS = RATE / HOP  # onset-envelope frames per second
TEMPO_MIN, TEMPO_MAX = 60.0, 200.0
STRONG_REPEAT = 0.8  # a candidate repeats at least this much as well as the best one
PULSE_SHARE = 0.5  # and has at least this share of the best candidate's pulse energy
THREE_HALVES_REPEAT = 0.5  # see _three_halves
MIN_BPM_CONFIDENCE = 0.5
MIN_TEMPO_SECONDS = 10.0  # fewer than three bars at 60 BPM is no evidence of a tempo
ENVELOPE_CUTOFF_HZ = 16.0
MIN_KEY_CONFIDENCE = 0.25
SILENCE_RMS = 1e-4  # -80 dBFS: a stem this quiet says nothing

NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Albrecht & Shanahan (2013), Music Perception 31(1): pitch-class distributions
# of major and minor passages, tonic first.
MAJOR_PROFILE = np.array(
    [0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]
)
MINOR_PROFILE = np.array(
    [0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]
)
PERCUSSIVE = {"drums"}
VOCAL_WEIGHT = 0.5


_ENVELOPE_LOW_PASS = scipy.signal.butter(4, ENVELOPE_CUTOFF_HZ, fs=FPS, output="sos")


@dataclass(frozen=True)
class Analysis:
    bpm: float | None  # None when unsure (better no answer than a wrong one)
    bpm_confidence: float  # 0..1
    key: str | None  # e.g. "A minor", "F# major" (sharps), None when unsure
    key_confidence: float  # 0..1


def song_analyse(stems: Sequence[tuple[str, Path]]) -> Analysis:
    """Tempo and key of one job's stems ((name, path) pairs as demucs writes them).

    Reads each stem once, mono at 22.05 kHz (any rate, any channel count).
    Raises what soundfile raises on an unreadable file; an empty `stems` gives
    an Analysis of Nones."""
    audio = {name: _decode(path) for name, path in stems}
    drums = any(name in PERCUSSIVE for name in audio)
    bpm, bpm_confidence = tempo_estimate(_tempo_source(audio), percussive=drums)
    key, key_confidence = key_estimate(_key_source(audio))
    return Analysis(
        bpm=bpm,
        bpm_confidence=round(bpm_confidence, 3),
        key=key,
        key_confidence=round(key_confidence, 3),
    )


def analysis_warm_up() -> None:
    """Runs the whole analysis once on two seconds made in memory, so that a
    worker's first real song does not pay for numba's compiling or loading."""
    t = np.arange(2 * RATE) / RATE
    clicks = (np.sin(2 * np.pi * 2 * t) > 0.99).astype(np.float32)
    tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    tempo_estimate(clicks + tone, percussive=False)
    tempo_estimate(clicks + tone, percussive=True)
    key_estimate(tone)


def _decode(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    # Column by column: numpy's mean over a 2-wide axis is ten times slower.
    mono = audio[:, 0].copy()
    for channel in range(1, audio.shape[1]):
        mono += audio[:, channel]
    mono /= audio.shape[1]
    return soxr.resample(mono, rate, RATE, quality="HQ") if rate != RATE else mono


def _mix(parts: list[tuple[float, np.ndarray]]) -> np.ndarray | None:
    if not parts:
        return None
    length = max(len(audio) for _, audio in parts)
    mixed = np.zeros(length, dtype=np.float32)
    for weight, audio in parts:
        mixed[: len(audio)] += weight * audio
    return mixed


def _tempo_source(audio: dict[str, np.ndarray]) -> np.ndarray | None:
    """The drums, else everything but the vocals, else everything."""
    drums = [(1.0, a) for name, a in audio.items() if name in PERCUSSIVE]
    rest = [(1.0, a) for name, a in audio.items() if not _is_vocals(name)]
    return _mix(drums or rest or [(1.0, a) for a in audio.values()])


def _key_source(audio: dict[str, np.ndarray]) -> np.ndarray | None:
    """Every stem but the drums, the vocals at half weight."""
    return _mix(
        [
            (VOCAL_WEIGHT if _is_vocals(name) else 1.0, a)
            for name, a in audio.items()
            if name not in PERCUSSIVE
        ]
    )


def _is_vocals(name: str) -> bool:
    return name == "vocals"


def _audible(audio: np.ndarray | None) -> bool:
    return audio is not None and float(np.sqrt(np.mean(audio**2))) > SILENCE_RMS


# --- Tempo ---


def tempo_estimate(
    audio: np.ndarray | None, *, percussive: bool
) -> tuple[float | None, float]:
    """(BPM or None, confidence 0..1) of a mono signal at RATE; `percussive`
    when it is a drums stem already, else its percussive part is taken first."""
    if audio is None or not _audible(audio) or len(audio) < MIN_TEMPO_SECONDS * RATE:
        return None, 0.0
    # The square root evens out accents, so that a kick louder than the snare
    # does not make every other beat look like the beat.
    envelope = np.sqrt(_onset_envelope(audio, percussive=percussive))
    # Only its slow part: no beat pattern moves faster than 16 Hz (16ths at 200
    # BPM are 13 Hz), while a separation's frame-rate ripple (demucs' STFT hop)
    # and codec frames add fast ones whose autocorrelation drowns the beat's.
    envelope = scipy.signal.sosfiltfilt(_ENVELOPE_LOW_PASS, envelope)
    # Less its 2-second running mean: a noise's slow swells are no beat.
    envelope = envelope - scipy.ndimage.uniform_filter1d(envelope, int(2 * FPS))
    if not envelope.any():
        return None, 0.0
    acf = librosa.autocorrelate(envelope, max_size=int(6 * FPS))
    acf = acf / acf[0]
    coarse = _tempo_choose(acf, envelope)
    if coarse is None:
        return None, 0.0
    bpm = _tempo_refine(acf, coarse)
    confidence = _tempo_confidence(acf, bpm)
    if (
        confidence < MIN_BPM_CONFIDENCE
        or not TEMPO_MIN * 0.98 <= bpm <= TEMPO_MAX * 1.02
    ):
        return None, confidence
    return round(bpm, 1), confidence


def _onset_envelope(audio: np.ndarray, *, percussive: bool) -> np.ndarray:
    """Spectral flux of the percussive part, on a level-aware log scale (a quiet
    hat counts less than a kick, unlike on a decibel scale). Sustained notes'
    onsets (a bass line in 8ths) would otherwise pull the tempo up an octave."""
    mel = librosa.feature.melspectrogram(
        y=audio, sr=RATE, n_fft=1024, hop_length=HOP, n_mels=64
    )
    if not percussive:
        _, mel = librosa.decompose.hpss(mel, kernel_size=(11, 31))
    peak = float(mel.max())
    if peak <= 0:
        return np.zeros(mel.shape[1])
    compressed = np.log1p(1000.0 * mel / peak)
    return librosa.onset.onset_strength(S=compressed, sr=RATE, hop_length=HOP)


def _repeat(acf: np.ndarray, bpm: np.ndarray | float) -> np.ndarray:
    """How well the envelope repeats after one beat at `bpm` (normalised ACF)."""
    lag = 60.0 * FPS / np.asarray(bpm, dtype=float)
    return np.interp(lag, np.arange(len(acf)), acf)


def _tempo_confidence(acf: np.ndarray, bpm: float) -> float:
    """How well the envelope repeats after one beat, two or a bar (four) at
    `bpm`: a syncopated groove repeats by the bar more than by the beat. Songs
    with a steady beat score 0.8 and more; a poor separation's stems, which
    keep only traces of the beat, score under 0.4 and get no answer."""
    repeats = _repeat(acf, np.array([bpm, bpm / 2, bpm / 4]))
    return float(np.clip(repeats.max(), 0.0, 1.0))


def _pulse(envelope: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """The envelope's spectral magnitude at each tempo, over 8 s windows."""
    width = min(len(envelope), int(8 * FPS))
    phase = np.outer(bpm / 60.0 / FPS, np.arange(width))
    basis = np.exp(-2j * np.pi * phase) * np.hanning(width)
    total = np.zeros(len(bpm))
    starts = range(0, len(envelope) - width + 1, max(1, width // 2))
    for start in starts:
        window = envelope[start : start + width]
        total += np.abs(basis @ window) / (np.abs(window).sum() + 1e-12)
    return total / len(starts)


def _tempo_choose(acf: np.ndarray, envelope: np.ndarray) -> float | None:
    """The beat among the ACF's peaks in range: of those that repeat strongly
    and have a real pulse, the fastest (see the module docstring)."""
    grid = np.arange(TEMPO_MIN, TEMPO_MAX + 0.25, 0.25)
    repeat = _repeat(acf, grid)
    peaks, _ = scipy.signal.find_peaks(repeat)
    if not len(peaks) or repeat[peaks].max() <= 0:
        return None
    candidates = grid[peaks][repeat[peaks] >= STRONG_REPEAT * repeat[peaks].max()]
    pulse = _pulse(envelope, candidates)
    chosen = float(candidates[pulse >= PULSE_SHARE * pulse.max()].max())
    return _three_halves(acf, chosen)


def _three_halves(acf: np.ndarray, bpm: float) -> float:
    """1.5 x `bpm` instead when that tempo also repeats and its bar (four of its
    beats) repeats better: a syncopated kick every dotted quarter can outweigh
    the beat, but a bar of 4/4 is four beats, not six."""
    faster = 1.5 * bpm
    if faster > TEMPO_MAX or _repeat(acf, faster) < THREE_HALVES_REPEAT * _repeat(
        acf, bpm
    ):
        return bpm
    return faster if _repeat(acf, faster / 4) > _repeat(acf, bpm / 4) else bpm


def _tempo_refine(acf: np.ndarray, bpm: float) -> float:
    """The beat period fitted to the ACF's peaks at its first eight multiples,
    each located between frames by a parabola."""
    period = 60.0 * FPS / bpm
    multiples, lags = [], []
    for multiple in range(1, 9):
        centre = int(round(multiple * period))
        if centre + 3 >= len(acf):
            break
        near = centre - 2 + int(np.argmax(acf[centre - 2 : centre + 3]))
        left, mid, right = acf[near - 1], acf[near], acf[near + 1]
        bend = left - 2 * mid + right
        offset = 0.5 * (left - right) / bend if bend < 0 else 0.0
        multiples.append(multiple)
        lags.append(near + float(np.clip(offset, -0.5, 0.5)))
    k, lag = np.array(multiples, dtype=float), np.array(lags)
    return float(60.0 * FPS / (np.dot(k, lag) / np.dot(k, k)))


# --- Key ---


def key_estimate(audio: np.ndarray | None) -> tuple[str | None, float]:
    """(key like "F# minor" or None, confidence 0..1) of a mono signal at RATE."""
    if audio is None or not _audible(audio):
        return None, 0.0
    low = soxr.resample(audio, RATE, KEY_RATE, quality="HQ")
    with warnings.catch_warnings():
        # Noise leaves the tuning estimate no peaks; the confidence says so.
        warnings.simplefilter("ignore", UserWarning)
        chroma = librosa.feature.chroma_stft(
            y=low, sr=KEY_RATE, n_fft=4096, hop_length=2048
        )
    loudness = librosa.feature.rms(y=low, frame_length=4096, hop_length=2048)[0]
    frames = min(chroma.shape[1], len(loudness))
    weights = loudness[:frames]
    if weights.sum() <= 0:
        return None, 0.0
    profile = chroma[:, :frames] @ weights / weights.sum()
    if not np.std(profile) > 0:
        return None, 0.0
    scores = sorted(
        (
            (float(np.corrcoef(profile, np.roll(template, tonic))[0, 1]), tonic, mode)
            for mode, template in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE))
            for tonic in range(12)
        ),
        reverse=True,
    )
    (best, tonic, mode), (second, _, _) = scores[0], scores[1]
    confidence = _key_confidence(profile, best, second)
    if confidence < MIN_KEY_CONFIDENCE:
        return None, confidence
    return f"{NOTES[tonic]} {mode}", confidence


def _key_confidence(profile: np.ndarray, best: float, second: float) -> float:
    """High when the chroma has contrast (noise is flat), fits one key well and
    fits it clearly better than the runner-up."""
    contrast = float(np.clip((np.std(profile) / np.mean(profile) - 0.1) / 0.5, 0, 1))
    fit = float(np.clip((best - 0.4) / 0.5, 0, 1))
    margin = float(np.clip((best - second) / 0.1, 0, 1))
    return contrast * fit * (0.5 + 0.5 * margin)
