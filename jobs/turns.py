"""Dispatch turns: the RQ messages that make workers start queued jobs.

An RQ message on the `stems` queue names no job: it is a turn. Admission adds
one turn per admitted job, and whoever takes a turn starts the fairest queued
job at that moment (jobs/runner/dispatch.py). PostgreSQL holds the jobs; Redis
only delivers turns, and a turn Redis lost is given back by the reaper. A spare
turn finds nothing queued and ends.

Turns live below intake and runner because both give them: admission when it
admits, the reaper when Redis lost some.
"""

from django_rq import get_queue

from . import budget
from .models import Job

QUEUE = "stems"
TURN_TASK = "jobs.runner.tasks.job_process_next_task"


def turns_add(count: int = 1) -> None:
    """Give the dispatcher `count` more turns."""
    queue = get_queue(QUEUE)
    for _ in range(count):
        queue.enqueue(
            TURN_TASK,
            job_timeout=budget.turn_timeout_seconds(),
            result_ttl=600,
            failure_ttl=7 * 86400,
        )


def turns_restore() -> int:
    """Add turns until the queue holds at least one per queued job.

    After Redis lost its data, every queued job would otherwise wait forever.
    Counting turns being waited on by busy RQ workers is not needed: a spare
    turn is harmless. Returns how many turns were added.
    """
    queued = Job.objects.filter(status=Job.Status.QUEUED).count()
    missing = max(0, queued - get_queue(QUEUE).count)
    if missing:
        turns_add(missing)
    return missing
