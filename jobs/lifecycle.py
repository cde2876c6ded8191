"""A job's life after admission: the only code that writes Job.status.

    queued ─start─> running ─succeed─> succeeded ─purge─> (files gone, listed)
       │               ├─fail──> failed      (credit refunded)
       └──cancel───────┴─cancel─> cancelled  (credit refunded)

Each change is one conditional UPDATE (healthchecks' claim pattern): it takes
effect only from the states named, so a duplicate delivery, a late worker or a
second collector changes nothing, and the refund runs once per job (the
ledger's unique constraint says so too). The original upload is removed in one
place, `_ended`, whatever the way a job ends: originals are never kept. The
change that ends a job publishes its webhook event in the same transaction.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.services import credits_refund
from webhooks.models import EventType
from webhooks.services import job_event_publish

from . import messages, representation, stemworker, storage
from .models import Job, Stem

logger = logging.getLogger(__name__)

MAX_ERROR_LOG_CHARS = 20000


@dataclass(frozen=True)
class StemFile:
    """A stem already in the job's outputs folder, measured."""

    name: str
    relative_path: str
    size_bytes: int
    duration_seconds: float
    peaks: list[float]


def _publish(job: Job, event_type: str) -> None:
    """The job's webhook event, rendered as this transaction left the job."""

    def render() -> dict[str, Any]:
        job.refresh_from_db()
        return representation.jobs_representation([job], base_url=settings.SITE_URL)[0]

    job_event_publish(job=job, event_type=event_type, render=render)


def job_start(*, job_id: str, host: str = "") -> Job | None:
    """queued -> running on `host`. None when it was not queued (someone else
    has it)."""
    now = timezone.now()
    updated = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        separated_at=None,
        progress=0,
        attempts=F("attempts") + 1,
        host=host,
    )
    return Job.objects.get(pk=job_id) if updated else None


def job_hand_back(*, job: Job) -> bool:
    """running -> queued: its host is stopping, another takes it from the start.

    Nothing is refunded (the job goes on) and its input stays stored. The caller
    gives the queue a turn for it. False when it was no longer running."""
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.QUEUED,
        started_at=None,
        heartbeat_at=None,
        separated_at=None,
        progress=0,
        host="",
    )
    if updated:
        logger.warning("job %s handed back to the queue by host %s", job.pk, job.host)
    return bool(updated)


def job_check_in(*, job: Job) -> bool:
    """The worker following a job says it is alive (the reaper watches this).

    False once the job is no longer running: cancelled, deleted or reaped.
    """
    return bool(
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


def job_progress_update(*, job: Job, progress: float) -> None:
    """Record progress while running; never moves backwards, never reaches 100 early."""
    value = max(0, min(99, int(progress)))
    if value > job.progress:
        Job.objects.filter(
            pk=job.pk, status=Job.Status.RUNNING, progress__lt=value
        ).update(progress=value)
        job.progress = value


def job_separated(*, job: Job) -> None:
    """demucs has exited: the stems are now being encoded and measured."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        separated_at=now, progress=99
    )
    job.separated_at, job.progress = now, 99


def job_succeed(*, job: Job, stems: Sequence[StemFile]) -> bool:
    """running -> succeeded, with its stems recorded and the expiry set; its
    tempo and key are detected afterwards, off the job's path (once committed).

    The stem files must already be in the job's outputs folder. False when the
    job was no longer running: its stems are then discarded, unless another
    collector (the reaper adopting it) has already completed the job.
    """
    now = timezone.now()
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.SUCCEEDED,
            progress=100,
            finished_at=now,
            expires_at=now + timedelta(hours=settings.OUTPUT_RETENTION_HOURS),
        )
        if updated:
            Stem.objects.bulk_create(
                Stem(
                    job=job,
                    name=stem.name,
                    relative_path=stem.relative_path,
                    size_bytes=stem.size_bytes,
                    duration_seconds=stem.duration_seconds,
                    peaks=stem.peaks,
                )
                for stem in stems
            )
            _publish(job, EventType.JOB_SUCCEEDED)
            # A fresh worker's first detection compiles numba's code for tens
            # of seconds: never while a job waits on it.
            django_rq.get_queue("default").enqueue(
                "jobs.runner.tasks.job_tempo_and_key_task", str(job.pk)
            )
    keep = updated or _has_succeeded(job)
    _ended(job, outputs=not keep)
    if updated:
        logger.info("job %s succeeded with %d stems", job.pk, len(stems))
    return bool(updated)


def _has_succeeded(job: Job) -> bool:
    return Job.objects.filter(pk=job.pk, status=Job.Status.SUCCEEDED).exists()


def job_fail(*, job: Job, message: str, log: str = "") -> bool:
    """active -> failed, with a message for people and the credit refunded.

    Idempotent: False when the job had already ended. Removes the upload and
    any partial output.
    """
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE_STATUSES).update(
            status=Job.Status.FAILED,
            error=message[: Job._meta.get_field("error").max_length],
            error_log=log[-MAX_ERROR_LOG_CHARS:],
            finished_at=timezone.now(),
        )
        if updated:
            credits_refund(job=job)
            _publish(job, EventType.JOB_FAILED)
    # A job that another collector completed meanwhile keeps its stems.
    _ended(job, outputs=bool(updated) or not _has_succeeded(job))
    if updated:
        logger.info("job %s failed: %s", job.pk, message)
    return bool(updated)


def job_cancel(*, job: Job) -> bool:
    """Stop a queued or running job and refund it. False when it had already ended."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE_STATUSES).update(
            status=Job.Status.CANCELLED,
            error=messages.CANCELLED,
            finished_at=timezone.now(),
        )
        if updated:
            credits_refund(job=job)
            _publish(job, EventType.JOB_CANCELLED)
    if updated:
        try:
            stemworker.separation_delete(str(job.pk))
        except stemworker.StemworkerUnavailable:
            logger.warning("could not reach the stemworker to stop job %s", job.pk)
        _ended(job, outputs=True)
    return bool(updated)


def job_delete(*, job: Job) -> None:
    """Cancel if still active, then remove the job, its stems and its files."""
    job_cancel(job=job)
    _ended(job, outputs=True)
    job.delete()


def jobs_delete_for_user(*, user_id: int) -> int:
    """Delete every job of one person (closing an account); returns how many."""
    jobs = list(Job.objects.filter(user_id=user_id))
    for job in jobs:
        job_delete(job=job)
    return len(jobs)


def jobs_purge_expired(*, now: datetime | None = None) -> int:
    """Delete the stems of jobs past their expiry; the jobs stay listed.

    Idempotent; returns how many jobs were purged. Run by the cron.
    """
    now = now or timezone.now()
    expired = Job.objects.filter(
        status=Job.Status.SUCCEEDED, expires_at__lte=now, files_purged_at__isnull=True
    )
    count = 0
    for job in expired.iterator():
        _ended(job, outputs=True)
        with transaction.atomic():
            Job.objects.filter(pk=job.pk).update(files_purged_at=now)
            _publish(job, EventType.JOB_EXPIRED)
        count += 1
    if count:
        logger.info("purged the files of %d expired jobs", count)
    return count


def _ended(job: Job, *, outputs: bool) -> None:
    """The one place a job's original is removed; its outputs too when asked."""
    storage.upload_remove(job)
    if outputs:
        storage.outputs_remove(job)
