"""The canonical decoder (jobs/decoding.py): what it opens, what it writes, and
the limits it runs under. The hostile-length corpus, through the API, is in
tests/jobs/intake/test_hostile_lengths.py."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from jobs import decoding
from jobs.decoding import AudioTooLong, UnreadableAudio, canonical_decode
from tests.helpers.audio import encoded_bytes, song


def _decode(source: Path, tmp_path: Path, limit: float = 600.0) -> decoding.Decoded:
    return canonical_decode(source, tmp_path / "canonical.wav", limit_seconds=limit)


def test_the_content_decides_how_a_file_is_read_not_its_name(tmp_path):
    source = tmp_path / "really-a-wav.mp3"
    sf.write(str(source), song(1.0), 44100, subtype="PCM_16", format="WAV")
    decoded = _decode(source, tmp_path)
    assert decoded.source_format == "wav"
    assert decoded.frames == 44100


def test_the_canonical_file_holds_the_same_samples(tmp_path):
    source = tmp_path / "song.flac"
    source.write_bytes(encoded_bytes(tmp_path, "flac", 2.0))
    _decode(source, tmp_path)
    info = sf.info(str(tmp_path / "canonical.wav"))
    assert (info.format, info.subtype) == ("WAV", "FLOAT")
    assert (info.samplerate, info.channels, info.frames) == (44100, 2, 88200)
    decoded, _ = sf.read(str(tmp_path / "canonical.wav"), dtype="float32")
    assert np.allclose(decoded, song(2.0), atol=1e-4)


def test_a_mono_file_keeps_its_level_on_both_sides(tmp_path):
    # ffmpeg's own -ac 2 would lower it by 3 dB.
    source = tmp_path / "mono.wav"
    mono = song(1.0, rate=22050, channels=1)
    sf.write(str(source), mono, 22050, subtype="FLOAT")
    _decode(source, tmp_path)
    decoded, _ = sf.read(str(tmp_path / "canonical.wav"), dtype="float32")
    assert np.array_equal(decoded[:, 0], decoded[:, 1])
    assert np.abs(decoded).max() == pytest.approx(np.abs(mono).max(), rel=0.02)


def test_an_id3_tag_in_front_is_looked_behind(tmp_path):
    flac = encoded_bytes(tmp_path, "flac", 1.0)
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 20]) + b"\x00" * 20
    source = tmp_path / "tagged.flac"
    source.write_bytes(tag + flac)
    assert _decode(source, tmp_path).source_format == "flac"


@pytest.mark.parametrize(
    "script",
    [
        b"ffconcat version 1.0\nfile /etc/hostname\n",
        b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/hostname\n",
        b"<?xml version='1.0'?><smil><body><audio src='file:///etc/hostname'/></body>",
    ],
    ids=["concat", "hls", "smil"],
)
def test_a_script_for_another_demuxer_is_never_opened(tmp_path, script):
    source = tmp_path / "list.mp3"
    source.write_bytes(script)
    with pytest.raises(UnreadableAudio):
        _decode(source, tmp_path)
    assert not (tmp_path / "canonical.wav").exists()


def test_decoding_stops_just_past_the_cap(tmp_path):
    source = tmp_path / "long.wav"
    sf.write(str(source), song(12.0), 44100, subtype="PCM_16")
    with pytest.raises(AudioTooLong) as refused:
        _decode(source, tmp_path, limit=5.0)
    assert refused.value.announced == pytest.approx(12.0)
    assert not (tmp_path / "canonical.wav").exists()


def test_a_decoder_that_outlives_its_time_is_stopped(tmp_path, monkeypatch):
    source = tmp_path / "song.flac"
    source.write_bytes(encoded_bytes(tmp_path, "flac", 30.0))
    # Far less than starting ffmpeg takes anywhere.
    monkeypatch.setattr(decoding, "decode_timeout_seconds", lambda limit: 0.001)
    with pytest.raises(UnreadableAudio, match="took too long to decode"):
        _decode(source, tmp_path)
    assert not (tmp_path / "canonical.wav").exists()


def test_the_decoder_runs_under_a_memory_limit(tmp_path, monkeypatch):
    source = tmp_path / "song.flac"
    source.write_bytes(encoded_bytes(tmp_path, "flac", 1.0))
    within = canonical_decode(source, tmp_path / "first.wav", limit_seconds=60)
    assert within.frames == 44100  # within the real limit, it decodes
    monkeypatch.setattr(decoding, "MEMORY_LIMIT_BYTES", 8 << 20)
    with pytest.raises(UnreadableAudio):
        _decode(source, tmp_path)
    assert not (tmp_path / "canonical.wav").exists()
