"""Stem and zip downloads: Django checks who asks and answers with
X-Accel-Redirect alone; nginx sends the file, Range requests included."""

import io
import re
import zipfile
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from devtools.audio import write_song
from devtools.production import ProductionStack
from tests.helpers.production import Person, path, sign_in, wait_for_job

pytestmark = pytest.mark.timeout(600)
SONG = "Café – démo.wav"
TITLE = "Café – démo"


@pytest.fixture(scope="module")
def job(production, people, tmp_path_factory) -> dict[str, Any]:
    """A separated job of the first person's, uploaded through nginx."""
    song = write_song(tmp_path_factory.mktemp("download") / "song.wav", 2.0)
    with production.client(headers=people[0].auth) as client, song.open("rb") as file:
        created = client.post(
            "/api/v1/jobs/",
            data={"model": "htdemucs", "two_stems": "vocals", "output_format": "wav"},
            files={"file": (SONG, file, "audio/wav")},
        )
        assert created.status_code == 201, created.text
        done = wait_for_job(client, f"/api/v1/jobs/{created.json()[0]['id']}/")
    assert done["status"] == "succeeded", done
    return done


@pytest.fixture
def owner(production: ProductionStack, people: list[Person]) -> httpx.Client:
    return production.client(headers=people[0].auth)


def _stem_url(job: dict[str, Any], name: str = "vocals") -> str:
    return path(next(s["url"] for s in job["stems"] if s["name"] == name))


def _on_disk(production: ProductionStack, job: dict[str, Any], name: str) -> bytes:
    return (production.volume("shared") / "outputs" / job["id"] / name).read_bytes()


def _filename(disposition: str) -> str:
    """The file name of a Content-Disposition (RFC 6266, filename* first)."""
    encoded = re.search(r"filename\*=utf-8''([^;]+)", disposition, re.IGNORECASE)
    if encoded:
        return unquote(encoded.group(1))
    plain = re.search(r'filename="([^"]*)"', disposition)
    assert plain, disposition
    return plain.group(1)


@pytest.mark.parametrize(
    ("which", "file"), [("vocals", "vocals.wav"), ("zip", "stems.zip")]
)
def test_django_answers_with_the_x_accel_redirect_header_alone(
    production, people, job, which, file
):
    # Straight to gunicorn, behind nginx's back: what Django itself answers.
    url = path(job["download_url"]) if which == "zip" else _stem_url(job, which)
    with production.client(base_url=production.web_url, headers=people[0].auth) as web:
        answer = web.get(url)
    assert answer.status_code == 200
    assert (
        answer.headers["x-accel-redirect"] == f"/protected/outputs/{job['id']}/{file}"
    )
    assert answer.content == b""


@pytest.mark.parametrize(
    ("stem", "content_type"), [("vocals", "audio/wav"), ("no_vocals", "audio/wav")]
)
def test_nginx_sends_the_stem_file(production, owner, job, stem, content_type):
    with owner:
        answer = owner.get(_stem_url(job, stem))
    assert answer.status_code == 200
    assert answer.content == _on_disk(production, job, f"{stem}.wav")
    assert answer.headers["server"] == "nginx"
    assert answer.headers["content-type"] == content_type
    assert answer.headers["accept-ranges"] == "bytes"
    assert "x-accel-redirect" not in answer.headers
    assert answer.headers["cache-control"] == "private, max-age=3600"


@pytest.mark.parametrize(
    ("asked", "first", "last"),
    [
        ("bytes=100-199", 100, 199),
        ("bytes=-50", None, None),
        ("bytes=1000-", 1000, None),
    ],
)
def test_range_requests_get_206_and_the_right_bytes(
    production, owner, job, asked, first, last
):
    data = _on_disk(production, job, "vocals.wav")
    size = len(data)
    first = size - 50 if first is None else first
    last = size - 1 if last is None else last
    with owner:
        answer = owner.get(_stem_url(job), headers={"Range": asked})
    assert answer.status_code == 206
    assert answer.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert answer.content == data[first : last + 1]


def test_a_range_past_the_end_gets_416(production, owner, job):
    size = len(_on_disk(production, job, "vocals.wav"))
    with owner:
        answer = owner.get(_stem_url(job), headers={"Range": f"bytes={size + 10}-"})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{size}"


def test_the_zip_of_all_stems_comes_from_nginx_with_ranges(production, owner, job):
    with owner:
        whole = owner.get(path(job["download_url"]))
        head = owner.get(path(job["download_url"]), headers={"Range": "bytes=0-3"})
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/zip"
    assert whole.content == _on_disk(production, job, "stems.zip")
    names = zipfile.ZipFile(io.BytesIO(whole.content)).namelist()
    assert sorted(names) == [f"{TITLE} - no_vocals.wav", f"{TITLE} - vocals.wav"]
    assert head.status_code == 206
    assert head.content == b"PK\x03\x04"
    assert head.headers["content-range"] == f"bytes 0-3/{len(whole.content)}"


@pytest.mark.parametrize(
    ("which", "expected"),
    [("vocals", f"{TITLE} - vocals.wav"), ("zip", f"{TITLE} - stems.zip")],
)
def test_downloads_carry_the_songs_name(owner, job, which, expected):
    url = path(job["download_url"]) if which == "zip" else _stem_url(job, which)
    with owner:
        answer = owner.get(url)
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert _filename(disposition) == expected


def test_the_site_serves_its_downloads_through_nginx_too(production, people, job):
    with production.client() as browser:
        sign_in(browser, people[0])
        stem = browser.get(f"/jobs/{job['id']}/stems/vocals/")
        ranged = browser.get(
            f"/jobs/{job['id']}/download/", headers={"Range": "bytes=0-1"}
        )
    assert stem.status_code == 200
    assert stem.content == _on_disk(production, job, "vocals.wav")
    assert _filename(stem.headers["content-disposition"]) == f"{TITLE} - vocals.wav"
    assert ranged.status_code == 206
    assert ranged.content == b"PK"


def test_another_persons_download_is_a_404(production, people, job):
    with production.client(headers=people[1].auth) as stranger:
        answer = stranger.get(_stem_url(job))
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    assert "x-accel-redirect" not in answer.headers


def test_the_internal_location_is_not_a_way_in(production, job):
    with production.client() as anyone:
        answer = anyone.get(f"/protected/outputs/{job['id']}/vocals.wav")
    assert answer.status_code == 404
    assert answer.content != _on_disk(production, job, "vocals.wav")
