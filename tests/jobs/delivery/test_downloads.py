"""The site and the API download through the same responders: the same 404s,
the same 410, and never a 500 for a file that is gone."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from jobs import lifecycle, messages, storage
from jobs.models import Job
from tests.helpers.api import token_client
from tests.helpers.jobs import finished_job
from tests.helpers.stored import is_stored, stored_remove

pytestmark = pytest.mark.django_db


def _site(client, user):  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def _text(response) -> str:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("text/html")
    return html.unescape(response.content.decode())


def _stem_urls(job: Job) -> tuple[str, str]:
    site = reverse("jobs:stem", args=[job.pk, "vocals"])
    return site, f"/api/v1/jobs/{job.pk}/stems/vocals/"


def _zip_urls(job: Job) -> tuple[str, str]:
    return reverse("jobs:zip", args=[job.pk]), f"/api/v1/jobs/{job.pk}/download/"


def test_a_stem_whose_file_is_missing_is_a_404_on_both(client, user):
    job = finished_job(user)
    stored_remove(job.stems.get(name="vocals").path)
    site_url, api_url = _stem_urls(job)
    site = _site(client, user).get(site_url)
    assert site.status_code == 404
    assert messages.STEM_MISSING in _text(site)
    api = token_client(user).get(api_url)
    assert api.status_code == 404
    assert api.json() == {"detail": messages.STEM_MISSING, "code": "not_found"}


def test_a_zip_with_a_stem_file_missing_is_a_404_on_both(client, user):
    job = finished_job(user)
    stored_remove(job.stems.get(name="no_vocals").path)
    site_url, api_url = _zip_urls(job)
    assert _site(client, user).get(site_url).status_code == 404
    api = token_client(user).get(api_url)
    assert api.status_code == 404
    assert api.json()["detail"] == messages.STEM_MISSING
    assert not is_stored(storage.zip_path(job))


@pytest.mark.parametrize("urls", [_stem_urls, _zip_urls])
def test_expired_stems_are_a_410_with_one_message(client, user, urls):
    job = finished_job(user)
    lifecycle.jobs_purge_expired(now=timezone.now() + timedelta(days=2))
    site_url, api_url = urls(job)
    site = _site(client, user).get(site_url)
    assert site.status_code == 410
    # The site's own page: when and why, and where to go from there.
    page = _text(site)
    assert "These stems were deleted" in page
    job.refresh_from_db()
    assert (
        f"were deleted on {date_format(job.files_purged_at, 'DATETIME_FORMAT')} UTC"
        in page
    )
    assert "24 hours after they were made" in page
    assert reverse("jobs:dashboard") in page
    api = token_client(user).get(api_url)
    assert api.status_code == 410
    assert api.json() == {"detail": messages.STEMS_EXPIRED, "code": "expired"}


def test_a_stem_the_job_lacks_is_a_404_on_both(client, user):
    job = finished_job(user)
    site = _site(client, user).get(reverse("jobs:stem", args=[job.pk, "drums"]))
    assert site.status_code == 404
    api = token_client(user).get(f"/api/v1/jobs/{job.pk}/stems/drums/")
    assert api.status_code == 404


def test_an_unfinished_jobs_zip_is_not_ready_on_both(client, user):
    job = finished_job(user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    site_url, api_url = _zip_urls(job)
    site = _site(client, user).get(site_url)
    assert site.status_code == 404
    assert messages.NO_STEMS_YET in _text(site)
    api = token_client(user).get(api_url)
    assert api.json() == {"detail": messages.NO_STEMS_YET, "code": "not_ready"}
