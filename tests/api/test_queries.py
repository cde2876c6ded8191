"""Query counts pinned: pages cost the same whatever they hold."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, Stem
from tests.helpers.api import JOBS, token_client

pytestmark = pytest.mark.django_db

STEMS = ("drums", "bass", "other", "vocals")
# A page: count, jobs, their stems (one prefetch query). A detail: job, stems.
PAGE_QUERIES = 3
DETAIL_QUERIES = 2


def _jobs_with_stems(user, count: int) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    jobs = Job.objects.bulk_create(
        Job(
            user=user,
            original_filename=f"{i}.wav",
            input_extension="wav",
            model="htdemucs",
            output_format="mp3",
            status=Job.Status.SUCCEEDED,
            progress=100,
            created_at=now - timedelta(seconds=i),
            finished_at=now,
            expires_at=now + timedelta(hours=24),
        )
        for i in range(count)
    )
    Stem.objects.bulk_create(
        Stem(
            job=job,
            name=name,
            relative_path=f"outputs/{job.pk}/{name}.mp3",
            size_bytes=1000,
        )
        for job in jobs
        for name in STEMS
    )


@pytest.mark.parametrize("count", [1, 100])
def test_a_page_of_jobs_costs_a_constant_number_of_queries(
    api_client, user, count, django_assert_num_queries
):
    _jobs_with_stems(user, count)
    with django_assert_num_queries(PAGE_QUERIES):
        response = api_client.get(JOBS, {"page_size": 100})
    results = response.json()["results"]
    assert len(results) == count
    assert all(len(job["stems"]) == 4 for job in results)


def test_a_job_costs_a_constant_number_of_queries(
    api_client, user, django_assert_num_queries
):
    _jobs_with_stems(user, 3)
    job = Job.objects.filter(user=user).first()
    assert job is not None
    with django_assert_num_queries(DETAIL_QUERIES):
        response = api_client.get(f"{JOBS}{job.pk}/")
    assert len(response.json()["stems"]) == 4


def test_token_authentication_adds_a_fixed_cost(user, django_assert_max_num_queries):
    _jobs_with_stems(user, 100)
    client = token_client(user)
    client.get(JOBS)  # the first call records the token's last use
    with django_assert_max_num_queries(PAGE_QUERIES + 2):
        assert client.get(JOBS, {"page_size": 100}).status_code == 200
