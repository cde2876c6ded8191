"""Which queued job runs next, started only when a stemworker slot takes it.

A turn (jobs/turns.py) starts the fairest queued job (selectors.fairest_queued):
round-robin across people. The chosen row stays locked while the stemworker is
asked, so two workers never start the same job, and SKIP LOCKED with a lock
per person sends the second one to the next person's job (selectors.py). The
workers of one host choose one at a time, and only while their stemworker has
a free slot; while every slot is busy the worker holds no job: it long-polls
the stemworker for a free slot, never longer than what is left of the fairest
job's wait budget, then tries again. Every host's workers do this against the
same database, so the fairest job goes to whichever host has a free slot.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import (
    budget,
    hosts,
    lifecycle,
    messages,
    selectors,
    stemworker,
    storage,
    turns,
)
from jobs.models import Job
from jobs.stemworker import SeparationRequest
from jobs.store import StoredFileMissing

from . import client
from .client import Outcome, StartAttempt

logger = logging.getLogger(__name__)


def separation_request(
    job: Job, *, timeout_seconds: int | None = None
) -> SeparationRequest:
    """What the stemworker is asked to do for this job (its input fetched into
    this host's scratch first, on s3). Raises StoredFileMissing."""
    return SeparationRequest(
        id=str(job.pk),
        input_path=str(storage.input_local(job)),
        model=job.model,
        two_stems=job.two_stems or None,
        output_format=job.output_format,
        timeout_seconds=timeout_seconds
        or budget.separation_timeout_seconds(
            model=job.model, duration=job.duration_seconds
        ),
    )


@dataclass(frozen=True)
class _Try:
    job: Job
    attempt: StartAttempt
    started: Job | None = None
    failed: bool = False


def job_start_next() -> Job | None:
    """Start the fairest queued job on the stemworker; return it, running.

    Returns None when nothing is queued, or when this host is draining (the
    turn given back). Waits while every slot is busy or the
    stemworker is unreachable; a job that has waited longer than
    STEMWORKER_WAIT_SECONDS for a slot, or STEMWORKER_DOWN_SECONDS for the
    stemworker, or that the stemworker refuses, fails with its credit back and
    the next one is tried.
    """
    down_since: float | None = None
    while True:
        if hosts.host_is_draining():
            # Stopping: the turn goes back for the other hosts' workers.
            logger.info("host %s is draining: starts no job", hosts.this_host())
            turns.turns_add(1)
            return None
        step = _try_fairest(down_since)
        if step is None:
            if not Job.objects.filter(status=Job.Status.QUEUED).exists():
                return None
            # Queued, but every such row is locked: other workers that woke
            # for the same free slot are starting them. This worker keeps its
            # turn for the next slot instead of ending it (a new turn would
            # cost a fork and a few hundred ms when that slot frees).
            time.sleep(budget.LOCKED_PAUSE_SECONDS)
            client.wait_for_slot(seconds=budget.SLOT_POLL_SECONDS)
            continue
        if step.started is not None:
            return step.started
        outcome = step.attempt.outcome
        if outcome is Outcome.DOWN and not step.failed:
            down_since = down_since or time.monotonic()
            time.sleep(budget.DOWN_PAUSE_SECONDS)
            continue
        down_since = None
        if outcome is Outcome.BUSY and not step.failed:
            left = budget.slot_wait_left_seconds(job=step.job, now=timezone.now())
            client.wait_for_slot(seconds=left, retry_after=step.attempt.retry_after)


def _try_fairest(down_since: float | None) -> _Try | None:
    """One try on the fairest queued job, its row locked throughout; a job that
    must fail is failed under the same lock, so nobody starts it meanwhile."""
    with transaction.atomic():
        # One worker of this host at a time, and only while a slot is free: a
        # worker that cannot start a job must not hold it (and its owner's
        # turn) from the other hosts, even for the moment a 429 takes.
        selectors.host_dispatch_lock(hosts.this_host())
        if not _slot_free():
            waiting = selectors.fairest_queued().first()
            if waiting is None:
                return None
            if budget.slot_wait_left_seconds(job=waiting, now=timezone.now()) > 0:
                return _Try(waiting, StartAttempt(Outcome.BUSY))
            # It waited its whole budget: tried below, it fails as "busy".
        job = selectors.fairest_queued_lock()
        if job is None:
            return None
        try:
            attempt = client.start_once(separation_request(job))
        except StoredFileMissing:
            attempt = StartAttempt(Outcome.REJECTED, messages.INPUT_LOST)
        if attempt.outcome is not Outcome.STARTED:
            storage.scratch_clean(job)  # the input fetched for it, on s3
        if attempt.outcome is Outcome.STARTED:
            started = lifecycle.job_start(job_id=str(job.pk), host=hosts.this_host())
            if started is not None:
                _log_started(started)
            # None only without row locks (SQLite): someone else has it.
            return _Try(job, attempt, started=started)
        failure = _failure(job, attempt, down_since)
        if failure is not None:
            lifecycle.job_fail(job=job, message=failure, log=attempt.detail)
        return _Try(job, attempt, failed=failure is not None)


def _slot_free() -> bool:
    """Whether this host's stemworker has a free slot (True when it does not
    answer: the start then says it is down)."""
    try:
        health = stemworker.health()
    except stemworker.StemworkerUnavailable:
        return True
    return int(health["busy"]) < int(health["slots"])


def _failure(job: Job, attempt: StartAttempt, down_since: float | None) -> str | None:
    """The message this job fails with now, or None while it may wait."""
    if attempt.outcome is Outcome.REJECTED:
        return attempt.detail
    if attempt.outcome is Outcome.DOWN:
        down_for = time.monotonic() - down_since if down_since else 0.0
        if down_for > settings.STEMWORKER_DOWN_SECONDS:
            return messages.STEMWORKER_UNAVAILABLE
        return None
    if budget.slot_wait_left_seconds(job=job, now=timezone.now()) <= 0:
        return messages.STEMWORKER_BUSY
    return None


def _log_started(job: Job) -> None:
    assert job.started_at is not None  # noqa: S101 - job_start sets it
    logger.info(
        "job %s started (%s, %s) after %.1f s queued",
        job.pk,
        job.model,
        job.output_format,
        (job.started_at - job.created_at).total_seconds(),
    )
