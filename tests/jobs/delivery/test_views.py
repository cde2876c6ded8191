"""The signed-in pages and downloads, with jobs finished through the real services."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from billing.services import account_for_user
from jobs import lifecycle, storage
from jobs.delivery import views
from jobs.models import Job
from tests.helpers.audio import song_bytes
from tests.helpers.jobs import finished_job, submit, upload
from tests.helpers.stored import download, is_stored, shared_files, stored_bytes

pytestmark = pytest.mark.django_db


def test_the_dashboard_needs_a_login(client):
    response = client.get(reverse("jobs:dashboard"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_upload_from_the_dashboard_creates_a_job(client, user, tmp_path):
    client.force_login(user)
    upload = io.BytesIO(song_bytes(tmp_path, seconds=1.0))
    upload.name = "Track One.wav"
    response = client.post(
        reverse("jobs:upload"),
        {
            "songs": [upload],
            "model": "htdemucs",
            "two_stems": "",
            "output_format": "mp3",
        },
    )
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.original_filename == "Track One.wav"
    page = client.get(reverse("jobs:dashboard")).content.decode()
    assert "Track One.wav" in page
    assert "1 song queued for separation." in page


def test_a_refused_upload_explains_why(client, user):
    client.force_login(user)
    upload = io.BytesIO(b"not audio at all")
    upload.name = "song.mp3"
    response = client.post(
        reverse("jobs:upload"),
        {"songs": [upload], "model": "htdemucs", "output_format": "mp3"},
    )
    assert response.status_code == 400
    assert "could not be read as audio" in response.content.decode()
    assert not Job.objects.exists()
    assert shared_files() == []


def test_an_oversized_upload_is_stopped_while_streaming(
    client, user, settings, tmp_path
):
    settings.MAX_UPLOAD_MB = 0
    client.force_login(user)
    upload = io.BytesIO(song_bytes(tmp_path, seconds=1.0))
    upload.name = "big.wav"
    response = client.post(
        reverse("jobs:upload"),
        {"songs": [upload], "model": "htdemucs", "output_format": "mp3"},
    )
    assert response.status_code == 413
    assert "at most 0 MB" in response.content.decode()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_job_page_lists_players_and_downloads(client, user):
    job = finished_job(user)
    client.force_login(user)
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert page.count("<audio") == 2
    assert reverse("jobs:zip", args=[job.pk]) in page
    assert "Available until" in page


def test_stem_download_supports_ranges(client, user):
    job = finished_job(user)
    client.force_login(user)
    url = reverse("jobs:stem", args=[job.pk, "vocals"])
    whole = download(client, url)
    body = whole.content
    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "audio/wav"
    assert 'filename="Song - vocals.wav"' in whole.headers["Content-Disposition"]
    assert body == stored_bytes(storage.output_dir(job) / "vocals.wav")
    part = download(client, url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(body)}"
    assert part.content == body[10:20]
    tail = download(client, url, HTTP_RANGE="bytes=-5")
    assert tail.content == body[-5:]
    assert download(client, url, HTTP_RANGE=f"bytes={len(body)}-").status_code == 416


def test_zip_holds_every_stem(client, user):
    job = finished_job(user)
    client.force_login(user)
    response = download(client, reverse("jobs:zip", args=[job.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["Song - no_vocals.wav", "Song - vocals.wav"]


@pytest.mark.filesystem_only  # nginx serves the shared folder; s3 presigns
def test_behind_nginx_downloads_are_handed_to_the_proxy(client, user, settings):
    settings.SENDFILE_ACCEL_PREFIX = "/protected/"
    job = finished_job(user)
    client.force_login(user)
    response = client.get(reverse("jobs:stem", args=[job.pk, "vocals"]))
    assert response["X-Accel-Redirect"] == f"/protected/outputs/{job.pk}/vocals.wav"
    assert response.content == b""


def test_another_users_job_is_a_404_everywhere(client, user, other_user):
    job = finished_job(user)
    client.force_login(other_user)
    for url in (
        reverse("jobs:detail", args=[job.pk]),
        reverse("jobs:stem", args=[job.pk, "vocals"]),
        reverse("jobs:zip", args=[job.pk]),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("jobs:delete", args=[job.pk])).status_code == 404
    assert Job.objects.filter(pk=job.pk).exists()


def test_expired_stems_are_purged_but_the_job_stays(client, user):
    job = finished_job(user)
    call_command("purge_expired")
    assert is_stored(storage.output_dir(job) / "vocals.wav")
    Job.objects.filter(pk=job.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert lifecycle.jobs_purge_expired() == 1
    job.refresh_from_db()
    assert job.files_purged_at is not None
    assert not is_stored(storage.output_dir(job) / "vocals.wav")
    assert shared_files() == []
    client.force_login(user)
    assert client.get(reverse("jobs:stem", args=[job.pk, "vocals"])).status_code == 410
    assert client.get(reverse("jobs:zip", args=[job.pk])).status_code == 410
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "expired and were deleted" in page
    assert "<audio" not in page


def test_delete_removes_job_and_files(client, user):
    job = finished_job(user)
    client.force_login(user)
    response = client.post(reverse("jobs:delete", args=[job.pk]))
    assert response.status_code == 302
    assert not Job.objects.exists()
    assert shared_files() == []


def test_peaks_are_recorded_per_stem(user):
    job = finished_job(user)
    for stem in job.stems.all():
        assert 300 <= len(stem.peaks) <= 400
        assert max(stem.peaks) > 0.1
        assert stem.duration_seconds == pytest.approx(1.0, abs=0.01)
        assert stem.size_bytes == len(stored_bytes(stem.path))


def test_the_dashboards_polling_and_the_api_show_a_job_alike(client, user):
    job = finished_job(user)
    client.force_login(user)
    polled = client.get(reverse("jobs:status"), {"newest": "1"}).json()
    assert polled["account"] == {
        "email": user.email,
        "credits": 3,
        "active_jobs": 0,
        "max_active_jobs": settings.MAX_ACTIVE_JOBS_PER_USER,
    }
    api_job = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert polled["jobs"] == [api_job]
    assert client.get("/api/v1/me/").json() == polled["account"]


def test_the_polled_list_drops_deleted_jobs_and_renders_each_row(client, user):
    kept, gone = finished_job(user), finished_job(user)
    client.force_login(user)
    lifecycle.job_delete(job=gone)
    polled = client.get(
        reverse("jobs:status"), {"ids": f"{kept.pk},{gone.pk},not-a-uuid"}
    ).json()
    assert [job["id"] for job in polled["jobs"]] == [str(kept.pk)]
    # A row the page has: its body only. One it lacks (the newest): all of it.
    body = polled["rows"][str(kept.pk)]["body"]
    assert "Expires in 23 h" in body and "Download" in body
    newest = client.get(reverse("jobs:status"), {"newest": "1"}).json()
    assert f'data-job="{kept.pk}"' in newest["rows"][str(kept.pk)]["row"]


def test_someone_elses_job_is_never_polled(client, user, other_user):
    theirs = finished_job(other_user)
    client.force_login(user)
    polled = client.get(reverse("jobs:status"), {"ids": str(theirs.pk)}).json()
    assert polled["jobs"] == [] and polled["rows"] == {}


def test_rows_tell_apart_two_songs_of_the_same_name(client, user):
    finished_job(user, duration_seconds=61.0)
    finished_job(user, duration_seconds=125.0)
    client.force_login(user)
    page = client.get(reverse("jobs:dashboard")).content.decode()
    assert page.count(">Song.wav</a>") == 2
    assert "1:01" in page and "2:05" in page
    assert page.count("<time datetime=") == 2
    assert "Vocals + everything else" in page
    assert "Expires in 23 h" in page


def test_delete_several_and_one(client, user, other_user):
    first, second, third = (finished_job(user) for _ in range(3))
    theirs = finished_job(other_user)
    client.force_login(user)
    response = client.post(
        reverse("jobs:delete_many"),
        {"ids": [str(first.pk), str(second.pk), str(theirs.pk)]},
    )
    assert response.status_code == 302
    assert set(Job.objects.values_list("pk", flat=True)) == {third.pk, theirs.pk}
    response = client.post(
        reverse("jobs:delete_many"),
        {"ids": [str(third.pk)], "only": str(third.pk)},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"deleted": [str(third.pk)]}
    assert not Job.objects.filter(user=user).exists()
    assert Job.objects.filter(pk=theirs.pk).exists()


def test_deleting_an_active_job_from_the_list_gives_its_credit_back(
    client, user, tmp_path
):
    (job,) = submit(user, upload(song_bytes(tmp_path, seconds=1.0)))
    before = account_for_user(user).balance
    client.force_login(user)
    client.post(reverse("jobs:delete_many"), {"only": str(job.pk)})
    assert account_for_user(user).balance == before + 1
    assert shared_files() == []


def test_the_job_list_pages(client, user, monkeypatch):
    jobs = [finished_job(user) for _ in range(3)]
    client.force_login(user)
    monkeypatch.setattr(views, "JOBS_PER_PAGE", 2)
    first = client.get(reverse("jobs:dashboard")).content.decode()
    second = client.get(reverse("jobs:dashboard"), {"page": 2}).content.decode()
    beyond = client.get(reverse("jobs:dashboard"), {"page": 99})
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert str(jobs[0].pk) in second and str(jobs[2].pk) not in second
    assert beyond.status_code == 200  # the last page, not an error
