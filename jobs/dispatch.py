"""Which queued job runs next: round-robin across users, started only when a
stemworker slot takes it.

An RQ message on the `stems` queue carries no job id: it is a turn. Each admitted
job adds one turn, and whoever takes a turn starts the fairest queued job at that
moment: the user with the fewest running jobs, then the one served least
recently, then the oldest job. So one person's five queued songs never hold
another person's first song behind all five. PostgreSQL holds the jobs; Redis only
delivers turns, and a turn lost from Redis is given back by the reaper
(`dispatch_turns_restore`). A spare turn finds nothing queued and ends.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_rq import get_queue

from . import services, worker_client
from .models import Job, JobQuerySet

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    "The separation service is unavailable right now. "
    "Your credit has been refunded; please try again later."
)
BUSY = "The server stayed busy for too long. Your credit has been refunded."
# While every slot is busy, the worker long-polls the stemworker for a free one
# for up to this long: it learns at once, and asks rarely (each wake-up of
# another process slows the running separations).
SLOT_WAIT_SECONDS = 10.0
BUSY_PAUSE_MAX = 2.0  # between tries when the stemworker cannot long-poll
DOWN_PAUSE = 1.0


def dispatch_turns_restore() -> int:
    """Add turns until the queue holds at least one per queued job.

    After Redis lost its data, every queued job would otherwise wait forever.
    Counting turns being waited on by busy RQ workers is not needed: a spare
    turn is harmless. Returns how many turns were added.
    """
    queued = Job.objects.filter(status=Job.Status.QUEUED).count()
    missing = max(0, queued - get_queue("stems").count)
    if missing:
        services.dispatch_turns_add(missing)
    return missing


def fairest_queued() -> JobQuerySet:
    """Queued jobs in the order they should start (see the module docstring)."""
    user_jobs = Job.objects.filter(user=OuterRef("user")).order_by()
    running = (
        user_jobs.filter(status=Job.Status.RUNNING)
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_start = (
        user_jobs.filter(started_at__isnull=False)
        .order_by("-started_at")
        .values("started_at")[:1]
    )
    return (
        Job.objects.filter(status=Job.Status.QUEUED)
        .annotate(
            user_running=Coalesce(Subquery(running), 0),
            user_last_start=Subquery(last_start),
        )
        .order_by(
            "user_running",
            F("user_last_start").asc(nulls_first=True),
            "created_at",
        )
    )


@dataclass
class _Try:
    """What one try to start the fairest job came to."""

    job: Job | None  # None: nothing is queued
    started: bool = False
    busy: bool = False
    failure: str = ""  # set when this job must fail now
    log: str = ""
    down: bool = False
    pause: float = 0.0


def job_start_next() -> Job | None:
    """Start the fairest queued job on the stemworker; return it, running.

    Returns None when nothing is queued. Waits while every stemworker slot is
    busy or the stemworker is unreachable; a job that has waited longer than
    STEMWORKER_WAIT_SECONDS for a slot, or STEMWORKER_DOWN_SECONDS for the
    stemworker, or that the stemworker refuses, fails with its credit back and
    the next one is tried.
    """
    down_since: float | None = None
    while True:
        attempt = _try_fairest()
        if attempt.job is None or attempt.started:
            return attempt.job
        if attempt.down:
            down_since = down_since or time.monotonic()
            if time.monotonic() - down_since > settings.STEMWORKER_DOWN_SECONDS:
                attempt.failure = UNAVAILABLE
        else:
            down_since = None
        if attempt.failure:
            services.job_mark_failed(
                job=attempt.job, message=attempt.failure, log=attempt.log
            )
            continue
        if attempt.busy:
            _wait_for_a_slot(attempt.pause)
        else:
            time.sleep(attempt.pause)


def _try_fairest() -> _Try:
    # The row stays locked while the stemworker is asked, so two RQ workers never
    # start the same job; SKIP LOCKED sends the second one to the next job.
    with transaction.atomic():
        job = fairest_queued().select_for_update(skip_locked=True, of=("self",)).first()
        if job is None:
            return _Try(None)
        try:
            separation_submit(job)
        except worker_client.StemworkerBusy as busy:
            if _waiting_seconds(job) > settings.STEMWORKER_WAIT_SECONDS:
                return _Try(job, failure=BUSY)
            pause = min(max(busy.retry_after, 0.5), BUSY_PAUSE_MAX)
            return _Try(job, busy=True, pause=pause)
        except worker_client.StemworkerUnavailable as down:
            return _Try(job, down=True, log=str(down), pause=DOWN_PAUSE)
        except worker_client.SeparationRejected as rejected:
            return _Try(job, failure=str(rejected))
        started = services.job_start(job_id=str(job.pk))
    if started is None:  # only without row locks (SQLite): someone else has it
        return _Try(job, pause=0)
    logger.info(
        "job %s started (%s, %s) after %.1f s queued",
        started.pk,
        started.model,
        started.output_format,
        _waiting_seconds(job),
    )
    return _Try(started, started=True)


def _wait_for_a_slot(pause: float) -> None:
    """Long-poll the stemworker for a free slot; no job is held meanwhile."""
    try:
        worker_client.slot_wait(wait=SLOT_WAIT_SECONDS)
    except worker_client.StemworkerUnavailable:
        time.sleep(pause)


def _waiting_seconds(job: Job) -> float:
    return (timezone.now() - job.created_at).total_seconds()


def separation_submit(job: Job) -> None:
    """POST the job to the stemworker; a job it already has is answered as is."""
    worker_client.separation_submit(
        separation_id=str(job.pk),
        input_path=str(job.upload_path),
        model=job.model,
        two_stems=job.two_stems or None,
        output_format=job.output_format,
        timeout_seconds=services.separation_timeout_seconds(job=job),
    )
