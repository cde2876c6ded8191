"""The client against the real API, in this process (httpx's WSGI transport on
config.wsgi): every answer it decodes is one the server really gives. A link
off the site (a presigned URL of the bucket, on s3) goes over the network."""

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from muxminus import BadRequest, Client, InvalidAudio, NotFound, NotSignedIn

from accounts.services import api_token_create
from billing.services import account_for_user
from config.wsgi import application
from tests.helpers.jobs import finished_job
from tests.helpers.stored import stored_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Django closes the DB connection after each request, which would end the
    test's transaction (its own test client switches that off too)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


class SiteAndStore(httpx.BaseTransport):
    """The site in this process; anything else (the bucket) over HTTP."""

    def __init__(self) -> None:
        self.site = httpx.WSGITransport(app=application)
        self.network = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        on_site = request.url.host == "testserver"
        return (self.site if on_site else self.network).handle_request(request)

    def close(self) -> None:
        self.network.close()


@pytest.fixture
def mux(user, keep_the_test_connection, settings) -> Iterator[Client]:
    settings.API_THROTTLE_RATES = {"api": None, "job_create": None}
    _, token = api_token_create(user=user, name="client tests")
    transport = SiteAndStore()
    with Client(token, "http://testserver", transport=transport) as client:
        yield client


def test_account_and_models_decode(mux, user):
    account = mux.me()
    assert account.email == user.email
    assert account.credits == account_for_user(user).balance
    assert account.max_active_jobs == 5
    models = mux.models()
    assert {"htdemucs", "htdemucs_6s"} <= {model.name for model in models}
    six = next(model for model in models if model.name == "htdemucs_6s")
    assert "guitar" in six.stems


def test_a_finished_job_decodes_and_its_stems_download(mux, user, tmp_path: Path):
    job = finished_job(user)
    got = mux.jobs.get(str(job.pk))
    assert got.status == "succeeded" and got.progress == 100
    assert sorted(stem.name for stem in got.stems) == ["no_vocals", "vocals"]
    assert got.created_at.tzinfo is not None
    assert [listed.id for listed in mux.jobs.list()] == [got.id]

    archive = mux.jobs.download(got, tmp_path)
    assert archive.name == "Song - stems.zip"
    names = zipfile.ZipFile(io.BytesIO(archive.read_bytes())).namelist()
    assert sorted(names) == ["Song - no_vocals.wav", "Song - vocals.wav"]

    vocals = stored_bytes(next(s for s in job.stems.all() if s.name == "vocals").path)
    partial = tmp_path / "vocals.wav.part"
    partial.write_bytes(vocals[:1000])  # an earlier, interrupted download
    saved = mux.jobs.download(got, tmp_path / "vocals.wav", stem="vocals")
    assert saved.read_bytes() == vocals


def test_an_upload_retried_with_its_key_is_charged_once(mux, user, tmp_path: Path, wav):
    song = tmp_path / "Retried.wav"
    song.write_bytes(wav)
    before = mux.me().credits
    first = mux.jobs.create(song, model="htdemucs", idempotency_key="the-same-key")
    again = mux.jobs.create(song, model="htdemucs", idempotency_key="the-same-key")
    assert [job.id for job in again] == [job.id for job in first]
    assert first[0].filename == "Retried.wav" and first[0].status == "queued"
    assert mux.me().credits == before - 1


def test_deleting_a_queued_job_refunds_it(mux, tmp_path: Path, wav):
    song = tmp_path / "song.wav"
    song.write_bytes(wav)
    before = mux.me().credits
    [job] = mux.jobs.create([song], model="htdemucs", two_stems="vocals")
    mux.jobs.delete(job)
    assert mux.me().credits == before
    with pytest.raises(NotFound):
        mux.jobs.get(job)


def test_refusals_carry_the_servers_code_and_message(mux, tmp_path: Path):
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(b"\x13\x37" * 4000)
    with pytest.raises(InvalidAudio) as refused:
        mux.jobs.create(noise, model="htdemucs")
    assert refused.value.status == 400 and refused.value.code == "invalid_audio"
    assert refused.value.detail
    with pytest.raises(BadRequest) as unknown:
        mux.jobs.create(noise, model="no-such-model")
    assert "htdemucs" in unknown.value.detail  # the valid choices


def test_a_wrong_token_is_not_signed_in(keep_the_test_connection):
    transport = SiteAndStore()
    with Client("wrong", "http://testserver", transport=transport) as client:
        with pytest.raises(NotSignedIn) as refused:
            client.me()
    assert refused.value.status == 401  # type: ignore[attr-defined]
