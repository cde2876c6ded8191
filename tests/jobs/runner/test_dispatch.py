"""Dispatch takes turns across users, end to end: one person's queue never holds
another's first song behind all of theirs (the order itself: test_selectors)."""

import threading

import pytest
from django.db import connection, transaction

from billing.services import credits_adjust
from jobs.models import Job
from jobs.runner import dispatch
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


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_finds_every_queued_job_being_started_keeps_its_turn(
    user, wav, live_stemworker
):
    """Several workers wake for one freed slot; the ones that find every queued
    row locked by the others wait for the next slot instead of ending their turn
    (a new turn costs a fork and a few hundred ms when that slot frees)."""
    [job] = submit(user, upload(wav))
    locked, released, returned = (threading.Event() for _ in range(3))
    seen: dict[str, bool] = {}

    def another_worker() -> None:
        try:
            with transaction.atomic():
                Job.objects.select_for_update().get(pk=job.pk)
                locked.set()
                returned.wait(timeout=1.0)  # this worker must not end meanwhile
                seen["returned while locked"] = returned.is_set()
                Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED)
                released.set()
        finally:
            connection.close()

    holder = threading.Thread(target=another_worker)
    holder.start()
    assert locked.wait(timeout=10)
    assert dispatch.job_start_next() is None  # once the other worker's job is gone
    returned.set()
    holder.join(timeout=10)
    assert released.is_set()
    assert seen == {"returned while locked": False}
