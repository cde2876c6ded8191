"""Runs one admitted job through the stemworker: submit, follow, collect."""

import logging
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from . import services, worker_client
from .models import Job

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    "The separation service is unavailable right now. "
    "Your credit has been refunded; please try again later."
)
BUSY = "The server stayed busy for too long. Your credit has been refunded."
RESTARTED = (
    "The separation service restarted during your job. Your credit has been refunded."
)


class SeparationFailed(Exception):
    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log = log


class JobCancelled(Exception):
    """The person cancelled or deleted the job while it ran."""


def job_process(*, job_id: str) -> None:
    """Take a queued job to succeeded or failed (credit refunded).

    A duplicate delivery of a job that is no longer queued does nothing.
    """
    job = services.job_start(job_id=job_id)
    if job is None:
        logger.info("job %s is not queued; skipping duplicate delivery", job_id)
        return
    logger.info("job %s started (%s, %s)", job.pk, job.model, job.output_format)
    separation_id = str(job.pk)
    try:
        result = _separate(job, separation_id)
        stems = _stems_from(result, separation_id)
        services.job_mark_succeeded(job=job, stems=stems)
    except SeparationFailed as error:
        services.job_mark_failed(job=job, message=error.message, log=error.log)
    except JobCancelled:
        logger.info("job %s was cancelled while running", job.pk)
    except BaseException:
        # Whatever broke (the worker being stopped included), the credit comes back.
        services.job_mark_failed(
            job=job,
            message="Something went wrong on our side. Your credit has been refunded.",
        )
        raise
    finally:
        services.job_files_remove(job=job, outputs=False)
        _forget(separation_id)


def _separate(job: Job, separation_id: str) -> dict[str, Any]:
    """Submit and follow the separation to its end; resubmits once after a restart."""
    for attempt in range(2):
        _submit(job, separation_id)
        try:
            return _follow(job, separation_id)
        except worker_client.SeparationNotFound:
            logger.warning(
                "job %s: stemworker lost the separation (try %d)", job.pk, attempt
            )
    raise SeparationFailed(RESTARTED)


def _submit(job: Job, separation_id: str) -> None:
    """POST the separation, waiting while the stemworker is full or unreachable."""
    waited_busy = waited_down = 0.0
    while True:
        _raise_if_cancelled(job)
        try:
            worker_client.separation_submit(
                separation_id=separation_id,
                input_path=str(job.upload_path),
                model=job.model,
                two_stems=job.two_stems or None,
                output_format=job.output_format,
                timeout_seconds=services.separation_timeout_seconds(job=job),
            )
            return
        except worker_client.StemworkerBusy as busy:
            pause = min(max(busy.retry_after, 0.5), 2.0)
            waited_busy += pause
            if waited_busy > settings.STEMWORKER_WAIT_SECONDS:
                raise SeparationFailed(BUSY) from busy
        except worker_client.StemworkerUnavailable as down:
            pause = 1.0
            waited_down += pause
            if waited_down > settings.STEMWORKER_DOWN_SECONDS:
                raise SeparationFailed(UNAVAILABLE, str(down)) from down
        except worker_client.SeparationRejected as rejected:
            raise SeparationFailed(str(rejected)) from rejected
        time.sleep(pause)


def _follow(job: Job, separation_id: str) -> dict[str, Any]:
    """Long-poll until the separation ends, copying its progress onto the job."""
    waited_down = 0.0
    while True:
        _raise_if_cancelled(job)
        try:
            state = worker_client.separation_get(
                separation_id, wait=settings.STEMWORKER_POLL_SECONDS
            )
        except worker_client.StemworkerUnavailable as down:
            waited_down += 1.0
            if waited_down > settings.STEMWORKER_DOWN_SECONDS:
                raise SeparationFailed(UNAVAILABLE, str(down)) from down
            time.sleep(1.0)
            continue
        waited_down = 0.0
        status = state["status"]
        if status == "running":
            services.job_progress_update(job=job, progress=state.get("progress") or 0)
        elif status == "succeeded":
            return state
        elif status == "cancelled":
            raise JobCancelled
        else:
            raise SeparationFailed(
                state.get("error") or "Separation failed.", state.get("log") or ""
            )


def _raise_if_cancelled(job: Job) -> None:
    status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    if status != Job.Status.RUNNING:
        raise JobCancelled


def _stems_from(result: dict[str, Any], separation_id: str) -> list[tuple[str, Path]]:
    """The stem files the stemworker reported, each inside its work folder."""
    work = (settings.SHARED_ROOT / "work" / separation_id).resolve()
    stems = []
    for stem in result.get("stems", []):
        path = Path(stem["path"]).resolve()
        if not path.is_relative_to(work) or not path.is_file():
            raise SeparationFailed("Separation failed.", f"unexpected stem path {path}")
        stems.append((str(stem["name"]), path))
    if not stems:
        raise SeparationFailed(
            "This file could not be read as audio.", "no stems reported"
        )
    return stems


def _forget(separation_id: str) -> None:
    """Ask the stemworker to drop the separation and its work folder."""
    try:
        worker_client.separation_delete(separation_id)
    except worker_client.StemworkerUnavailable:
        logger.warning("could not reach the stemworker to clean up %s", separation_id)
