"""The reaper: stuck jobs end with their credit back, lost turns come back."""

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone

from billing.services import account_for_user
from jobs.models import Job
from jobs.runner import reaper
from tests.helpers.jobs import submit, upload

pytestmark = pytest.mark.django_db


def test_the_reaper_gives_back_lost_turns_and_fails_stuck_jobs(
    user, wav, django_capture_on_commit_callbacks
):
    lost, stuck = submit(user, upload(wav, "lost.wav"), upload(wav, "stuck.wav"))
    django_rq.get_connection("default").flushdb()  # Redis lost its queue
    long_ago = timezone.now() - timedelta(days=1)
    Job.objects.filter(pk=stuck.pk).update(
        status=Job.Status.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert reaper.jobs_reap() == {"failed": 1, "adopted": 0, "requeued": 1}
    assert django_rq.get_queue("stems").count == 1  # one turn, for `lost`
    stuck.refresh_from_db()
    assert stuck.status == Job.Status.FAILED
    assert "stopped responding" in stuck.error
    assert account_for_user(user).balance == 2  # the stuck one was refunded
    assert reaper.jobs_reap() == {"failed": 0, "adopted": 0, "requeued": 0}
