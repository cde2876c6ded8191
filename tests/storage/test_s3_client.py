"""The Python client downloads from a server on STORAGE_BACKEND=s3: it follows
the redirect to the bucket's presigned URL (without our token) and resumes a
partial file there with Range, as it does from the server itself."""

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from muxminus import Client

from accounts.services import api_token_create
from config.wsgi import application
from jobs.store import store
from tests.helpers.jobs import finished_job

pytestmark = pytest.mark.django_db


class ServerThenBucket(httpx.BaseTransport):
    """The API in this process (WSGI); anything else (the bucket) over HTTP.
    Records whether our token ever left for the bucket."""

    def __init__(self) -> None:
        self.api = httpx.WSGITransport(app=application)
        self.network = httpx.HTTPTransport()
        self.bucket_saw_token = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "testserver":
            return self.api.handle_request(request)
        self.bucket_saw_token |= "authorization" in request.headers
        return self.network.handle_request(request)


@pytest.fixture
def routed(user, settings, s3_bucket) -> Iterator[tuple[Client, ServerThenBucket]]:  # type: ignore[no-untyped-def]
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    settings.API_THROTTLE_RATES = {"api": None, "job_create": None}
    _, token = api_token_create(user=user, name="s3 client")
    transport = ServerThenBucket()
    with Client(token, "http://testserver", transport=transport) as client:
        yield client, transport
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_the_client_downloads_stems_and_the_zip_from_the_bucket(
    routed, user, tmp_path: Path
):
    mux, transport = routed
    job = finished_job(user)
    got = mux.jobs.get(str(job.pk))
    archive = mux.jobs.download(got, tmp_path)
    assert archive.name == "Song - stems.zip"
    names = zipfile.ZipFile(io.BytesIO(archive.read_bytes())).namelist()
    assert sorted(names) == ["Song - no_vocals.wav", "Song - vocals.wav"]

    key = next(s for s in job.stems.all() if s.name == "vocals").relative_path
    with store().local_copy(key) as copy:
        vocals = copy.read_bytes()
    partial = tmp_path / "vocals.wav.part"
    partial.write_bytes(vocals[:1000])  # an earlier, interrupted download
    saved = mux.jobs.download(got, tmp_path / "vocals.wav", stem="vocals")
    assert saved.read_bytes() == vocals
    assert transport.bucket_saw_token is False
