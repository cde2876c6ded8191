"""The REST API, endpoint by endpoint and error by error (ARCHITECTURE 4)."""

import io
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from billing.services import account_for_user, credits_adjust
from jobs import lifecycle, storage
from jobs.models import Job
from tests.helpers.api import JOBS, post_jobs, upload
from tests.helpers.jobs import finished_job
from tests.helpers.stored import download, is_stored, shared_files, stored_bytes

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    return body


# --- Authentication ---------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/models/", "/api/v1/me/", JOBS, f"{JOBS}{uuid.uuid4()}/"]
)
def test_anonymous_calls_get_401_with_a_code(path):
    response = APIClient().get(path)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_wrong_or_revoked_token_gets_401(api, user):
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(bad.get(JOBS), 401, "authentication_failed")
    assert api.get(JOBS).status_code == 200
    ApiToken.objects.filter(user=user).delete()
    assert_error(api.get(JOBS), 401, "authentication_failed")


def test_the_session_works_for_the_sites_own_pages(client, user):
    client.force_login(user)
    assert client.get("/api/v1/me/").status_code == 200


# --- Models and account -----------------------------------------------------


def test_models_list_names_and_stems(api):
    response = api.get("/api/v1/models/")
    assert response.status_code == 200
    models = {m["name"]: m for m in response.json()}
    assert set(models) == {"htdemucs", "htdemucs_ft", "htdemucs_6s"}
    assert "guitar" in models["htdemucs_6s"]["stems"]
    assert set(models["htdemucs"]) == {
        "name",
        "stems",
        "description",
        "available",
        "reason",
    }
    # Without an answer from the stemworker, every configured model is offered.
    assert all(m["available"] and m["reason"] == "" for m in models.values())


def test_me_summarises_the_account(api, user):
    finished_job(user)
    body = api.get("/api/v1/me/").json()
    assert body == {
        "email": user.email,
        "credits": 3,
        "active_jobs": 0,
        "max_active_jobs": 5,
    }


# --- Creating jobs ----------------------------------------------------------


def test_one_upload_creates_one_job(api, user, wav):
    response = post_jobs(api, upload(wav, "Track One.wav"), two_stems="vocals")
    assert response.status_code == 201
    [job] = response.json()
    assert job["status"] == "queued"
    assert job["filename"] == "Track One.wav"
    assert (job["model"], job["two_stems"], job["output_format"]) == (
        "htdemucs",
        "vocals",
        "mp3",
    )
    assert job["stems"] == [] and job["download_url"] is None
    assert job["expired"] is False and job["error"] is None
    assert Job.objects.get().pk == uuid.UUID(job["id"])
    assert account_for_user(user).balance == 2


def test_several_uploads_create_one_job_each_in_order(api, user, wav):
    files = [upload(wav, f"{n}.wav") for n in ("a", "b", "c")]
    response = post_jobs(api, *files, output_format="flac")
    assert response.status_code == 201
    assert [j["filename"] for j in response.json()] == ["a.wav", "b.wav", "c.wav"]
    assert {j["output_format"] for j in response.json()} == {"flac"}
    assert account_for_user(user).balance == 0


@pytest.mark.parametrize("two_stems", ["", None])
def test_empty_or_missing_two_stems_means_every_stem(api, wav, two_stems):
    fields = {} if two_stems is None else {"two_stems": two_stems}
    response = post_jobs(api, upload(wav), **fields)
    assert response.status_code == 201
    assert response.json()[0]["two_stems"] is None
    assert Job.objects.get().two_stems == ""


def test_output_format_defaults_to_mp3(api, wav):
    response = api.post(
        JOBS, {"file": [upload(wav)], "model": "htdemucs"}, format="multipart"
    )
    assert response.status_code == 201
    assert response.json()[0]["output_format"] == "mp3"


@pytest.mark.parametrize(
    ("fields", "choices"),
    [
        ({"model": "nope"}, "htdemucs, htdemucs_ft, htdemucs_6s"),
        ({"model": ""}, "htdemucs, htdemucs_ft, htdemucs_6s"),
        ({"two_stems": "guitar"}, "drums, bass, other, vocals"),
        ({"output_format": "ogg"}, "mp3, wav, flac"),
    ],
)
def test_unknown_choices_are_400_listing_the_valid_ones(
    api, user, wav, fields, choices
):
    body = assert_error(post_jobs(api, upload(wav), **fields), 400, "invalid")
    assert choices in body["detail"]
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_a_post_without_files_is_400(api):
    body = assert_error(post_jobs(api), 400, "invalid")
    assert "at least one audio file" in str(body["errors"]["file"])


def test_json_instead_of_multipart_is_415(api):
    response = api.post(JOBS, {"model": "htdemucs"}, format="json")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.wav", b"", "is empty"),
        ("noise.mp3", b"\x89PNG\r\n\x1a\n" + b"\0" * 2048, "could not be read"),
        ("notes.txt", b"hello", "not a supported audio file"),
    ],
)
def test_bad_audio_is_400_invalid_audio(api, user, wav, name, content, message):
    response = post_jobs(api, upload(wav, "good.wav"), upload(content, name))
    body = assert_error(response, 400, "invalid_audio")
    assert message in body["detail"]
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_too_long_audio_is_400_invalid_audio(api, wav, settings):
    settings.MAX_AUDIO_MINUTES = 0
    body = assert_error(post_jobs(api, upload(wav)), 400, "invalid_audio")
    assert "the limit is 0 minutes" in body["detail"]


def test_an_oversized_upload_is_413_while_streaming(api, user, wav, settings):
    settings.MAX_UPLOAD_MB = 0
    body = assert_error(post_jobs(api, upload(wav)), 413, "file_too_large")
    assert "at most 0 MB" in body["detail"]
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_an_unverified_address_is_403(api, user, wav):
    user.emailaddress_set.update(verified=False)
    assert_error(post_jobs(api, upload(wav)), 403, "email_unverified")
    assert not Job.objects.exists()


def test_too_few_credits_is_402_all_or_nothing(api, user, wav):
    files = [upload(wav, f"{i}.wav") for i in range(4)]
    body = assert_error(post_jobs(api, *files), 402, "no_credits")
    assert (body["credits"], body["slots_free"]) == (3, 5)
    assert "You have 3 credits" in body["detail"]
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_too_many_active_jobs_is_429_with_retry_after(api, user, wav):
    credits_adjust(user=user, delta=10, note="test")
    first = [upload(wav, f"{i}.wav") for i in range(3)]
    assert post_jobs(api, *first).status_code == 201
    files = [upload(wav, f"more-{i}.wav") for i in range(3)]
    response = post_jobs(api, *files)
    body = assert_error(response, 429, "too_many_active_jobs")
    assert (body["slots_free"], body["credits"]) == (2, 10)
    assert "3 of 5" in body["detail"] and "2 more can start now" in body["detail"]
    assert int(response["Retry-After"]) >= 5
    assert Job.objects.count() == 3  # all or nothing
    assert account_for_user(user).balance == 10
    # What fits still goes in.
    fits = [upload(wav, f"fits-{i}.wav") for i in range(2)]
    assert post_jobs(api, *fits).status_code == 201


# --- Reading and deleting jobs ----------------------------------------------


def test_job_detail_shows_stems_and_download_links(api, user):
    job = finished_job(user)
    body = api.get(f"{JOBS}{job.pk}/").json()
    assert body["status"] == "succeeded" and body["progress"] == 100
    assert [s["name"] for s in body["stems"]] == ["vocals", "no_vocals"]
    assert body["stems"][0]["url"].endswith(f"/api/v1/jobs/{job.pk}/stems/vocals/")
    assert body["stems"][0]["size"] > 0
    assert body["download_url"].endswith(f"/api/v1/jobs/{job.pk}/download/")
    assert body["expired"] is False
    assert body["expires_at"] == job.expires_at.isoformat().replace("+00:00", "Z")
    assert body["started_at"] is None and body["finished_at"].endswith("Z")


def test_delete_cancels_refunds_and_removes_files(api, user, wav):
    [created] = post_jobs(api, upload(wav)).json()
    job = Job.objects.get(pk=created["id"])
    assert is_stored(storage.canonical_path(job))
    assert account_for_user(user).balance == 2
    response = api.delete(f"{JOBS}{job.pk}/")
    assert response.status_code == 204
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []
    assert_error(api.get(f"{JOBS}{job.pk}/"), 404, "not_found")


def test_delete_of_a_finished_job_removes_its_stems(api, user):
    job = finished_job(user)
    assert api.delete(f"{JOBS}{job.pk}/").status_code == 204
    assert not is_stored(storage.output_dir(job) / "vocals.wav")
    assert shared_files() == []
    assert account_for_user(user).balance == 3  # nothing to refund


def test_an_unknown_job_is_404(api):
    assert_error(api.get(f"{JOBS}{uuid.uuid4()}/"), 404, "not_found")


# --- Downloads --------------------------------------------------------------


def test_stem_download_has_type_name_and_ranges(api, user):
    job = finished_job(user)
    url = f"{JOBS}{job.pk}/stems/vocals/"
    whole = download(api, url)
    body = whole.content
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "audio/wav"
    assert 'filename="Song - vocals.wav"' in whole.headers["Content-Disposition"]
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert body == stored_bytes(storage.output_dir(job) / "vocals.wav")
    part = download(api, url, HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(body)}"
    assert part.content == body[:10]
    assert download(api, url, HTTP_RANGE=f"bytes={len(body)}-").status_code == 416
    assert_error(api.get(f"{JOBS}{job.pk}/stems/drums/"), 404, "not_found")


def test_zip_download_holds_every_stem(api, user):
    job = finished_job(user, original_filename="My Song.mp3")
    response = download(api, f"{JOBS}{job.pk}/download/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert 'filename="My Song - stems.zip"' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "My Song - no_vocals.wav",
        "My Song - vocals.wav",
    ]


def test_zip_of_an_unfinished_job_is_404_not_ready(api, wav):
    [created] = post_jobs(api, upload(wav)).json()
    assert_error(api.get(f"{JOBS}{created['id']}/download/"), 404, "not_ready")


def test_expired_stems_are_410_and_links_are_null(api, user):
    job = finished_job(user)
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    lifecycle.jobs_purge_expired()
    assert_error(api.get(f"{JOBS}{job.pk}/download/"), 410, "expired")
    assert_error(api.get(f"{JOBS}{job.pk}/stems/vocals/"), 410, "expired")
    body = api.get(f"{JOBS}{job.pk}/").json()
    assert body["expired"] is True and body["download_url"] is None
    assert [s["url"] for s in body["stems"]] == [None, None]


@pytest.mark.filesystem_only  # nginx serves the shared folder; s3 presigns
def test_behind_nginx_downloads_are_handed_to_the_proxy(api, user, settings):
    settings.SENDFILE_ACCEL_PREFIX = "/protected/"
    job = finished_job(user)
    response = api.get(f"{JOBS}{job.pk}/stems/vocals/")
    assert response["X-Accel-Redirect"] == f"/protected/outputs/{job.pk}/vocals.wav"
    assert response["Content-Type"] == "audio/wav"
    assert response.content == b""


# --- Isolation: another person's job is a 404, whatever the verb ----------------

SUBPATHS = ["", "stems/vocals/", "download/"]
VERBS = ["get", "head", "options", "delete", "put", "patch", "post"]


@pytest.mark.parametrize("subpath", SUBPATHS)
@pytest.mark.parametrize("verb", VERBS)
def test_another_persons_job_is_404_for_every_verb(api, other_user, subpath, verb):
    theirs = finished_job(other_user)
    response = getattr(api, verb)(f"{JOBS}{theirs.pk}/{subpath}")
    assert response.status_code == 404
    if verb != "head":
        assert response.json()["code"] == "not_found"
    assert Job.objects.filter(pk=theirs.pk).exists()
    assert is_stored(storage.output_dir(theirs) / "vocals.wav")


@pytest.mark.parametrize("subpath", SUBPATHS)
@pytest.mark.parametrize("verb", VERBS)
def test_a_missing_job_answers_like_another_persons(api, subpath, verb):
    response = getattr(api, verb)(f"{JOBS}{uuid.uuid4()}/{subpath}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("subpath", "verbs"),
    [("", ["put", "patch", "post"]), ("download/", ["delete", "post"])],
)
def test_verbs_a_resource_lacks_are_405_on_your_own_job(api, user, subpath, verbs):
    job = finished_job(user)
    for verb in verbs:
        response = getattr(api, verb)(f"{JOBS}{job.pk}/{subpath}")
        assert_error(response, 405, "method_not_allowed")


def test_lists_show_only_your_own_jobs(api, user, other_user):
    mine = finished_job(user)
    finished_job(other_user)
    body = api.get(JOBS).json()
    assert body["count"] == 1
    assert [j["id"] for j in body["results"]] == [str(mine.pk)]


# --- Pagination -------------------------------------------------------------


def _many_jobs(user, count: int) -> list[Job]:  # type: ignore[no-untyped-def]
    now = timezone.now()
    return Job.objects.bulk_create(
        Job(
            user=user,
            original_filename=f"{i}.wav",
            input_extension="wav",
            model="htdemucs",
            status=Job.Status.FAILED,
            created_at=now - timedelta(minutes=i),
        )
        for i in range(count)
    )


def test_the_list_is_paginated_newest_first(api, user):
    _many_jobs(user, 120)
    first = api.get(JOBS).json()
    assert first["count"] == 120
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert first["next"].endswith("/api/v1/jobs/?page=2")
    assert [j["filename"] for j in first["results"][:2]] == ["0.wav", "1.wav"]
    last = api.get(JOBS, {"page": 3}).json()
    assert [j["filename"] for j in last["results"]][-1] == "119.wav"
    assert last["next"] is None and last["previous"]
    assert_error(api.get(JOBS, {"page": 4}), 404, "not_found")


def test_page_size_is_capped_at_100(api, user):
    _many_jobs(user, 120)
    assert len(api.get(JOBS, {"page_size": 10}).json()["results"]) == 10
    big = api.get(JOBS, {"page_size": 500}).json()
    assert len(big["results"]) == 100
    assert "page_size=500" in big["next"]


def test_any_other_api_path_is_a_json_404(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error(api.post(f"{JOBS}not-a-uuid/"), 404, "not_found")
    body = assert_error(api.get("/api/v1/jobs"), 404, "not_found")
    assert "/api/v1/jobs/" in body["detail"]


# --- Schema and docs --------------------------------------------------------


def test_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert set(schema["paths"]) == {
        "/api/v1/me/",
        "/api/v1/models/",
        "/api/v1/jobs/",
        "/api/v1/jobs/{id}/",
        "/api/v1/jobs/{id}/download/",
        "/api/v1/jobs/{id}/stems/{name}/",
        "/api/v1/jobs/{id}/mixes/",
        "/api/v1/jobs/{id}/mixes/{mix_id}/",
        "/api/v1/jobs/{id}/mixes/{mix_id}/download/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/callback-secret/",
        "/api/v1/webhooks/callback-secret/rotate/",
        "/api/v1/webhooks/{id}/",
        "/api/v1/webhooks/{id}/rotate-secret/",
        "/api/v1/webhooks/{id}/test/",
        "/api/v1/webhooks/{id}/deliveries/",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend/",
    }
    create = schema["paths"]["/api/v1/jobs/"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key"}
    assert {"400", "401", "402", "403", "413", "422", "429"} <= set(create["responses"])
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
