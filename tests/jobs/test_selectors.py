"""Selectors: the one ownership query, the account summary, the fairest order."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from jobs import lifecycle, selectors
from jobs.models import Job
from tests.helpers.accounts import funded_user
from tests.helpers.jobs import finished_job, submit, upload

pytestmark = pytest.mark.django_db


def test_another_persons_job_does_not_exist_for_you(user, other_user):
    theirs = finished_job(other_user)
    assert selectors.job_get_for_user(user=other_user, pk=theirs.pk) == theirs
    for pk in (theirs.pk, str(theirs.pk), "not-a-uuid"):
        with pytest.raises(Http404):
            selectors.job_get_for_user(user=user, pk=pk)


def test_the_account_summary_counts_active_jobs_and_credits(user, wav):
    submit(user, upload(wav, "a.wav"), upload(wav, "b.wav"))
    summary = selectors.account_summary(user=user)
    assert (summary.credits, summary.active_jobs) == (1, 2)
    assert summary.max_active_jobs == 5
    assert summary.email == user.email


def _queue(person, wav, count: int, label: str) -> list[Job]:  # type: ignore[no-untyped-def]
    return submit(person, *[upload(wav, f"{label}{n}.wav") for n in range(count)])


def test_with_one_slot_users_take_turns(wav):
    """The order one slot serves 9 queued songs from three people, each song
    finishing before the next starts."""
    alice, bob, carol = funded_user(), funded_user(), funded_user()
    jobs = _queue(alice, wav, 5, "alice") + _queue(bob, wav, 3, "bob")
    jobs += _queue(carol, wav, 1, "carol")
    served = []
    while (job := selectors.fairest_queued().first()) is not None:
        started = lifecycle.job_start(job_id=str(job.pk))
        assert started is not None
        served.append(started.original_filename.removesuffix(".wav"))
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.SUCCEEDED, finished_at=timezone.now()
        )
    assert served == [
        "alice0",
        "bob0",
        "carol0",
        "alice1",
        "bob1",
        "alice2",
        "bob2",
        "alice3",
        "alice4",
    ]


def test_a_user_with_fewer_running_jobs_goes_first(wav):
    alice, bob = funded_user(), funded_user()
    _queue(alice, wav, 4, "alice")
    for _ in range(2):  # two slots, both given to alice's first songs
        job = selectors.fairest_queued().first()
        lifecycle.job_start(job_id=str(job.pk))
    # Bob was served long ago, but has nothing running now.
    [bobs] = _queue(bob, wav, 1, "bob")
    Job.objects.create(
        user=bob,
        original_filename="old.wav",
        model="htdemucs",
        status=Job.Status.SUCCEEDED,
        started_at=timezone.now() - timedelta(days=1),
    )
    assert selectors.fairest_queued().first() == bobs


def test_stems_are_listed_in_a_musicians_order(user):
    job = finished_job(
        user, stems=("drums", "bass", "other", "vocals", "guitar", "piano")
    )
    two = finished_job(user, stems=("no_vocals", "vocals"))
    stems = selectors.stems_by_job([job, two])
    assert [name for name, _ in stems[job.pk]] == [
        "vocals",
        "drums",
        "bass",
        "other",
        "guitar",
        "piano",
    ]
    assert [name for name, _ in stems[two.pk]] == ["vocals", "no_vocals"]
