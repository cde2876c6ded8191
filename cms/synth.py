"""The demo's sample song, made in code: no recording is shipped or borrowed.

A 24-second, 120 bpm loop in C major (C, Am, F, G), with drums, a bass line,
a strummed plucked-string guitar, piano chords and a sung-vowel lead made by
additive synthesis shaped by vowel formants. Deterministic (fixed seed).
"""

import numpy as np

RATE = 44100
BPM = 120
BEAT = 60 / BPM
BAR = 4 * BEAT
# (root MIDI note for the bass, chord tones as MIDI notes) per bar.
PROGRESSION = [
    (36, (60, 64, 67)),  # C
    (45, (57, 60, 64)),  # Am
    (41, (53, 57, 60)),  # F
    (43, (55, 59, 62)),  # G
]
# The lead: (beat offset in the bar, length in beats, MIDI note, vowel) per bar.
MELODY = [
    [(0, 1.5, 72, "a"), (1.5, 0.5, 74, "o"), (2, 2, 76, "a")],
    [(0, 1, 76, "e"), (1, 1, 74, "o"), (2, 2, 72, "a")],
    [(0, 1.5, 69, "o"), (1.5, 0.5, 72, "a"), (2, 2, 77, "e")],
    [(0, 1, 76, "a"), (1, 1, 74, "i"), (2, 2, 71, "o")],
]
# First two formants (Hz) of sung vowels, with a shared third.
VOWELS = {
    "a": (800, 1150),
    "e": (450, 2100),
    "i": (300, 2300),
    "o": (450, 800),
}


def _hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def _add(track: np.ndarray, start: float, sound: np.ndarray) -> None:
    begin = int(start * RATE)
    end = min(len(track), begin + len(sound))
    if begin < end:
        track[begin:end] += sound[: end - begin]


def _env(length: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(length) / RATE
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _kick(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.35 * RATE)) / RATE
    phase = 2 * np.pi * (50 * t + (100 / 18) * (1 - np.exp(-18 * t)))
    return np.sin(phase) * np.exp(-t / 0.12)


def _snare(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * RATE)) / RATE
    noise = rng.standard_normal(len(t))
    noise = noise - np.convolve(noise, np.ones(4) / 4, mode="same")  # brighter
    body = np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    return 0.6 * noise * np.exp(-t / 0.07) + 0.5 * body


def _hat(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.06 * RATE)) / RATE
    noise = rng.standard_normal(len(t))
    noise = noise - np.convolve(noise, np.ones(2) / 2, mode="same")
    return 0.25 * noise * np.exp(-t / 0.015)


def drums(seconds: float, rng: np.random.Generator) -> np.ndarray:
    track = np.zeros(int(seconds * RATE))
    kick, snare = _kick(rng), _snare(rng)
    eighth = 0
    while eighth * BEAT / 2 < seconds:
        at = eighth * BEAT / 2
        beat_in_bar = (eighth // 2) % 4
        if eighth % 2 == 0 and beat_in_bar in (0, 2):
            _add(track, at, kick)
        if eighth % 8 == 5:  # the "and" of 3: a pushed kick
            _add(track, at, 0.6 * kick)
        if eighth % 2 == 0 and beat_in_bar in (1, 3):
            _add(track, at, snare)
        _add(track, at, _hat(rng) * (1.0 if eighth % 2 == 0 else 0.6))
        eighth += 1
    return track


def bass(seconds: float) -> np.ndarray:
    track = np.zeros(int(seconds * RATE))
    length = int(BEAT / 2 * RATE * 0.95)
    t = np.arange(length) / RATE
    envelope = _env(length, 0.005, 0.25)
    bar = 0
    while bar * BAR < seconds:
        root, _ = PROGRESSION[bar % len(PROGRESSION)]
        for step, interval in enumerate((0, 0, 12, 0, 7, 0, 12, 7)):
            f = _hz(root + interval)
            tone = sum(np.sin(2 * np.pi * k * f * t) / k**1.5 for k in range(1, 6))
            _add(track, bar * BAR + step * BEAT / 2, 0.5 * tone * envelope)
        bar += 1
    return track


def _pluck(frequency: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Karplus-Strong, one delay-line period at a time (vectorised per period)."""
    period = max(2, int(RATE / frequency))
    total = int(seconds * RATE)
    out = np.zeros(total + period + 1)
    out[:period] = rng.uniform(-1, 1, period)
    start = period
    while start < total:
        end = min(start + period, total)
        prev = out[start - period : end - period]
        prev_next = out[start - period + 1 : end - period + 1]
        out[start:end] = 0.996 * 0.5 * (prev + prev_next)
        start = end
    return out[:total]


def guitar(seconds: float, rng: np.random.Generator) -> np.ndarray:
    track = np.zeros(int(seconds * RATE))
    bar = 0
    while bar * BAR < seconds:
        _, chord = PROGRESSION[bar % len(PROGRESSION)]
        for beat in (0.0, 1.5, 2.5, 3.0):
            for i, note in enumerate((chord[0] - 12, *chord)):
                strum = bar * BAR + beat * BEAT + i * 0.012
                _add(track, strum, 0.22 * _pluck(_hz(note), BEAT * 1.4, rng))
        bar += 1
    return track


def piano(seconds: float) -> np.ndarray:
    track = np.zeros(int(seconds * RATE))
    length = int(BAR * RATE)
    t = np.arange(length) / RATE
    bar = 0
    while bar * BAR < seconds:
        _, chord = PROGRESSION[bar % len(PROGRESSION)]
        for beat in (0, 2):
            for note in (*chord, chord[0] + 12):
                f = _hz(note)
                tone = sum(
                    np.sin(2 * np.pi * k * f * np.sqrt(1 + 0.0004 * k * k) * t)
                    * np.exp(-t * (1.2 + 0.9 * k))
                    / k
                    for k in range(1, 8)
                )
                attack = np.minimum(1.0, t / 0.004)
                _add(track, bar * BAR + beat * BEAT, 0.12 * tone * attack)
        bar += 1
    return track


def _formant_gain(frequencies: np.ndarray, vowel: str) -> np.ndarray:
    f1, f2 = VOWELS[vowel]
    gain = np.zeros_like(frequencies)
    for centre, width, level in ((f1, 90, 1.0), (f2, 120, 0.6), (2600, 160, 0.25)):
        gain += level / (1 + ((frequencies - centre) / width) ** 2)
    return gain


def voice(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A sung 'ah/oh/eh' lead: harmonics of a vibrato pitch through vowel formants."""
    track = np.zeros(int(seconds * RATE))
    bar = 0
    while bar * BAR < seconds:
        if bar % 8 >= 2:  # the voice comes in on the third bar, like a verse
            for offset, beats, note, vowel in MELODY[bar % len(MELODY)]:
                length = int(beats * BEAT * RATE)
                t = np.arange(length) / RATE
                vibrato = 1 + 0.012 * np.sin(2 * np.pi * 5.5 * t) * np.minimum(
                    1, t / 0.3
                )
                f0 = _hz(note - 12) * vibrato
                phase = 2 * np.pi * np.cumsum(f0) / RATE
                sound = np.zeros(length)
                for k in range(1, 30):
                    if k * _hz(note - 12) > 5000:
                        break
                    gain = _formant_gain(np.array([k * _hz(note - 12)]), vowel)[0]
                    sound += gain * np.sin(k * phase) / np.sqrt(k)
                breath = 0.02 * rng.standard_normal(length)
                envelope = np.minimum(1, t / 0.06) * np.minimum(
                    1, (length / RATE - t) / 0.12
                )
                _add(
                    track, bar * BAR + offset * BEAT, 0.3 * (sound + breath) * envelope
                )
        bar += 1
    return track


def sample_song(seconds: float = 24.0, seed: int = 2026) -> np.ndarray:
    """The mix, stereo float32 at 44.1 kHz, peaking at 0.9."""
    rng = np.random.default_rng(seed)
    parts = {
        "drums": (drums(seconds, rng), 0.0),
        "bass": (bass(seconds), 0.0),
        "guitar": (guitar(seconds, rng), -0.45),
        "piano": (piano(seconds), 0.4),
        "vocals": (voice(seconds, rng), 0.0),
    }
    levels = {"drums": 0.8, "bass": 0.7, "guitar": 0.55, "piano": 0.6, "vocals": 0.8}
    left = np.zeros(int(seconds * RATE))
    right = np.zeros(int(seconds * RATE))
    for name, (track, pan) in parts.items():
        track = track / (np.abs(track).max() or 1.0) * levels[name]
        left += track * np.sqrt((1 - pan) / 2)
        right += track * np.sqrt((1 + pan) / 2)
    mix = np.stack([left, right], axis=1)
    fade = int(0.5 * RATE)
    mix[-fade:] *= np.linspace(1, 0, fade)[:, None]
    return (mix / np.abs(mix).max() * 0.9).astype("float32")
