"""One turn, start to end: start the fairest job, follow it, collect its stems.

    turn ─> dispatch.job_start_next ─> client.follow ─> collect.job_collect
                                           │ (stemworker restarted)
                                           └─> client.submit_patiently, follow again

Whatever happens the job ends, succeeded or failed with its credit back, or,
when its host is stopping, goes back to the queue for another host.
"""

import logging
import time
from functools import partial
from typing import Any

from django.utils import timezone

from jobs import budget, hosts, lifecycle, messages, storage, turns
from jobs.logs import job_logging_context
from jobs.models import Job

from . import client, collect, dispatch
from .client import SeparationCancelled, SeparationFailed, SeparationLost
from .database import retry_while_database_down, unless_database_down

logger = logging.getLogger(__name__)


def job_process_next() -> None:
    """Take one turn: start the fairest queued job and run it to its end.

    A turn that finds nothing queued does nothing. A turn is never lost: one
    that meets a database that does not answer (or is locked) waits for it,
    and one that fails before starting a job puts a turn back for the next
    worker. After a job, any turns Redis lost are given back at once, not at
    the reaper's next minute.
    """
    try:
        job = retry_while_database_down(dispatch.job_start_next)
    except BaseException:
        _turn_give_back()
        raise
    if job is None:
        logger.info("nothing queued; a spare turn ends")
        return
    with job_logging_context(str(job.pk)):
        _run_to_end(job)
    unless_database_down(turns.turns_restore)


def _turn_give_back() -> None:
    try:
        turns.turns_add(1)
    except Exception:
        # Redis is gone too: the reaper gives turns back once it returns.
        logger.exception("could not give the turn back")


def _run_to_end(job: Job) -> None:
    separation_id = str(job.pk)
    try:
        state = _separate(job)
        stems = collect.reported_stems(state, separation_id)
        unless_database_down(partial(lifecycle.job_separated, job=job))
        retry_while_database_down(partial(collect.job_collect, job=job, stems=stems))
    except SeparationFailed as error:
        retry_while_database_down(
            partial(lifecycle.job_fail, job=job, message=error.message, log=error.log)
        )
    except SeparationCancelled:
        logger.info("job %s was cancelled while running", job.pk)
    except HostStopping:
        # Before the stems exist only: another host separates it from the start.
        if unless_database_down(partial(lifecycle.job_hand_back, job=job)):
            _turn_give_back()
    except BaseException:
        # Whatever broke (the worker being stopped included), the credit comes back.
        lifecycle.job_fail(job=job, message=messages.OUR_FAULT)
        raise
    finally:
        client.discard(separation_id)
        storage.scratch_clean(job)


def _separate(job: Job) -> dict[str, Any]:
    """Follow the separation to its end; starts it once more after a restart."""
    check_in = partial(_check_in, job)
    on_progress = partial(_progress, job)
    for attempt in range(2):
        try:
            return client.follow(
                str(job.pk), on_progress=on_progress, check_in=check_in
            )
        except SeparationLost:
            logger.warning(
                "job %s: stemworker lost the separation (try %d)", job.pk, attempt
            )
        if attempt == 0:
            _start_again(job)
    raise SeparationFailed(messages.STEMWORKER_RESTARTED)


def _start_again(job: Job) -> None:
    """Submit the running job again, within what is left of its deadline."""
    now = timezone.now()
    timeout = budget.resubmission_timeout_seconds(job=job, now=now)
    if timeout <= 0:
        raise SeparationFailed(messages.STEMWORKER_RESTARTED)
    deadline = budget.job_deadline(job=job)
    assert deadline is not None  # noqa: S101 - a running job has started
    # The latest moment it may start and still end, collected, by the deadline.
    margins = budget.STEMWORKER_STARTUP_GRACE_SECONDS + budget.collect_seconds(
        duration=job.duration_seconds
    )
    left = (deadline - now).total_seconds() - margins - timeout
    client.submit_patiently(
        dispatch.separation_request(job, timeout_seconds=timeout),
        until=time.monotonic() + max(0.0, left),
        check_in=partial(_check_in, job),
    )


class HostStopping(Exception):
    """This host was told to stop and its drain time is over (jobs/hosts.py)."""


def _check_in(job: Job) -> None:
    """Tell the reaper this worker is alive; stop if the job was cancelled, or
    hand it back if this host is stopping and may wait no longer.

    While PostgreSQL does not answer, the job goes on (runner/database.py).
    """
    if unless_database_down(partial(lifecycle.job_check_in, job=job)) is False:
        raise SeparationCancelled
    if unless_database_down(hosts.host_must_hand_back):
        raise HostStopping


def _progress(job: Job, progress: float) -> None:
    unless_database_down(
        partial(lifecycle.job_progress_update, job=job, progress=progress)
    )
