"""Dispatch takes turns across users: one person's queue never holds another's
first song behind all of theirs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.services import credits_adjust
from jobs import dispatch, services
from jobs.models import Job
from tests.audio import song_bytes
from tests.conftest import signed_up_user
from tests.jobs.conftest import run_queue
from tests.jobs.test_admission import _submit, _upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def wav(tmp_path):  # type: ignore[no-untyped-def]
    return song_bytes(tmp_path, seconds=1.0)


def _queue(person, wav, count: int, label: str) -> list[Job]:  # type: ignore[no-untyped-def]
    return _submit(person, *[_upload(wav, f"{label}{n}.wav") for n in range(count)])


def _funded(credits: int = 10):  # type: ignore[no-untyped-def]
    person = signed_up_user()
    credits_adjust(user=person, delta=credits, note="test")
    return person


def test_with_one_slot_users_take_turns(wav):
    """The order one slot serves 9 queued songs from three people, each song
    finishing before the next starts."""
    alice, bob, carol = _funded(), _funded(), _funded()
    jobs = _queue(alice, wav, 5, "alice") + _queue(bob, wav, 3, "bob")
    jobs += _queue(carol, wav, 1, "carol")
    served = []
    while (job := dispatch.fairest_queued().first()) is not None:
        started = services.job_start(job_id=str(job.pk))
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
    alice, bob = _funded(), _funded()
    _queue(alice, wav, 4, "alice")
    for _ in range(2):  # two slots, both given to alice's first songs
        job = dispatch.fairest_queued().first()
        services.job_start(job_id=str(job.pk))
    # Bob was served long ago, but has nothing running now.
    [bobs] = _queue(bob, wav, 1, "bob")
    Job.objects.create(
        user=bob,
        original_filename="old.wav",
        model="htdemucs",
        status=Job.Status.SUCCEEDED,
        started_at=timezone.now() - timedelta(days=1),
    )
    assert dispatch.fairest_queued().first() == bobs


def test_a_second_user_starts_before_the_first_users_fifth_song(
    user, other_user, wav, live_stemworker, django_capture_on_commit_callbacks
):
    """End to end with the real stemworker (one slot) and an RQ worker."""
    with django_capture_on_commit_callbacks(execute=True):
        alices = _submit(user, *[_upload(wav, f"a{n}.wav") for n in range(3)])
    credits_adjust(user=user, delta=2, note="test")
    with django_capture_on_commit_callbacks(execute=True):
        alices += _submit(user, *[_upload(wav, f"a{n}.wav") for n in range(3, 5)])
        [bobs] = _submit(other_user, _upload(wav, "b0.wav"))
    run_queue()
    order = [
        job.original_filename
        for job in Job.objects.filter(status=Job.Status.SUCCEEDED).order_by(
            "started_at"
        )
    ]
    assert order == ["a0.wav", "b0.wav", "a1.wav", "a2.wav", "a3.wav", "a4.wav"]
