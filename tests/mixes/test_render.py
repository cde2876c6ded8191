"""Mixes rendered from stems whose content is known (mixes/render.py).

The stems are made here with numpy and written as demucs' stems are (wav,
flac, or mp3 through jobs/encoding.py); what comes out is decoded and measured:
loudness with pyloudnorm, true peaks with ffmpeg's ebur128 meter, pitches by
the peak of an FFT, bitrates from the mp3's own frame headers.
"""

import json
import math
import re
import subprocess  # noqa: S404 - ffprobe and ffmpeg measure the files
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from jobs.encoding import pcm16, stem_encode
from mixes.render import (
    MixRenderError,
    MixSpec,
    mix_render,
    mix_spec_problems,
)

RATE = 44100
# What an mp3 from lameenc starts with before the song (no gapless tag).
MP3_DELAY = 1105
TEN_MS = RATE // 100


def seconds(n: float) -> np.ndarray:
    return np.arange(round(n * RATE)) / RATE


def stereo(mono: np.ndarray, right: float = 1.0) -> np.ndarray:
    return np.stack([mono, mono * right], axis=1).astype("float32")


def band(length: float = 6.0, level: float = 1.0) -> dict[str, np.ndarray]:
    """Four stems of a small 'band', each with content of its own; at level 1
    their sum peaks near -7 dBFS."""
    t = seconds(length)
    rng = np.random.default_rng(17)
    beat = (np.sin(2 * np.pi * 2 * t) > 0.97) * rng.uniform(-1, 1, len(t))
    stems = {
        "vocals": 0.1 * np.sin(2 * np.pi * (440 + 20 * np.sin(2 * np.pi * 5 * t)) * t),
        "drums": 0.1 * beat,
        "bass": 0.15 * np.sin(2 * np.pi * 55 * t),
        "other": sum(0.035 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)),
    }
    return {name: stereo(level * audio, 0.9) for name, audio in stems.items()}


def write_stems(
    folder: Path, stems: dict[str, np.ndarray], fmt: str = "wav"
) -> dict[str, Path]:
    """The stems as the product stores them: wav/flac 16-bit or LAME mp3."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, audio in stems.items():
        source = folder / f"{name}.float.wav"
        sf.write(str(source), audio, RATE, subtype="FLOAT")
        paths[name] = folder / f"{name}.{fmt}"
        stem_encode(source, paths[name], fmt)
        source.unlink()
    return paths


def decoded(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert rate == RATE
    if path.suffix == ".mp3":
        audio = audio[MP3_DELAY:]
    return audio


def loudness(audio: np.ndarray) -> float:
    return float(pyloudnorm.Meter(RATE).integrated_loudness(audio.astype("float64")))


def true_peak_dbtp(path: Path) -> float:
    """ffmpeg's BS.1770 true-peak meter (ebur128), to 0.1 dB."""
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path)]
    argv += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    log = subprocess.run(argv, capture_output=True, text=True, timeout=120).stderr
    return float(re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", log)[-1])


def probe(path: Path) -> dict:
    argv = ["ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)["streams"][0]


def mp3_frame_bitrates(path: Path) -> set[int]:
    """The bitrate (kbps) in the header of every MPEG-1 Layer III frame."""
    kbps = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    data, position, rates = path.read_bytes(), 0, set()
    while position + 4 <= len(data):
        header = data[position : position + 4]
        assert header[0] == 0xFF and header[1] & 0xFE == 0xFA, "lost frame sync"
        rate = kbps[header[2] >> 4]
        padding = (header[2] >> 1) & 1
        rates.add(rate)
        position += 144 * rate * 1000 // RATE + padding
    return rates


def dominant_hz(audio: np.ndarray) -> float:
    """The strongest frequency of the middle of `audio`, interpolated between bins."""
    mono = audio[len(audio) // 4 : 3 * len(audio) // 4, 0].astype("float64")
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * RATE / len(mono)


def db(ratio: float) -> float:
    return 20 * math.log10(ratio)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype("float64") ** 2)))


ALL = {"vocals": 1.0, "drums": 1.0, "bass": 1.0, "other": 1.0}


# --- The sum ---


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_every_stem_at_gain_1_is_as_loud_as_the_original(
    tmp_path: Path, fmt: str
) -> None:
    stems = band()
    original = sum(stems.values())
    paths = write_stems(tmp_path / "stems", stems, fmt)

    result = mix_render(
        paths, MixSpec(gains=ALL, output_format=fmt), tmp_path / f"m.{fmt}"
    )

    assert not result.limited
    assert abs(loudness(decoded(result.path)) - loudness(original)) < 1.0


def test_a_loud_master_keeps_its_loudness_under_the_limiter(tmp_path: Path) -> None:
    stems = band()
    scale = 0.999 / np.abs(sum(stems.values())).max()  # peaks at 0 dBFS, as mastered
    stems = {name: audio * scale for name, audio in stems.items()}
    original = sum(stems.values())
    paths = write_stems(tmp_path / "stems", stems, "flac")

    result = mix_render(
        paths, MixSpec(gains=ALL, output_format="wav"), tmp_path / "m.wav"
    )

    assert result.limited
    assert abs(loudness(decoded(result.path)) - loudness(original)) < 1.0
    assert true_peak_dbtp(result.path) <= -1.0


def test_a_mix_that_does_not_clip_is_the_plain_sum(tmp_path: Path) -> None:
    stems = band()
    paths = write_stems(tmp_path / "stems", stems, "wav")
    gains = {"vocals": 1.5, "drums": 0.7, "bass": 1.0}

    result = mix_render(
        paths, MixSpec(gains=gains, output_format="wav"), tmp_path / "m.wav"
    )

    expected = sum(decoded(paths[name]) * gain for name, gain in gains.items())
    mixed = sf.read(str(result.path), dtype="int16")[0].astype(int)
    assert not result.limited and result.max_reduction_db == 0.0
    assert mixed.shape == expected.shape
    assert np.abs(mixed - pcm16(expected).astype(int)).max() <= 1


@pytest.mark.parametrize("fmt", ["flac", "mp3"])
def test_minus_vocals_of_two_stems_is_no_vocals(tmp_path: Path, fmt: str) -> None:
    song = band()
    stems = {
        "vocals": song["vocals"],
        "no_vocals": song["drums"] + song["bass"] + song["other"],
    }
    paths = write_stems(tmp_path / "stems", stems, fmt)
    spec = MixSpec(gains={"vocals": 0.0, "no_vocals": 1.0}, output_format=fmt)

    result = mix_render(paths, spec, tmp_path / f"m.{fmt}")

    mixed, no_vocals = decoded(result.path), decoded(paths["no_vocals"])
    if fmt == "flac":  # lossless all the way: the same samples
        assert np.abs(mixed - no_vocals).max() <= 1 / 32767
    else:  # one more mp3 generation, in step with the stem
        length = min(len(mixed), len(no_vocals))
        error = rms(mixed[:length] - no_vocals[:length]) / rms(no_vocals)
        assert db(error) < -30


def test_gain_one_half_is_minus_6_02_db(tmp_path: Path) -> None:
    paths = write_stems(tmp_path / "stems", band(), "wav")

    full = mix_render(
        paths, MixSpec({"bass": 1.0}, output_format="wav"), tmp_path / "1.wav"
    )
    half = mix_render(
        paths, MixSpec({"bass": 0.5}, output_format="wav"), tmp_path / "h.wav"
    )
    double = mix_render(
        paths, MixSpec({"vocals": 2.0}, output_format="wav"), tmp_path / "2.wav"
    )
    vocals = mix_render(
        paths, MixSpec({"vocals": 1.0}, output_format="wav"), tmp_path / "v.wav"
    )

    assert db(rms(decoded(half.path)) / rms(decoded(full.path))) == pytest.approx(
        -6.02, abs=0.01
    )
    assert db(rms(decoded(double.path)) / rms(decoded(vocals.path))) == pytest.approx(
        6.02, abs=0.01
    )


# --- Region, tempo, key ---


def clicks(length: float, at: list[float]) -> np.ndarray:
    audio = np.zeros(round(length * RATE))
    for moment in at:
        audio[round(moment * RATE)] = 0.8
    return stereo(audio)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_a_region_is_cut_to_the_sample(tmp_path: Path, fmt: str) -> None:
    marks = [1.0, 1.2, 2.5, 3.29, 3.31]
    paths = write_stems(tmp_path / "stems", {"drums": clicks(5.0, marks)}, fmt)
    spec = MixSpec(gains={"drums": 1.0}, start=1.1, end=3.3, output_format=fmt)

    result = mix_render(paths, spec, tmp_path / f"m.{fmt}")

    audio = decoded(result.path)[:, 0]
    found = np.flatnonzero(np.abs(audio) > 0.3)
    found = found[np.diff(found, prepend=-TEN_MS) > TEN_MS] / RATE  # one per click
    assert result.duration == pytest.approx(2.2, abs=1 / RATE)
    assert len(audio) / RATE == pytest.approx(2.2, abs=0.01 if fmt != "mp3" else 0.03)
    assert found == pytest.approx([0.1, 1.4, 2.19], abs=0.01)  # not 1.0 nor 3.31


@pytest.mark.parametrize("tempo", [0.8, 1.25])
def test_tempo_scales_the_duration_and_keeps_the_pitch(
    tmp_path: Path, tempo: float
) -> None:
    tone = stereo(0.3 * np.sin(2 * np.pi * 440 * seconds(4.0)))
    paths = write_stems(tmp_path / "stems", {"other": tone}, "wav")
    spec = MixSpec(gains={"other": 1.0}, tempo=tempo, output_format="wav")

    result = mix_render(paths, spec, tmp_path / "m.wav")

    audio = decoded(result.path)
    assert len(audio) / RATE == pytest.approx(4.0 / tempo, rel=0.01)
    assert result.duration == pytest.approx(4.0 / tempo, rel=0.01)
    assert dominant_hz(audio) == pytest.approx(440, rel=0.01)


@pytest.mark.parametrize(("semitones", "hz"), [(2, 493.88), (-3, 369.99)])
def test_transposition_moves_the_pitch_and_keeps_the_tempo(
    tmp_path: Path, semitones: int, hz: float
) -> None:
    tone = stereo(0.3 * np.sin(2 * np.pi * 440 * seconds(4.0)))
    paths = write_stems(tmp_path / "stems", {"other": tone}, "flac")
    spec = MixSpec(gains={"other": 1.0}, semitones=semitones, output_format="flac")

    result = mix_render(paths, spec, tmp_path / "m.flac")

    audio = decoded(result.path)
    assert dominant_hz(audio) == pytest.approx(hz, rel=0.01)
    assert len(audio) / RATE == pytest.approx(4.0, rel=0.01)


def test_tempo_and_key_together_with_a_region(tmp_path: Path) -> None:
    tone = stereo(0.3 * np.sin(2 * np.pi * 440 * seconds(6.0)))
    paths = write_stems(tmp_path / "stems", {"other": tone}, "mp3")
    spec = MixSpec({"other": 1.0}, start=1.0, end=5.0, tempo=0.8, semitones=-2)

    result = mix_render(paths, spec, tmp_path / "m.mp3")

    assert result.duration == pytest.approx(5.0, rel=0.01)
    assert dominant_hz(decoded(result.path)) == pytest.approx(392.0, rel=0.01)


# --- Clipping ---


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_stems_summing_over_full_scale_are_limited_not_clipped(
    tmp_path: Path, fmt: str
) -> None:
    stems = band(level=2.5)
    assert np.abs(2 * sum(stems.values())).max() > 2  # +6 dBFS and more at gain 2
    paths = write_stems(tmp_path / "stems", stems, fmt)
    spec = MixSpec(dict.fromkeys(stems, 2.0), output_format=fmt)

    result = mix_render(paths, spec, tmp_path / f"m.{fmt}")

    samples = sf.read(str(result.path), dtype="int16")[0]
    assert result.limited and result.max_reduction_db < -3
    assert np.abs(samples.astype(int)).max() < 32767  # not one sample at full scale
    assert true_peak_dbtp(result.path) <= (-1.0 if fmt != "mp3" else -0.5)


def test_the_limiter_leaves_quiet_parts_untouched(tmp_path: Path) -> None:
    audio = band()["bass"]
    audio[RATE * 3 : RATE * 4] *= 5  # one loud second in the middle
    paths = write_stems(tmp_path / "stems", {"bass": audio}, "wav")
    spec = MixSpec({"bass": 2.0}, output_format="wav")

    result = mix_render(paths, spec, tmp_path / "m.wav")

    mixed = sf.read(str(result.path), dtype="int16")[0]
    plain = pcm16(decoded(paths["bass"]) * 2)  # the plain sum, encoded
    assert result.limited
    assert np.array_equal(mixed[: RATE * 2], plain[: RATE * 2])
    assert np.array_equal(mixed[RATE * 5 :], plain[RATE * 5 :])
    assert not np.array_equal(mixed[RATE * 3 : RATE * 4], plain[RATE * 3 : RATE * 4])


# --- Formats and inputs ---


@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac"])
def test_every_format_decodes_to_the_mix_in_stereo(tmp_path: Path, fmt: str) -> None:
    paths = write_stems(tmp_path / "stems", band(3.0), "wav")
    spec = MixSpec(gains={"vocals": 1.0, "bass": 1.0}, end=2.5, output_format=fmt)

    result = mix_render(paths, spec, tmp_path / f"mix.{fmt}")

    stream = probe(result.path)
    info = sf.info(str(result.path))
    assert stream["channels"] == 2 and info.channels == 2
    assert int(stream["sample_rate"]) == RATE
    assert result.duration == pytest.approx(2.5, abs=1 / RATE)
    if fmt == "mp3":  # LAME's delay and last frame's padding, as for the stems
        assert stream["codec_name"] == "mp3"
        assert int(stream["bit_rate"]) == 320_000
        assert mp3_frame_bitrates(result.path) == {320}  # CBR: every frame
        assert 0 <= info.frames - MP3_DELAY - 2.5 * RATE <= 1152
    else:
        assert info.subtype == "PCM_16"
        assert info.frames == 2.5 * RATE
        assert float(stream["duration"]) == pytest.approx(2.5, abs=0.001)


def test_mono_stems_become_stereo(tmp_path: Path) -> None:
    mono = 0.3 * np.sin(2 * np.pi * 220 * seconds(1.0))
    path = tmp_path / "vocals.wav"
    sf.write(str(path), mono, RATE, subtype="PCM_16")

    result = mix_render(
        {"vocals": path},
        MixSpec({"vocals": 1.0}, output_format="wav"),
        tmp_path / "m.wav",
    )

    audio = decoded(result.path)
    assert audio.shape == (RATE, 2)
    assert np.array_equal(audio[:, 0], audio[:, 1])


def test_stems_of_different_rates_are_refused(tmp_path: Path) -> None:
    tone = 0.3 * np.sin(2 * np.pi * 220 * seconds(1.0))
    sf.write(str(tmp_path / "a.wav"), tone, RATE)
    sf.write(str(tmp_path / "b.wav"), tone, 48000)
    stems = {"a": tmp_path / "a.wav", "b": tmp_path / "b.wav"}

    with pytest.raises(MixRenderError, match="sample rates"):
        mix_render(stems, MixSpec({"a": 1.0, "b": 1.0}), tmp_path / "m.mp3")
    assert not (tmp_path / "m.mp3").exists()


def test_an_unreadable_stem_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "vocals.mp3").write_bytes(b"not audio at all" * 100)

    with pytest.raises(MixRenderError, match="cannot be read"):
        mix_render(
            {"vocals": tmp_path / "vocals.mp3"},
            MixSpec({"vocals": 1.0}),
            tmp_path / "m.mp3",
        )


@pytest.mark.parametrize("tempo", [1.0, 0.8])
def test_progress_rises_from_0_to_1(tmp_path: Path, tempo: float) -> None:
    paths = write_stems(tmp_path / "stems", band(4.0), "wav")
    seen: list[float] = []

    mix_render(
        paths, MixSpec(ALL, tempo=tempo), tmp_path / "m.mp3", progress=seen.append
    )

    assert seen == sorted(seen)
    assert seen[0] >= 0 and seen[-1] == 1.0 and len(seen) >= 3


# --- Validation ---

STEMS = ["vocals", "drums", "bass", "other"]


def test_a_good_spec_has_no_problems() -> None:
    spec = MixSpec(
        {"vocals": 0.0, "drums": 2.0}, start=10, end=20, tempo=0.5, semitones=-6
    )
    assert mix_spec_problems(spec, STEMS, 180.0) == []
    assert (
        mix_spec_problems(MixSpec({"bass": 1.0}, output_format="flac"), STEMS, 180.0)
        == []
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            MixSpec({"piano": 1.0}),
            "no stem called 'piano'; its stems are: vocals, drums",
        ),
        (MixSpec({"vocals": 2.5}), "gain of 'vocals' must be between 0 (muted) and 2"),
        (MixSpec({"vocals": -0.1, "bass": 1}), "gain of 'vocals' must be between 0"),
        (
            MixSpec({"vocals": math.nan, "bass": 1}),
            "gain of 'vocals' must be between 0",
        ),
        (MixSpec({}), "Choose at least one stem"),
        (MixSpec({"vocals": 0.0, "bass": 0.0}), "Choose at least one stem"),
        (MixSpec(ALL, start=-1.0), "cannot start before the song"),
        (MixSpec(ALL, start=200.0), "starts at 200 s, but the song is only 180 s long"),
        (MixSpec(ALL, end=181.5), "ends at 181.5 s, past the end of the song (180 s)"),
        (MixSpec(ALL, start=30.0, end=30.0), "must start before it ends"),
        (MixSpec(ALL, start=30.0, end=20.0), "must start before it ends"),
        (MixSpec(ALL, start=30.0, end=30.05), "at least 0.1 s long"),
        (MixSpec(ALL, end=math.inf), "must be a number of seconds"),
        (MixSpec(ALL, tempo=0.4), "tempo must be between 0.5x and 1.5x"),
        (
            MixSpec(ALL, tempo=1.6),
            "tempo must be between 0.5x and 1.5x the original; it was 1.6x",
        ),
        (
            MixSpec(ALL, semitones=7),
            "whole number of semitones from -6 to +6; it was 7",
        ),
        (MixSpec(ALL, semitones=-7), "semitones from -6 to +6"),
        (MixSpec(ALL, semitones=1.5), "whole number of semitones"),  # type: ignore[arg-type]
        (MixSpec(ALL, output_format="ogg"), "format must be one of mp3, wav, flac"),
    ],
)
def test_each_bad_spec_is_explained(spec: MixSpec, message: str) -> None:
    problems = mix_spec_problems(spec, STEMS, 180.0)
    assert len(problems) == 1
    assert message in problems[0]


def test_every_problem_is_told_at_once() -> None:
    spec = MixSpec(
        {"piano": 3.0}, start=5, end=1, tempo=3, semitones=12, output_format="aac"
    )
    assert len(mix_spec_problems(spec, STEMS, 180.0)) == 6


def test_a_song_of_unknown_length_is_checked_only_against_itself() -> None:
    assert mix_spec_problems(MixSpec(ALL, start=500.0), STEMS, 0.0) == []
    assert mix_spec_problems(MixSpec(ALL, start=5.0, end=1.0), STEMS, 0.0) != []
