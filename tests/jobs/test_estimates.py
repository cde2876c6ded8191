"""Place in line and estimates: the dispatcher's fair order played forward on
this server's own recent speed (the stemworker is not running here, so the
estimate counts one slot, as it does whenever the stemworker cannot be asked)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from jobs import estimates, lifecycle, selectors
from jobs.models import Job
from tests.helpers.accounts import funded_user
from tests.helpers.jobs import finished_job, submit, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_estimates():  # type: ignore[no-untyped-def]
    cache.delete_many([estimates.SLOTS_CACHE_KEY, estimates.SPEED_CACHE_KEY])


def _queue(person, wav, count, label):  # type: ignore[no-untyped-def]
    return submit(person, *[upload(wav, f"{label}{n}.wav") for n in range(count)])


def test_the_line_is_the_dispatchers_fair_order(wav):
    alice, bob = funded_user(), funded_user()
    queued = _queue(alice, wav, 3, "alice") + _queue(bob, wav, 1, "bob")
    now = timezone.now()
    line = estimates.estimates(queued, now=now)
    by_name = {job.original_filename: line[str(job.pk)] for job in queued}
    order = sorted(by_name, key=lambda name: by_name[name].queue_position)
    assert order == ["alice0.wav", "bob0.wav", "alice1.wav", "alice2.wav"]
    # One slot: each starts when the one before it should finish.
    ahead = None
    for name in order:
        estimate = by_name[name]
        assert estimate.start is not None and estimate.finish is not None
        assert estimate.finish > estimate.start >= now
        if ahead is not None:
            assert estimate.start == ahead.finish
        ahead = estimate
    # And the dispatcher, asked the same question, starts them in that order.
    served = []
    while (job := selectors.fairest_queued().first()) is not None:
        served.append(lifecycle.job_start(job_id=str(job.pk)).original_filename)  # type: ignore[union-attr]
        Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)
    assert served == order


def test_times_come_from_this_servers_recent_jobs(user, wav):
    done = finished_job(user, duration_seconds=10.0)
    finished = timezone.now()
    Job.objects.filter(pk=done.pk).update(
        started_at=finished - timedelta(seconds=30), finished_at=finished
    )
    person = funded_user()
    (job,) = submit(person, upload(wav, "song.wav"))
    Job.objects.filter(pk=job.pk).update(duration_seconds=20.0)
    job.refresh_from_db()
    estimate = estimates.estimates([job])[str(job.pk)]
    assert estimate.queue_position == 1
    assert estimate.finish is not None and estimate.start is not None
    # 30 s for 10 s of audio: 60 s for 20 s.
    assert (estimate.finish - estimate.start).total_seconds() == pytest.approx(60)


def test_a_queued_job_waits_for_the_running_one(wav):
    person = funded_user()
    first, second = _queue(person, wav, 2, "song")
    running = lifecycle.job_start(job_id=str(first.pk))
    assert running is not None
    lifecycle.job_progress_update(job=running, progress=50)
    line = estimates.estimates([running, second])
    assert line[str(running.pk)].queue_position is None
    assert line[str(running.pk)].finish is not None
    assert line[str(second.pk)].queue_position == 1
    assert line[str(second.pk)].start == line[str(running.pk)].finish


def test_the_api_and_the_job_page_say_where_a_job_stands(client, api_client, user, wav):
    (job,) = submit(user, upload(wav, "song.wav"))
    body = api_client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (body["stage"], body["queue_position"]) == ("waiting", 1)
    assert body["estimated_start"].endswith("Z")
    assert body["estimated_finish"] > body["estimated_start"]
    client.force_login(user)
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "Next in line, starts soon; stems ready in" in page
    assert "Separating 0%" not in page

    running = lifecycle.job_start(job_id=str(job.pk))
    assert running is not None
    body = api_client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (body["stage"], body["queue_position"]) == ("separating", None)
    assert body["estimated_start"] is None and body["estimated_finish"] is not None
    lifecycle.job_separated(job=running)
    body = api_client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (body["stage"], body["progress"]) == ("encoding", 99)
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "Encoding the stems: almost ready." in page


def test_a_finished_job_has_no_place_in_line(api_client, user):
    job = finished_job(user)
    body = api_client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["stage"] == "ready"
    assert body["queue_position"] is None
    assert body["estimated_start"] is None and body["estimated_finish"] is None
