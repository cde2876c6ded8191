"""Dispatch takes turns across users, end to end: one person's queue never holds
another's first song behind all of theirs (the order itself: test_selectors)."""

import pytest

from billing.services import credits_adjust
from jobs.models import Job
from tests.helpers.jobs import run_queue, submit, upload

pytestmark = pytest.mark.django_db


def test_a_second_user_starts_before_the_first_users_fifth_song(
    user, other_user, wav, live_stemworker, django_capture_on_commit_callbacks
):
    """End to end with the real stemworker (one slot) and an RQ worker."""
    with django_capture_on_commit_callbacks(execute=True):
        alices = submit(user, *[upload(wav, f"a{n}.wav") for n in range(3)])
    credits_adjust(user=user, delta=2, note="test")
    with django_capture_on_commit_callbacks(execute=True):
        alices += submit(user, *[upload(wav, f"a{n}.wav") for n in range(3, 5)])
        [bobs] = submit(other_user, upload(wav, "b0.wav"))
    run_queue()
    order = [
        job.original_filename
        for job in Job.objects.filter(status=Job.Status.SUCCEEDED).order_by(
            "started_at"
        )
    ]
    assert order == ["a0.wav", "b0.wav", "a1.wav", "a2.wav", "a3.wav", "a4.wav"]
