"""A corpus of malformed and adversarial uploads, all made in code (issue 7).

Each input goes through the real API (a few also through the site's form) and is
either separated by the real stemworker or refused before admission with a clear
4xx: never a 5xx, never a credit lost, never a file left behind.
"""

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.urls import reverse

from billing.services import account_for_user, ledger_mismatches
from jobs import storage
from jobs.intake.upload_handler import LimitedTemporaryFileUploadHandler
from jobs.models import Job
from tests.helpers.api import JOBS, post_jobs, token_client, upload
from tests.helpers.audio import (
    encoded_bytes,
    png_bytes,
    random_bytes,
    wav_bytes,
    wav_header,
    zip_bytes,
)
from tests.helpers.jobs import finished_job, run_queue
from tests.helpers.stored import download, shared_files

pytestmark = pytest.mark.django_db

Maker = Callable[[Path], bytes]


@pytest.fixture
def api(user):  # type: ignore[no-untyped-def]
    return token_client(user)


def _cut(maker: Maker, fraction: float) -> Maker:
    return lambda tmp: (data := maker(tmp))[: int(len(data) * fraction)]


def _mp3(seconds: float) -> Maker:
    return lambda tmp: encoded_bytes(tmp, "mp3", seconds)


def _flac(seconds: float) -> Maker:
    return lambda tmp: encoded_bytes(tmp, "flac", seconds)


def _wav(**layout: Any) -> Maker:
    return lambda tmp: wav_bytes(**layout)


def _pcm(seconds: float) -> bytes:
    """Raw 16-bit stereo samples at 44.1 kHz, to put behind a hand-made header."""
    return wav_bytes(seconds)[44:]


def _playlist(tmp: Path) -> bytes:
    # ffmpeg would follow this to another file if the probe let it.
    (tmp / "elsewhere.wav").write_bytes(wav_bytes(1.0))
    return f"#EXTM3U\n#EXTINF:1,\nfile://{tmp}/elsewhere.wav\n#EXT-X-ENDLIST\n".encode()


def _post(client: Any, url: str, field: str, name: str, content: bytes, **fields: str):  # type: ignore[no-untyped-def]
    """POST one file as multipart with its name as given: the test client would
    take only its basename. Quotes and line breaks are escaped as browsers do."""
    boundary = "adversarial-7f3a9c"
    escaped = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        f"{value}\r\n".encode()
        for key, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{escaped}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return client.post(
        url,
        data=b"".join(parts),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _api_post(api: Any, name: str, content: bytes, **options: str):  # type: ignore[no-untyped-def]
    options = {"model": "htdemucs", "output_format": "mp3", **options}
    return _post(api, JOBS, "file", name, content, **options)


UNREADABLE = "could not be read as audio"
DAMAGED = "is incomplete or damaged"

# (id, uploaded name, content, status, code, words the detail must hold)
REFUSED = [
    ("empty", "empty.mp3", lambda tmp: b"", 400, "invalid_audio", "is empty"),
    (
        "truncated-wav-header",
        "cut.wav",
        _cut(_wav(), 0.0001),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    ("truncated-mp3", "cut.mp3", _cut(_mp3(3.0), 0.5), 400, "invalid_audio", DAMAGED),
    (
        "truncated-flac",
        "cut.flac",
        _cut(_flac(3.0), 0.5),
        400,
        "invalid_audio",
        DAMAGED,
    ),
    (
        "mp3-frames-then-garbage",
        "glitch.mp3",
        lambda tmp: encoded_bytes(tmp, "mp3", 3.0)[:2000] + random_bytes(40000),
        400,
        "invalid_audio",
        DAMAGED,
    ),
    (
        "random-bytes-wav",
        "noise.wav",
        lambda tmp: random_bytes(50000),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "random-bytes-mp3",
        "noise.mp3",
        lambda tmp: random_bytes(50000),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "random-bytes-flac",
        "noise.flac",
        lambda tmp: b"fLaC" + random_bytes(50000),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "png-as-mp3",
        "cover.mp3",
        lambda tmp: png_bytes(),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "html-as-mp3",
        "page.mp3",
        lambda tmp: b"<!doctype html><title>x</title><p>not a song</p>\n" * 40,
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "zip-as-flac",
        "stems.flac",
        lambda tmp: zip_bytes(),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    ("playlist-as-mp3", "list.mp3", _playlist, 400, "invalid_audio", UNREADABLE),
    (
        "wav-header-claims-4gb",
        "huge.wav",
        lambda tmp: wav_header(data_bytes=0xFFFFFFF0, payload=_pcm(0.02)),
        400,
        "invalid_audio",
        "too short to separate",
    ),
    (
        "wav-zero-sample-rate",
        "rate0.wav",
        lambda tmp: wav_header(rate=0, payload=_pcm(1.0)),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "wav-negative-sample-rate",
        "rateneg.wav",
        lambda tmp: wav_header(rate=-(2**31), payload=_pcm(1.0)),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "wav-1-hz",
        "slow.wav",
        lambda tmp: wav_header(rate=1, payload=_pcm(0.01)),
        400,
        "invalid_audio",
        "sample rate of 1 Hz",
    ),
    (
        "wav-zero-channels",
        "nochannels.wav",
        lambda tmp: wav_header(channels=0, payload=_pcm(1.0)),
        400,
        "invalid_audio",
        UNREADABLE,
    ),
    (
        "0.05-seconds",
        "blip.wav",
        _wav(seconds=0.05),
        400,
        "invalid_audio",
        "too short to separate",
    ),
    ("exe", "setup.exe", _wav(), 400, "invalid_audio", "not a supported audio file"),
    ("txt", "lyrics.txt", _wav(), 400, "invalid_audio", "not a supported audio file"),
    (
        "no-extension",
        "song",
        _wav(),
        400,
        "invalid_audio",
        "not a supported audio file",
    ),
    (
        "bidi-override-hides-exe",
        "my song\u202e3pm.exe",
        _wav(),
        400,
        "invalid_audio",
        "my song3pm.exe",
    ),
]


def _assert_nothing_charged_or_left(user: Any) -> None:
    assert not Job.objects.filter(user=user).exists()
    assert account_for_user(user).balance == 3
    assert not ledger_mismatches()
    assert shared_files() == []


@pytest.mark.parametrize(
    ("name", "make", "status", "code", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSED],
)
def test_a_bad_upload_is_refused_with_a_clear_4xx(
    api, user, tmp_path, name, make, status, code, words
):
    response = _api_post(api, name, make(tmp_path))
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert words in body["detail"]
    assert re.search(r"“[^”]+”", body["detail"]), body["detail"]  # names the file
    _assert_nothing_charged_or_left(user)


def test_a_file_over_max_upload_mb_is_cut_off_while_streaming(
    api, user, tmp_path, settings
):
    settings.MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_HANDLERS = [f"{__name__}.RecordingUploadHandler"]
    RecordingUploadHandler.largest_on_disk = 0
    big = wav_bytes(8.0)  # 1.4 MB
    response = post_jobs(api, upload(wav_bytes(1.0), "ok.wav"), upload(big, "big.wav"))
    assert response.status_code == 413, response.content
    assert response.json() == {
        "detail": "Each file can be at most 1 MB.",
        "code": "file_too_large",
    }
    # Cut off at the limit: the rest of the body never reached the disk.
    assert 0 < RecordingUploadHandler.largest_on_disk <= 1024 * 1024
    _assert_nothing_charged_or_left(user)


class RecordingUploadHandler(LimitedTemporaryFileUploadHandler):
    """The real handler, noting the most bytes one upload ever had on disk."""

    largest_on_disk = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        super().receive_data_chunk(raw_data, start)
        size = self.file.tell()
        cls = type(self)
        cls.largest_on_disk = max(cls.largest_on_disk, size)


def test_a_song_over_max_audio_minutes_is_refused_before_admission(api, user, settings):
    settings.MAX_AUDIO_MINUTES = 0
    response = _api_post(api, "long.wav", wav_bytes(2.0))
    assert response.status_code == 400
    assert response.json() == {
        "detail": "“long.wav” is 2 s long; the limit is 0 minutes.",
        "code": "invalid_audio",
    }
    _assert_nothing_charged_or_left(user)


def _streamed_wav_header(tmp: Path) -> bytes:
    # What a recorder that streams writes before it knows the length.
    return wav_header(data_bytes=0xFFFFFFFF, payload=_pcm(1.0))


# (id, uploaded name, content): each is a real song in an unusual shape.
PROCESSED = [
    ("silence", "silence.wav", _wav(silent=True)),
    ("8-channels", "surround.wav", _wav(channels=8)),
    ("8-khz-mono", "phone.wav", _wav(rate=8000, channels=1)),
    ("192-khz", "hires.wav", _wav(rate=192000)),
    ("24-bit", "pcm24.wav", _wav(subtype="PCM_24")),
    ("32-bit-float", "float.wav", _wav(subtype="FLOAT")),
    ("truncated-wav", "cut.wav", _cut(_wav(seconds=2.0), 0.5)),
    ("wav-streamed-header", "live.wav", _streamed_wav_header),
    ("mp3-cut-after-3-seconds", "download.mp3", _cut(_mp3(4.5), 0.8)),
]


@pytest.mark.parametrize(
    ("name", "make"), [pytest.param(*case[1:], id=case[0]) for case in PROCESSED]
)
def test_an_odd_but_real_song_is_separated(
    api,
    user,
    tmp_path,
    live_stemworker,
    django_capture_on_commit_callbacks,
    name,
    make,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _api_post(
            api, name, make(tmp_path), two_stems="vocals", output_format="wav"
        )
    assert response.status_code == 201, response.content
    [body] = response.json()
    assert body["filename"] == name
    run_queue()

    job = Job.objects.get(pk=body["id"])
    assert job.status == Job.Status.SUCCEEDED, (job.error, job.error_log[-2000:])
    assert account_for_user(user).balance == 2
    assert not ledger_mismatches()
    # The original is gone; only the stems remain.
    assert sorted(shared_files()) == sorted(stem.path for stem in job.stems.all())


# (id, uploaded name, the name shown). Names never reach demucs (the upload is
# stored as uploads/<job id>/input.<ext>), so these are admitted, checked and
# cancelled; test_the_sites_form_separates_a_song_with_a_hostile_name runs one
# through the stemworker.
NAMES = [
    ("unicode", "Björk – 曲 🎵.wav", "Björk – 曲 🎵.wav"),
    ("unicode-decomposed", "Bjo\u0308rk.wav", "Björk.wav"),
    ("path-traversal", "../../etc/passwd.wav", "passwd.wav"),
    ("absolute-path", "/var/lib/shared/outputs/x.wav", "x.wav"),
    ("windows-path", "C:\\Users\\me\\..\\song.wav", "song.wav"),
    ("control-chars", "a\x00b\x1b[31mred\x07\x7f.wav", "ab[31mred.wav"),
    ("bidi-controls", "\u202bשיר\u202c \u2067x\u2069.wav", "שיר x.wav"),
    ("quotes-and-newline", 'say "hi"\n.wav', 'say "hi".wav'),
    ("only-dots-and-spaces", ". . ..wav", "song.wav"),
    ("very-long-name", "x" * 300 + ".wav", "x" * 196 + ".wav"),
    ("windows-device-name", "CON.wav", "_CON.wav"),
]


@pytest.mark.parametrize(
    ("name", "shown"), [pytest.param(*case[1:], id=case[0]) for case in NAMES]
)
def test_a_hostile_name_is_only_displayed_cleaned(api, user, name, shown):
    response = _api_post(api, name, wav_bytes(0.5))
    assert response.status_code == 201, response.content
    [body] = response.json()
    assert body["filename"] == shown
    job = Job.objects.get(pk=body["id"])
    assert shared_files() == [storage.upload_dir(job) / "input.wav"]

    assert api.delete(f"{JOBS}{job.pk}/").status_code == 204
    assert account_for_user(user).balance == 3
    assert not ledger_mismatches()
    assert shared_files() == []
    finished = finished_job(user, original_filename=shown)
    _assert_download_names_are_safe(api, finished, shown)


def _assert_download_names_are_safe(api: Any, job: Job, shown: str) -> None:
    response = download(api, f"{JOBS}{job.pk}/stems/vocals/")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.isascii() and disposition.isprintable()
    match = re.fullmatch(
        r"attachment; (?:filename=\"(.*)\"|filename\*=utf-8''(\S+))", disposition
    )
    assert match, disposition
    quoted, encoded = match.groups()
    sent = unquote(encoded) if encoded else re.sub(r"\\(.)", r"\1", quoted)
    assert sent == f"{job.title} - vocals.wav"
    assert "/" not in sent and "\\" not in sent


def test_the_sites_form_refuses_what_the_api_refuses(client, user):
    client.force_login(user)
    image = io.BytesIO(png_bytes())
    image.name = "cover.mp3"
    response = client.post(
        reverse("jobs:upload"),
        {"songs": [image], "model": "htdemucs", "output_format": "mp3"},
    )
    assert response.status_code == 400
    assert "“cover.mp3” could not be read as audio." in response.content.decode()
    _assert_nothing_charged_or_left(user)


def test_the_sites_form_refuses_an_empty_or_cut_file(client, user, tmp_path):
    client.force_login(user)
    for name, content, words in [
        ("empty.wav", b"", "The submitted file is empty."),
        ("cut.mp3", encoded_bytes(tmp_path, "mp3", 3.0)[:20000], DAMAGED),
    ]:
        part = io.BytesIO(content)
        part.name = name
        response = client.post(
            reverse("jobs:upload"),
            {"songs": [part], "model": "htdemucs", "output_format": "mp3"},
        )
        assert response.status_code == 400
        assert words in response.content.decode()
    _assert_nothing_charged_or_left(user)


def test_the_sites_form_separates_a_song_with_a_hostile_name(
    client, user, live_stemworker, django_capture_on_commit_callbacks
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            reverse("jobs:upload"),
            "songs",
            "../\u202eBjörk 🎵.wav",
            wav_bytes(1.0),
            model="htdemucs",
            two_stems="vocals",
            output_format="wav",
        )
    assert response.status_code == 302
    run_queue()
    job = Job.objects.get(user=user)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.original_filename == "Björk 🎵.wav"
    assert account_for_user(user).balance == 2
    assert not ledger_mismatches()
    assert sorted(shared_files()) == sorted(stem.path for stem in job.stems.all())
    page = client.get(reverse("jobs:dashboard")).content.decode()
    assert "Björk 🎵.wav" in page
