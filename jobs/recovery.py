"""The reaper: no job stays queued or running forever. Run by the cron.

PostgreSQL is the truth and Redis only delivers turns, so whatever the fault (a
worker killed mid-job, Redis flushed or restarted, a stemworker gone), what the
database says is active either gets a worker or ends here, credit back.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import dispatch, services, worker_client
from .models import Job

logger = logging.getLogger(__name__)

STOPPED_RESPONDING = "The job stopped responding. Your credit has been refunded."
# Beyond the separation's own hard timeout: time to collect the stems.
DEADLINE_MARGIN_SECONDS = 300


def job_deadline(*, job: Job) -> datetime | None:
    """When a running job must have ended, from its audio's length and its model."""
    if job.started_at is None:
        return None
    limit = services.separation_timeout_seconds(job=job) + DEADLINE_MARGIN_SECONDS
    return job.started_at + timedelta(seconds=limit)


def jobs_reap(*, now: datetime | None = None) -> dict[str, int]:
    """Fail running jobs whose worker went quiet or whose deadline passed, and
    give back the turns of queued jobs that Redis lost.

    Idempotent. Returns how many jobs failed and how many turns were added.
    """
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    failed = 0
    for job in Job.objects.filter(status=Job.Status.RUNNING).iterator():
        beat = job.heartbeat_at or job.started_at
        deadline = job_deadline(job=job)
        silent = beat is not None and beat < quiet_since
        overdue = deadline is not None and deadline < now
        if (silent or overdue) and services.job_mark_failed(
            job=job, message=STOPPED_RESPONDING
        ):
            failed += 1
            logger.warning(
                "reaped job %s: %s",
                job.pk,
                "past its deadline" if overdue else "its worker went quiet",
            )
            _stop_separation(str(job.pk))
    requeued = dispatch.dispatch_turns_restore()
    if failed or requeued:
        logger.warning(
            "reaper: %d stuck jobs failed, %d turns restored", failed, requeued
        )
    return {"failed": failed, "requeued": requeued}


def _stop_separation(separation_id: str) -> None:
    """The stemworker may still be running it for a worker that is gone."""
    try:
        worker_client.separation_delete(separation_id)
    except worker_client.StemworkerUnavailable:
        logger.warning("could not reach the stemworker to stop %s", separation_id)
