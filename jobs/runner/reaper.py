"""The reaper: no job stays queued or running forever. Run by the cron.

PostgreSQL is the truth and Redis only delivers turns, so whatever the fault (a
worker killed mid-job, Redis flushed or restarted, a stemworker gone), what the
database says is active either gets a worker or ends here, credit back.
"""

import logging
from datetime import datetime, timedelta
from enum import Enum

from django.conf import settings
from django.utils import timezone

from jobs import budget, hosts, lifecycle, messages, storage, turns
from jobs.models import Job
from jobs.stemworker import SeparationStatus

from . import client, collect

logger = logging.getLogger(__name__)


class Verdict(Enum):
    ADOPTED = "adopted"  # its worker died, its stems did not: completed here
    WAITING = "waiting"  # still separating: the stemworker's timeout bounds it
    FAILED = "failed"  # failed with its credit back
    ENDED = "ended"  # it ended on its own meanwhile


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
    counts = {Verdict.FAILED: 0, Verdict.ADOPTED: 0}
    for job in Job.objects.filter(status=Job.Status.RUNNING).iterator():
        beat = job.heartbeat_at or job.started_at
        deadline = budget.job_deadline(job=job)
        overdue = deadline is not None and deadline < now
        if overdue or (beat is not None and beat < quiet_since):
            verdict = _reap_one(job, overdue=overdue)
            if verdict in counts:
                counts[verdict] += 1
    requeued = turns.turns_restore()
    failed, adopted = counts[Verdict.FAILED], counts[Verdict.ADOPTED]
    if failed or adopted or requeued:
        logger.warning(
            "reaper: %d stuck jobs failed, %d adopted, %d turns restored",
            failed,
            adopted,
            requeued,
        )
    return {"failed": failed, "adopted": adopted, "requeued": requeued}


def _reap_one(job: Job, *, overdue: bool) -> Verdict:
    separation_id = str(job.pk)
    # Only this host's stemworker can be asked (and holds the stems): a job of
    # another host whose worker went quiet has lost it.
    here = job.host in ("", hosts.this_host())
    state = None if overdue or not here else client.state_get(separation_id)
    status = state["status"] if state else None
    if status == SeparationStatus.RUNNING:
        return Verdict.WAITING
    if state is not None and status == SeparationStatus.SUCCEEDED:
        try:
            stems = collect.reported_stems(state, separation_id)
            adopted = collect.job_collect(job=job, stems=stems)
        except client.SeparationFailed:
            adopted = False  # failed below, its credit back
        if adopted:
            client.discard(separation_id)
            storage.scratch_clean(job)  # what its worker would have emptied
            logger.warning("adopted job %s: its worker died, its stems did not", job.pk)
            return Verdict.ADOPTED
    if not lifecycle.job_fail(job=job, message=messages.STOPPED_RESPONDING):
        return Verdict.ENDED
    logger.warning(
        "reaped job %s: %s",
        job.pk,
        "past its deadline" if overdue else "its worker went quiet",
    )
    # The stemworker may still be running it for a worker that is gone.
    if here:
        client.discard(separation_id)
        storage.scratch_clean(job)
    return Verdict.FAILED
