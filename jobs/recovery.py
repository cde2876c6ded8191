"""The reaper: no job stays queued or running forever. Run by the cron.

PostgreSQL is the truth and Redis only delivers turns, so whatever the fault (a
worker killed mid-job, Redis flushed or restarted, a stemworker gone), what the
database says is active either gets a worker or ends here, credit back.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import dispatch, pipeline, services, worker_client
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
    """See to running jobs whose worker went quiet or whose deadline passed, and
    give back the turns of queued jobs that Redis lost.

    A quiet job whose separation the stemworker finished is completed here (its
    worker died, its result did not); one still separating is left to finish.
    Any other stuck job fails with its credit back. Idempotent. Returns how many
    jobs failed, how many were adopted, and how many turns were added.
    """
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
    counts = {"failed": 0, "adopted": 0}
    for job in Job.objects.filter(status=Job.Status.RUNNING).iterator():
        beat = job.heartbeat_at or job.started_at
        deadline = job_deadline(job=job)
        overdue = deadline is not None and deadline < now
        if overdue or (beat is not None and beat < quiet_since):
            outcome = _see_to(job, overdue=overdue)
            if outcome in counts:
                counts[outcome] += 1
    requeued = dispatch.dispatch_turns_restore()
    if counts["failed"] or counts["adopted"] or requeued:
        logger.warning(
            "reaper: %d stuck jobs failed, %d adopted, %d turns restored",
            counts["failed"],
            counts["adopted"],
            requeued,
        )
    return {**counts, "requeued": requeued}


def _see_to(job: Job, *, overdue: bool) -> str:
    """'adopted', 'waiting' (still separating) or 'failed' (or '' if it ended)."""
    separation_id = str(job.pk)
    state: dict[str, Any] | None = None
    if not overdue:
        try:
            state = worker_client.separation_get(separation_id)
        except (worker_client.SeparationNotFound, worker_client.StemworkerUnavailable):
            state = None
    status = state["status"] if state else None
    if status == "running":
        return "waiting"  # the stemworker's own timeout bounds it
    if state is not None and status == "succeeded":
        try:
            stems = pipeline.stems_from(state, separation_id)
        except pipeline.SeparationFailed:
            stems = []
        if stems and services.job_mark_succeeded(job=job, stems=stems):
            services.job_files_remove(job=job, outputs=False)
            pipeline.forget(separation_id)
            logger.warning("adopted job %s: its worker died, its stems did not", job.pk)
            return "adopted"
    if not services.job_mark_failed(job=job, message=STOPPED_RESPONDING):
        return ""
    logger.warning(
        "reaped job %s: %s",
        job.pk,
        "past its deadline" if overdue else "its worker went quiet",
    )
    _stop_separation(separation_id)
    return "failed"


def _stop_separation(separation_id: str) -> None:
    """The stemworker may still be running it for a worker that is gone."""
    try:
        worker_client.separation_delete(separation_id)
    except worker_client.StemworkerUnavailable:
        logger.warning("could not reach the stemworker to stop %s", separation_id)
