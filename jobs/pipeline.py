"""Runs one admitted job through the stemworker: submit, follow, collect."""

import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from . import dispatch, services, worker_client
from .logs import job_logging_context
from .models import Job

logger = logging.getLogger(__name__)

RESTARTED = (
    "The separation service restarted during your job. Your credit has been refunded."
)
# How long a worker keeps following a job while PostgreSQL does not answer,
# before it gives up (the reaper then fails the job, credit back).
DATABASE_PATIENCE_SECONDS = 120.0


class SeparationFailed(Exception):
    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log = log


class JobCancelled(Exception):
    """The person cancelled or deleted the job while it ran."""


def job_process_next() -> None:
    """Take one turn: start the fairest queued job and see it to its end.

    It ends succeeded, or failed with its credit back; a turn that finds nothing
    queued does nothing.
    """
    job = dispatch.job_start_next()
    if job is None:
        logger.info("nothing queued; a spare turn ends")
        return
    with job_logging_context(str(job.pk)):
        _see_through(job)


def _see_through(job: Job) -> None:
    separation_id = str(job.pk)
    try:
        result = _separate(job, separation_id)
        stems = stems_from(result, separation_id)
        _patiently(partial(services.job_mark_succeeded, job=job, stems=stems))
    except SeparationFailed as error:
        _patiently(
            partial(
                services.job_mark_failed, job=job, message=error.message, log=error.log
            )
        )
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
        forget(separation_id)


def _separate(job: Job, separation_id: str) -> dict[str, Any]:
    """Follow the separation to its end; resubmits once after a restart."""
    for attempt in range(2):
        try:
            return _follow(job, separation_id)
        except worker_client.SeparationNotFound:
            logger.warning(
                "job %s: stemworker lost the separation (try %d)", job.pk, attempt
            )
        if attempt == 0:
            _resubmit(job)
    raise SeparationFailed(RESTARTED)


def _resubmit(job: Job) -> None:
    """POST the running job again, waiting while the stemworker is full or down."""
    waited_busy = waited_down = 0.0
    while True:
        _check_in(job)
        try:
            dispatch.separation_submit(job)
            return
        except worker_client.StemworkerBusy as busy:
            pause = min(max(busy.retry_after, 0.5), dispatch.BUSY_PAUSE_MAX)
            waited_busy += pause
            if waited_busy > settings.STEMWORKER_WAIT_SECONDS:
                raise SeparationFailed(dispatch.BUSY) from busy
        except worker_client.StemworkerUnavailable as down:
            pause = dispatch.DOWN_PAUSE
            waited_down += pause
            if waited_down > settings.STEMWORKER_DOWN_SECONDS:
                raise SeparationFailed(dispatch.UNAVAILABLE, str(down)) from down
        except worker_client.SeparationRejected as rejected:
            raise SeparationFailed(str(rejected)) from rejected
        time.sleep(pause)


def _follow(job: Job, separation_id: str) -> dict[str, Any]:
    """Long-poll until the separation ends, copying its progress onto the job."""
    waited_down = 0.0
    while True:
        _check_in(job)
        try:
            state = worker_client.separation_get(
                separation_id, wait=settings.STEMWORKER_POLL_SECONDS
            )
        except worker_client.StemworkerUnavailable as down:
            waited_down += 1.0
            if waited_down > settings.STEMWORKER_DOWN_SECONDS:
                raise SeparationFailed(dispatch.UNAVAILABLE, str(down)) from down
            time.sleep(1.0)
            continue
        waited_down = 0.0
        status = state["status"]
        if status == "running":
            _tolerating_database(
                partial(
                    services.job_progress_update,
                    job=job,
                    progress=state.get("progress") or 0,
                )
            )
        elif status == "succeeded":
            return state
        elif status == "cancelled":
            raise JobCancelled
        else:
            raise SeparationFailed(
                state.get("error") or "Separation failed.", state.get("log") or ""
            )


def _check_in(job: Job) -> None:
    """Tell the reaper this worker is alive; stop if the job was cancelled.

    While PostgreSQL does not answer, the job goes on: the separation does not
    need the database, and its result is recorded once it answers again.
    """
    if _tolerating_database(partial(services.job_check_in, job=job)) is False:
        raise JobCancelled


T = TypeVar("T")


def _tolerating_database(action: Callable[[], T]) -> T | None:
    """Run `action`; None (logged) when the database is unreachable."""
    try:
        return action()
    except (OperationalError, InterfaceError) as error:
        logger.warning("database unreachable, carrying on: %s", error)
        connection.close()  # the next query opens a fresh connection
        return None


def _patiently(action: Callable[[], T]) -> T:
    """Run `action`, retrying for a while when the database is unreachable.

    `action` must be safe to repeat: the services it calls are idempotent.
    """
    deadline = time.monotonic() + DATABASE_PATIENCE_SECONDS
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError) as error:
            if time.monotonic() > deadline:
                raise
            logger.warning("database unreachable, retrying: %s", error)
            connection.close()
            time.sleep(2.0)


def stems_from(result: dict[str, Any], separation_id: str) -> list[tuple[str, Path]]:
    """The stem files the stemworker reported, each inside its work folder.

    Raises SeparationFailed when there are none, or one lies outside it.
    """
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


def forget(separation_id: str) -> None:
    """Ask the stemworker to drop the separation and its work folder."""
    try:
        worker_client.separation_delete(separation_id)
    except worker_client.StemworkerUnavailable:
        logger.warning("could not reach the stemworker to clean up %s", separation_id)
