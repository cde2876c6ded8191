"""Stems encoded by the product (jobs/encoding.py) against the ones the CLI wrote.

The stemworker now has demucs write 32-bit float WAVs and the product encodes
them, every stem at once, off the separation's path. What people download must
not change: the same separation written by the CLI itself (`--mp3`, `--flac`)
and by the new path must decode to the same length, channels and samples.
"""

import os
import shutil
import subprocess  # noqa: S404 - the real demucs CLI
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from jobs.audio import compute_peaks
from jobs.encoding import StemUnreadable, stem_finish, stems_finish
from tests.helpers.audio import write_song

FOUR = ["bass", "drums", "other", "vocals"]


def _cli(repo: Path, song: Path, out: Path, *flags: str) -> dict[str, Path]:
    """The demucs CLI as a user runs it; `--shifts 0` makes two runs identical."""
    argv = [sys.executable, "-m", "demucs", "--repo", str(repo), "-n", "htdemucs"]
    argv += ["--shifts", "0", *flags, "-o", str(out), "--filename", "{stem}.{ext}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([*argv, str(song)], check=True, env=env, timeout=300)  # noqa: S603
    return {p.stem: p for p in (out / "htdemucs").iterdir()}


@pytest.fixture(scope="module")
def separated(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One song, separated by the CLI three ways: --mp3, --flac and --float32."""
    root = tmp_path_factory.mktemp("separated")
    song = write_song(root / "song.wav", seconds=4.0)
    for name, flags in {
        "mp3": ["--mp3"],
        "flac": ["--flac"],
        "float": ["--float32"],
    }.items():
        _cli(tiny_models, song, root / name, *flags)
    return root


@pytest.mark.parametrize("output_format", ["mp3", "flac"])
def test_a_stem_from_the_new_path_decodes_as_the_clis_own(
    separated: Path, tmp_path: Path, output_format: str
) -> None:
    work = tmp_path / "work"
    shutil.copytree(separated / "float" / "htdemucs", work)
    floats = sorted(work.glob("*.wav"))
    assert [p.stem for p in floats] == FOUR
    assert {sf.info(str(p)).subtype for p in floats} == {"FLOAT"}
    stems = [(p.stem, p) for p in floats]
    finished = stems_finish(stems, tmp_path / "out", output_format)
    for stem in finished:
        old, old_rate = sf.read(
            str(separated / output_format / "htdemucs" / f"{stem.name}.{output_format}")
        )
        new, new_rate = sf.read(str(stem.path))
        assert stem.path.suffix == f".{output_format}"
        assert (new.shape, new_rate) == (old.shape, old_rate)
        assert new.shape[1] == 2
        # The same 16-bit samples into the same encoder settings.
        assert np.abs(new - old).max() <= 1e-4
        assert stem.duration_seconds == pytest.approx(4.0, abs=0.001)
        assert len(stem.peaks) == 400 and max(stem.peaks) > 0
    # The float sources were consumed, nothing else was left beside the stems.
    assert not any(p.exists() for p in floats)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"{name}.{output_format}" for name in FOUR
    ]


def test_peaks_come_from_the_samples_encoded(tmp_path: Path) -> None:
    source = tmp_path / "vocals.wav"
    sf.write(str(source), sf.read(str(write_song(tmp_path / "s.wav", 3.0)))[0], 44100,
             subtype="FLOAT")  # fmt: skip
    expected, duration = compute_peaks(source)
    peaks, seconds = stem_finish(source, tmp_path / "vocals.mp3", "mp3")
    assert peaks == expected
    assert seconds == duration == pytest.approx(3.0)


def test_a_16_bit_wav_asked_as_wav_is_moved_as_it_is(tmp_path: Path) -> None:
    source = write_song(tmp_path / "bass.wav", 1.0)
    content = source.read_bytes()
    out = tmp_path / "out"
    [stem] = stems_finish([("bass", source)], out, "wav")
    assert stem.path == out / "bass.wav"
    assert stem.path.read_bytes() == content
    assert not source.exists()


def test_finishing_again_finds_the_stems_already_there(tmp_path: Path) -> None:
    sources = []
    for name in ("vocals", "no_vocals"):
        path = tmp_path / "work" / f"{name}.wav"
        path.parent.mkdir(exist_ok=True)
        audio, rate = sf.read(str(write_song(tmp_path / f"{name}-src.wav", 1.0)))
        sf.write(str(path), audio, rate, subtype="FLOAT")
        sources.append((name, path))
    first = stems_finish(sources, tmp_path / "out", "mp3")
    again = stems_finish(sources, tmp_path / "out", "mp3")
    assert [s.path for s in again] == [s.path for s in first]
    assert [s.duration_seconds for s in again] == pytest.approx(
        [s.duration_seconds for s in first], abs=0.06
    )  # the second reading decodes the mp3, which LAME pads by one frame at most


def test_an_unreadable_stem_fails_and_leaves_no_partial_file(tmp_path: Path) -> None:
    broken = tmp_path / "work" / "drums.wav"
    broken.parent.mkdir()
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all" * 10)
    out = tmp_path / "out"
    with pytest.raises(StemUnreadable, match=r"drums\.wav"):
        stems_finish([("drums", broken)], out, "flac")
    assert list(out.iterdir()) == []
