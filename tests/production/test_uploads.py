"""Uploads through nginx: streamed to Django as they arrive, separated, and
refused with the product's own messages when too large (Django's limit per file,
nginx's per request)."""

import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools import deploy_config as deploy
from devtools.audio import write_song
from devtools.production import DOMAIN, ProductionStack
from tests.helpers.browser import wait_for
from tests.helpers.production import (
    MB,
    announce_body,
    csrf_token,
    sign_in,
    wait_for_job,
)

pytestmark = pytest.mark.timeout(600)
MAX_UPLOAD_MB = 2  # devtools.production.variables()


class PausedMultipart:
    """A multipart body sent in two halves with a pause between, with its
    Content-Length (so nginx may stream it; a chunked body it would buffer)."""

    def __init__(self, fields: dict[str, str], file_field: str, name: str, data: bytes):
        self.boundary = f"paused-{secrets.token_hex(8)}"
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
            f"{value}\r\n"
            for key, value in fields.items()
        )
        head += (
            f"--{self.boundary}\r\nContent-Disposition: form-data; "
            f'name="{file_field}"; filename="{name}"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        )
        self.parts = [head.encode(), data[: len(data) // 2], data[len(data) // 2 :]]
        self.parts.append(f"\r\n--{self.boundary}--\r\n".encode())
        self.resume = threading.Event()

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(sum(len(part) for part in self.parts)),
        }

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts[:2]
        self.resume.wait(timeout=120)
        yield from self.parts[2:]


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def streamed_post(
    production: ProductionStack,
    client: httpx.Client,
    uri: str,
    body: PausedMultipart,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `body`; while its second half is held back, Django must already be
    writing the file (nginx passes the body on as it comes) and nginx must have
    spooled nothing of it."""
    answer: dict[str, Any] = {}

    def send() -> None:
        try:
            answer["response"] = client.post(
                uri, content=body, headers={**body.headers, **(headers or {})}
            )
        except httpx.HTTPError as error:
            answer["error"] = error

    sender = threading.Thread(target=send)
    sender.start()
    try:
        # FILE_UPLOAD_TEMP_DIR: Django's upload handler writes the file here.
        receiving = production.volume("shared") / "tmp"
        # Waits for Django to receive the first half of the upload.
        partial = wait_for(
            lambda: [p for p in _files(receiving) if p.stat().st_size > 0], timeout=60
        )
        assert partial, "nothing reached Django before the body was complete"
        assert not _files(production.layout.root / "nginx" / "temp" / "client_body")
    finally:
        body.resume.set()
        sender.join(timeout=120)
    assert "error" not in answer, answer.get("error")
    response: httpx.Response = answer["response"]
    return response


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_song(tmp_path_factory.mktemp("song") / "song.wav", 2.0).read_bytes()


def test_an_api_upload_streams_through_nginx_and_separates(production, people, song):
    person = people[0]
    body = PausedMultipart(
        {"model": "htdemucs", "two_stems": "vocals", "output_format": "wav"},
        "file",
        "Streamed.wav",
        song,
    )
    with production.client(headers=person.auth) as client:
        created = streamed_post(production, client, "/api/v1/jobs/", body)
        assert created.status_code == 201, created.text
        [job] = created.json()
        assert job["filename"] == "Streamed.wav"
        done = wait_for_job(client, f"/api/v1/jobs/{job['id']}/")
    assert done["status"] == "succeeded", done
    assert sorted(stem["name"] for stem in done["stems"]) == ["no_vocals", "vocals"]
    # Links are the public site's, as nginx told Django (X-Forwarded-Proto, -Host).
    assert done["download_url"] == f"https://{DOMAIN}/api/v1/jobs/{job['id']}/download/"


def test_a_dashboard_form_upload_streams_through_nginx_and_separates(
    production, people, song
):
    person = people[2]
    with production.client() as browser:
        sign_in(browser, person)
        dashboard = browser.get("/jobs/")
        assert dashboard.status_code == 200
        body = PausedMultipart(
            {
                "csrfmiddlewaretoken": csrf_token(dashboard),
                "model": "htdemucs",
                "two_stems": "vocals",
                "output_format": "mp3",
            },
            "songs",
            "From the form.wav",
            song,
        )
        posted = streamed_post(
            production,
            browser,
            "/jobs/upload/",
            body,
            {"Referer": f"https://{DOMAIN}/jobs/"},
        )
        assert posted.status_code == 302, posted.text[:1000]
        assert posted.headers["location"] == "/jobs/"
        assert "1 song queued for separation." in browser.get("/jobs/").text

        def finished() -> dict[str, Any] | None:
            jobs = browser.get("/jobs/status/?newest=1").json()["jobs"]
            job = next(j for j in jobs if j["filename"] == "From the form.wav")
            return job if job["status"] in ("succeeded", "failed") else None

        job = wait_for(finished, timeout=180)
        assert job["status"] == "succeeded", job
        stem = browser.get(f"/jobs/{job['id']}/stems/vocals/")
    assert stem.status_code == 200
    assert stem.headers["content-type"] == "audio/mpeg"
    assert stem.content[:3] == b"ID3" or stem.content[0] == 0xFF  # an mp3


def _over_max_upload() -> bytes:
    return os.urandom(MAX_UPLOAD_MB * MB + 256 * 1024)


def test_a_file_over_max_upload_mb_gets_the_apis_413(production, people):
    person = people[0]
    with production.client(headers=person.auth) as client:
        before = client.get("/api/v1/me/").json()
        refused = client.post(
            "/api/v1/jobs/",
            data={"model": "htdemucs", "output_format": "mp3"},
            files={"file": ("Too big.wav", _over_max_upload(), "audio/wav")},
        )
        after = client.get("/api/v1/me/").json()
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {
        "detail": f"Each file can be at most {MAX_UPLOAD_MB} MB.",
        "code": "file_too_large",
    }
    assert after == before  # nothing charged, no job


def test_a_file_over_max_upload_mb_gets_a_message_on_the_dashboard(production, people):
    person = people[2]
    with production.client() as browser:
        sign_in(browser, person)
        dashboard = browser.get("/jobs/")
        refused = browser.post(
            "/jobs/upload/",
            data={
                "csrfmiddlewaretoken": csrf_token(dashboard),
                "model": "htdemucs",
                "output_format": "mp3",
            },
            files={"songs": ("Too big.wav", _over_max_upload(), "audio/wav")},
            headers={"Referer": f"https://{DOMAIN}/jobs/"},
        )
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("text/html")
    assert f"Each file can be at most {MAX_UPLOAD_MB} MB." in refused.text
    assert 'name="songs"' in refused.text  # the form, to try again


def _nginx_limit_mb(uri: str) -> int:
    """client_max_body_size of the location nginx.conf sends `uri` to, in MB."""
    http = deploy.parse_nginx(deploy.NGINX_PATH.read_text()).first("http")
    assert http is not None
    server = http.first("server")
    assert server is not None
    location = deploy.match_location(server, uri)
    assert location is not None
    value = deploy.effective(location, "client_max_body_size")
    assert value is not None and value[0].endswith("m"), value
    return int(value[0][:-1])


def _announce_over_the_limit(
    production: ProductionStack, uri: str, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    size = (_nginx_limit_mb(uri) + 1) * MB
    return announce_body(
        production.url,
        uri,
        size,
        {"Host": DOMAIN, "X-Forwarded-Proto": "https", **headers},
    )


@pytest.mark.parametrize("uri", ["/api/v1/jobs/", "/api/v1/me/"])
def test_a_body_over_nginxs_limit_gets_the_apis_413(production, people, uri):
    status, headers, body = _announce_over_the_limit(
        production, uri, Authorization=people[0].auth["Authorization"]
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    answer = httpx.Response(413, content=body).json()
    # The code of Django's own 413 (and the dashboard's upload queue shows `detail`).
    assert answer["code"] == "file_too_large"
    assert "too large" in answer["detail"] or "larger" in answer["detail"]


@pytest.mark.parametrize("uri", ["/jobs/upload/", "/accounts/login/"])
def test_a_body_over_nginxs_limit_gets_a_page_on_the_site(production, uri):
    status, headers, body = _announce_over_the_limit(production, uri)
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    page = body.decode()
    assert '<html lang="en">' in page
    assert "too large" in page
    assert 'href="/jobs/"' in page
