"""Every time limit of a job, derived from its model and its length.

One estimate (seconds of compute per second of audio, measured on the CPUs of
ARCHITECTURE 6) gives everything else:

    separation timeout   what the stemworker allows one separation (4x the
                         estimate, at least 10 minutes), never above
                         STEMWORKER_JOB_TIMEOUT, the stemworker's own cap
    running deadline     started_at + separation timeout + the stemworker's
                         start-up grace + time to collect: past it the reaper
                         fails the job, and a resubmission never reaches past it
    slot wait            a queued job waits at most STEMWORKER_WAIT_SECONDS from
                         its upload for a free slot; a long poll never waits
                         past what is left of that
    turn timeout         RQ's limit for one turn: the longest slot wait, an
                         outage, the longest running deadline and the
                         database's patience, so RQ never kills a turn that
                         these limits still allow
    admission            a song whose separation timeout would exceed the cap
                         is refused at upload, with its limit for that model

`budget_problems()` checks the settings against each other; it runs as a
system check at start-up (`manage.py check`, every runserver and worker).
"""

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings

from . import stemworker
from .models import Job

# Seconds of compute per second of audio on a CPU, measured (ARCHITECTURE 6).
MODEL_COST = {"htdemucs_ft": 5.2, "htdemucs_6s": 1.5}
DEFAULT_MODEL_COST = 1.3
# Interpreter, model load and encoding around the compute.
OVERHEAD_SECONDS = 5.0
# Generous, so that a slow machine is never cut short; a stuck job still ends.
TIMEOUT_FACTOR = 4
MIN_TIMEOUT_SECONDS = 600
# The stemworker starts a separation's clock when its worker process takes the
# job, up to this long after accepting it (stemworker/runner.py,
# STARTUP_GRACE_SECONDS; tests/jobs/test_budget.py keeps the two equal).
STEMWORKER_STARTUP_GRACE_SECONDS = 180
# Encoding the stems, measuring them and moving them to outputs/, after demucs
# ends (jobs/encoding.py): LAME takes about 1.3 s of one core per stem and
# minute of audio; budgeted as if six stems shared one busy core.
COLLECT_SECONDS = 120
COLLECT_SECONDS_PER_AUDIO_MINUTE = 10
# How long a worker keeps trying to record a result while PostgreSQL is down.
DATABASE_PATIENCE_SECONDS = 120
# While every slot is busy, the dispatcher long-polls the stemworker for a free
# one, at most this long at a time (each wake-up of another process slows the
# running separations, so it asks rarely).
SLOT_POLL_SECONDS = 10.0
# When every queued job is being started by another worker: the pause before
# this one waits for the next free slot.
LOCKED_PAUSE_SECONDS = 0.05
# Between tries when the stemworker is unreachable or cannot long-poll.
DOWN_PAUSE_SECONDS = 1.0
BUSY_PAUSE_MAX_SECONDS = 2.0
TURN_SLACK_SECONDS = 600
DEFAULT_DURATION_SECONDS = 180.0


def estimate_seconds(*, model: str, duration: float | None) -> float:
    """An honest guess at how long the separation takes on this server's CPUs."""
    cost = MODEL_COST.get(model, DEFAULT_MODEL_COST)
    return OVERHEAD_SECONDS + (duration or DEFAULT_DURATION_SECONDS) * cost


def separation_timeout_seconds(*, model: str, duration: float | None) -> int:
    """The hard limit for one separation: generous, but a stuck job always ends.

    May exceed the stemworker's cap only for a song that admission refuses.
    """
    estimate = estimate_seconds(model=model, duration=duration)
    return int(max(MIN_TIMEOUT_SECONDS, math.ceil(TIMEOUT_FACTOR * estimate)))


def separation_cap_seconds() -> int:
    """The stemworker's own cap on one separation (STEMWORKER_JOB_TIMEOUT)."""
    return int(settings.STEMWORKER_JOB_TIMEOUT)


def longest_admissible_seconds(*, model: str) -> float:
    """The longest song this model may separate here: MAX_AUDIO_MINUTES, or less
    where its separation timeout would pass the stemworker's cap (0: none)."""
    cap = separation_cap_seconds()
    if cap < MIN_TIMEOUT_SECONDS:
        return 0.0
    cost = MODEL_COST.get(model, DEFAULT_MODEL_COST)
    by_cap = (cap / TIMEOUT_FACTOR - OVERHEAD_SECONDS) / cost
    return max(0.0, min(settings.MAX_AUDIO_MINUTES * 60.0, by_cap))


def collect_seconds(*, duration: float | None) -> int:
    """What collecting a separation may take: encoding grows with the song."""
    minutes = (duration or DEFAULT_DURATION_SECONDS) / 60
    return COLLECT_SECONDS + math.ceil(COLLECT_SECONDS_PER_AUDIO_MINUTE * minutes)


def running_budget_seconds(*, model: str, duration: float | None) -> int:
    """From start to recorded result, at most: the reaper's deadline."""
    return (
        separation_timeout_seconds(model=model, duration=duration)
        + STEMWORKER_STARTUP_GRACE_SECONDS
        + collect_seconds(duration=duration)
    )


def job_deadline(*, job: Job) -> datetime | None:
    """When a running job must have ended, from its audio's length and its model."""
    if job.started_at is None:
        return None
    limit = running_budget_seconds(model=job.model, duration=job.duration_seconds)
    return job.started_at + timedelta(seconds=limit)


def resubmission_timeout_seconds(*, job: Job, now: datetime) -> int:
    """What a separation started again (after a stemworker restart) may take, so
    that it still ends before the job's deadline; 0 when no time is left."""
    deadline = job_deadline(job=job)
    if deadline is None:
        return 0
    left = (deadline - now).total_seconds()
    left -= STEMWORKER_STARTUP_GRACE_SECONDS + collect_seconds(
        duration=job.duration_seconds
    )
    full = separation_timeout_seconds(model=job.model, duration=job.duration_seconds)
    return max(0, min(full, int(left)))


def slot_wait_left_seconds(*, job: Job, now: datetime) -> float:
    """What is left of a queued job's STEMWORKER_WAIT_SECONDS for a free slot."""
    waited = (now - job.created_at).total_seconds()
    return settings.STEMWORKER_WAIT_SECONDS - waited


def turn_timeout_seconds() -> int:
    """RQ's limit for one turn (see the module docstring)."""
    longest = max(
        (
            running_budget_seconds(
                model=model, duration=longest_admissible_seconds(model=model)
            )
            for model in settings.DEMUCS_MODELS
        ),
        default=MIN_TIMEOUT_SECONDS,
    )
    return int(
        settings.STEMWORKER_WAIT_SECONDS
        + settings.STEMWORKER_DOWN_SECONDS
        + longest
        + DATABASE_PATIENCE_SECONDS
        + TURN_SLACK_SECONDS
    )


def retry_after_seconds(*, active: Iterable[Job]) -> int:
    """Seconds until one of these active jobs is likely to finish."""
    remaining = [
        estimate_seconds(model=job.model, duration=job.duration_seconds)
        * (1 - job.progress / 100)
        for job in active
    ]
    return max(5, math.ceil(min(remaining))) if remaining else 5


def longest_check_in_gap_seconds() -> float:
    """The longest a live worker goes without checking in: one long poll plus
    the HTTP timeouts around it."""
    poll = max(settings.STEMWORKER_POLL_SECONDS, SLOT_POLL_SECONDS)
    return poll + stemworker.READ_TIMEOUT + stemworker.CONNECT_TIMEOUT


def budget_problems() -> tuple[list[str], list[str]]:
    """(errors, warnings) about the time-limit settings taken together."""
    errors: list[str] = []
    warnings: list[str] = []
    cap = separation_cap_seconds()
    if cap < MIN_TIMEOUT_SECONDS:
        errors.append(
            f"STEMWORKER_JOB_TIMEOUT is {cap} s, below the shortest separation "
            f"timeout ({MIN_TIMEOUT_SECONDS} s): no song could be admitted."
        )
    gap = longest_check_in_gap_seconds()
    if settings.JOB_HEARTBEAT_TIMEOUT_SECONDS <= gap:
        errors.append(
            f"JOB_HEARTBEAT_TIMEOUT_SECONDS ({settings.JOB_HEARTBEAT_TIMEOUT_SECONDS})"
            f" must exceed the longest gap between a worker's check-ins ({gap:g} s),"
            " or the reaper fails jobs that are still running."
        )
    limit = settings.MAX_AUDIO_MINUTES * 60.0
    for model in settings.DEMUCS_MODELS:
        longest = longest_admissible_seconds(model=model)
        if 0 < longest < limit:
            warnings.append(
                f"{model} can separate songs of at most {longest / 60:.1f} minutes "
                f"within STEMWORKER_JOB_TIMEOUT ({cap} s), less than "
                f"MAX_AUDIO_MINUTES ({settings.MAX_AUDIO_MINUTES}); longer songs "
                "are refused at upload."
            )
    return errors, warnings
