"""Songs made in code with a known tempo and key, written as demucs writes stems.

A song is a drum kit (kick, snare, hats, in one of a few common patterns), a
bass line on the chord roots, chords (a few detuned harmonics, a little noise)
and a sung-like lead (vibrato, breath noise) on the scale, all at a tempo and in
a key the caller chose: tests/jobs/test_analysis.py checks jobs/analysis.py
against them. Timing and loudness are humanised a little; the tempo stays exact.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100
NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural; the V chord raises the 7th
# Chords by Roman numeral: (semitones above the tonic, quality).
CHORDS = {
    "I": (0, "maj"),
    "ii": (2, "min"),
    "IV": (5, "maj"),
    "V": (7, "maj"),
    "vi": (9, "min"),
    "i": (0, "min"),
    "iv": (5, "min"),
    "v": (7, "min"),
    "VI": (8, "maj"),
    "III": (3, "maj"),
    "VII": (10, "maj"),
}
TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}
# Drum patterns over one bar of 16 sixteenths: "k" kick, "s" snare, "h" hat.
PATTERNS = {
    "rock": {"k": (0, 8), "s": (4, 12), "h": tuple(range(0, 16, 2))},
    "rock-push": {"k": (0, 8, 10), "s": (4, 12), "h": tuple(range(0, 16, 2))},
    "funk": {"k": (0, 6, 10), "s": (4, 12), "h": tuple(range(16))},
    "four": {"k": (0, 4, 8, 12), "s": (4, 12), "h": (2, 6, 10, 14)},
    "punk": {"k": (0, 8), "s": (4, 12), "h": (0, 4, 8, 12)},
    "hiphop": {"k": (0, 3, 10), "s": (4, 12), "h": tuple(range(0, 16, 2))},
    "rock16": {"k": (0, 8), "s": (4, 12), "h": tuple(range(16))},
    "dnb": {"k": (0, 10), "s": (4, 12), "h": tuple(range(0, 16, 2))},
}


@dataclass(frozen=True)
class SongSpec:
    bpm: float
    tonic: str  # one of NOTES
    mode: str  # "major" or "minor"
    progression: tuple[str, ...]
    pattern: str = "rock"
    seconds: float = 24.0
    seed: int = 0
    bars_per_chord: int = 1
    kit: tuple[float, float, float] = (0.55, 0.45, 0.22)  # kick, snare, hat levels

    @property
    def key(self) -> str:
        return f"{self.tonic} {self.mode}"


def _freq(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _tone(
    freq: float,
    length: int,
    harmonics: Sequence[float],
    rng: np.random.Generator,
    *,
    attack: float = 0.01,
    decay: float = 1.5,
    vibrato: float = 0.0,
) -> np.ndarray:
    """A note: a few harmonics, slightly detuned, with an attack and a decay."""
    t = np.arange(length) / RATE
    wobble = vibrato * np.sin(2 * np.pi * 5.5 * t + rng.uniform(0, 6.3))
    phase = 2 * np.pi * freq * np.cumsum(1 + wobble) / RATE
    note = np.zeros(length)
    for number, level in enumerate(harmonics, start=1):
        detune = 1 + rng.normal(0, 0.0008)
        note += level * np.sin(number * phase * detune + rng.uniform(0, 6.3))
    envelope = np.minimum(t / attack, 1.0) * np.exp(-t / decay)
    release = np.minimum(1.0, (length - np.arange(length)) / (0.02 * RATE))
    return note * envelope * release


def _add(track: np.ndarray, start: int, sound: np.ndarray, gain: float) -> None:
    end = min(len(track), start + len(sound))
    if start < end:
        track[start:end] += gain * sound[: end - start]


def _drum(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "k":
        t = np.arange(int(0.35 * RATE)) / RATE
        sweep = 50 + 90 * np.exp(-t / 0.03)
        body = np.sin(2 * np.pi * np.cumsum(sweep) / RATE) * np.exp(-t / 0.12)
        click = rng.normal(0, 1, len(t)) * np.exp(-t / 0.004) * 0.3
        return body + click
    if kind == "s":
        t = np.arange(int(0.25 * RATE)) / RATE
        noise = np.diff(rng.normal(0, 1, len(t) + 1)) * np.exp(-t / 0.07)
        body = np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
        return 0.45 * noise + 0.6 * body
    t = np.arange(int(0.06 * RATE)) / RATE
    noise = rng.normal(0, 1, len(t) + 2)
    return np.diff(noise, 2) * np.exp(-t / 0.015) * 0.12


def _drums(spec: SongSpec, frames: int, rng: np.random.Generator) -> np.ndarray:
    track = np.zeros(frames)
    sixteenth = 60.0 / spec.bpm / 4
    pattern = PATTERNS[spec.pattern]
    levels = dict(zip("ksh", spec.kit, strict=True))
    bar = 0
    while bar * 16 * sixteenth < spec.seconds:
        for kind, steps in pattern.items():
            for step in steps:
                at = (bar * 16 + step) * sixteenth + rng.normal(0, 0.004)
                accent = 1.0 if step % 4 == 0 else 0.8
                gain = levels[kind] * accent * rng.uniform(0.85, 1.0)
                _add(track, int(max(at, 0) * RATE), _drum(kind, rng), gain)
        bar += 1
    return track


def _chord_at(spec: SongSpec, beat: int) -> tuple[int, str]:
    """The chord (root above the tonic, quality) that sounds on a beat."""
    index = beat // (4 * spec.bars_per_chord) % len(spec.progression)
    offset, quality = CHORDS[spec.progression[index]]
    if spec.mode == "minor" and spec.progression[index] == "V":
        quality = "maj"  # the harmonic-minor dominant, as most songs have it
    return offset, quality


def _harmony(
    spec: SongSpec, frames: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    tonic = NOTES.index(spec.tonic)
    beat_s = 60.0 / spec.bpm
    beats = int(spec.seconds / beat_s) + 1
    bass, chords, lead = (np.zeros(frames) for _ in range(3))
    scale = MAJOR if spec.mode == "major" else MINOR
    degree = 0
    for beat in range(beats):
        offset, quality = _chord_at(spec, beat)
        start = int(beat * beat_s * RATE)
        length = int(beat_s * RATE)
        root = 36 + (tonic + offset) % 12
        for half in (0, length // 2):
            note = _tone(_freq(root), length // 2, (1, 0.5, 0.3, 0.15), rng, decay=0.4)
            _add(bass, start + half, note, 0.35 * rng.uniform(0.85, 1.0))
        if beat % 2 == 0:  # chords struck every two beats, voiced around middle C
            for interval in TRIADS[quality]:
                midi = 55 + (tonic + offset + interval - 55) % 12
                note = _tone(_freq(midi), 2 * length, (1, 0.45, 0.3, 0.2, 0.1), rng)
                _add(chords, start, note, 0.12)
        # The lead walks the scale, landing on a chord tone at each bar.
        if beat % 4 == 0:
            tones = [(offset + i) % 12 for i in TRIADS[quality]]
            tones = [tone for tone in tones if tone in scale]
            degree = scale.index(tones[int(rng.integers(len(tones)))])
        else:
            degree = int(np.clip(degree + rng.choice((-1, 1)), 0, 6))
        midi = 64 + (tonic + scale[degree] - 64) % 12
        note = _tone(_freq(midi), length, (1, 0.6, 0.25, 0.1), rng, vibrato=0.004)
        _add(lead, start, note, 0.2 * rng.uniform(0.8, 1.0))
    lead += np.convolve(rng.normal(0, 0.004, frames), np.ones(8) / 8, "same")
    chords += rng.normal(0, 0.002, frames)
    return {"bass": bass, "other": chords, "vocals": lead}


def song_stems(spec: SongSpec) -> dict[str, np.ndarray]:
    """The four stems (drums, bass, other, vocals) as stereo float32 arrays."""
    rng = np.random.default_rng(spec.seed)
    frames = int(spec.seconds * RATE)
    mono = {"drums": _drums(spec, frames, rng), **_harmony(spec, frames, rng)}
    stems = {}
    for name, track in mono.items():
        pan = rng.uniform(0.8, 1.0)
        stems[name] = np.stack([track, track * pan], axis=1).astype("float32")
    return stems


def stems_write(
    folder: Path,
    stems: dict[str, np.ndarray],
    *,
    subtype: str = "FLOAT",
) -> list[tuple[str, Path]]:
    """Writes each stem as `<name>.wav` (demucs' layout); returns (name, path) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, audio in stems.items():
        path = folder / f"{name}.wav"
        sf.write(str(path), np.clip(audio, -1, 1), RATE, subtype=subtype, format="WAV")
        written.append((name, path))
    return written


def two_stems(stems: dict[str, np.ndarray], keep: str) -> dict[str, np.ndarray]:
    """A two-stem job's output: `keep` and `no_<keep>`, the sum of the rest."""
    rest = sum(audio for name, audio in stems.items() if name != keep)
    return {keep: stems[keep], f"no_{keep}": np.asarray(rest, dtype="float32")}
