"""The worker side's one policy for talking to the stemworker.

    start_once        one POST, its outcome as a value (the dispatcher holds a row
                      lock meanwhile, so it never waits here)
    wait_for_slot     a long poll for a free slot, never past the time given
    submit_patiently  POST until a slot takes it: long-polls while busy (never
                      past `until`), retries while the stemworker is down (for
                      STEMWORKER_DOWN_SECONDS), fails at once when refused
    follow            long-polls a separation to its end, reporting progress
    discard           asks the stemworker to drop a separation and its folder

The pipeline, the reaper and the landing-page demo all go through these; the
transport underneath is jobs/stemworker.py.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.conf import settings

from jobs import budget, messages, stemworker
from jobs.stemworker import SeparationRequest, SeparationStatus

logger = logging.getLogger(__name__)


class SeparationFailed(Exception):
    """The separation cannot succeed; `message` is for people, `log` for operators."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log = log


class SeparationCancelled(Exception):
    """The person cancelled or deleted the job while it ran."""


SeparationLost = stemworker.SeparationNotFound


class Outcome(Enum):
    STARTED = "started"
    BUSY = "busy"  # every slot taken
    DOWN = "down"  # unreachable, or a server error
    REJECTED = "rejected"  # refused: bad model, stem, path or time limit


@dataclass(frozen=True)
class StartAttempt:
    outcome: Outcome
    detail: str = ""
    retry_after: float = 0.0


def _nothing() -> None:
    return None


def start_once(request: SeparationRequest) -> StartAttempt:
    """One try to start a separation; a separation it already has counts as started."""
    try:
        stemworker.separation_post(request)
    except stemworker.StemworkerBusy as busy:
        return StartAttempt(Outcome.BUSY, retry_after=busy.retry_after)
    except stemworker.StemworkerUnavailable as down:
        return StartAttempt(Outcome.DOWN, detail=str(down))
    except stemworker.SeparationRejected as rejected:
        return StartAttempt(Outcome.REJECTED, detail=str(rejected))
    return StartAttempt(Outcome.STARTED)


def wait_for_slot(*, seconds: float, retry_after: float = 0.0) -> None:
    """Return when a slot is free, or after `seconds` (never later)."""
    if seconds <= 0:
        return
    try:
        stemworker.slot_wait(wait=min(seconds, budget.SLOT_POLL_SECONDS))
    except stemworker.StemworkerUnavailable:
        # A stemworker that cannot long-poll: pause as its 429 asked.
        pause = min(max(retry_after, 0.5), budget.BUSY_PAUSE_MAX_SECONDS)
        time.sleep(min(pause, seconds))


def submit_patiently(
    request: SeparationRequest,
    *,
    until: float,
    check_in: Callable[[], None] = _nothing,
) -> None:
    """Start the separation, waiting while the stemworker is full (until the
    monotonic time `until`) or down (STEMWORKER_DOWN_SECONDS).

    Raises SeparationFailed with the reason once it gives up; `check_in` runs
    before every try and may raise SeparationCancelled.
    """
    down_since: float | None = None
    while True:
        check_in()
        attempt = start_once(request)
        now = time.monotonic()
        if attempt.outcome is Outcome.STARTED:
            return
        if attempt.outcome is Outcome.REJECTED:
            raise SeparationFailed(attempt.detail)
        if attempt.outcome is Outcome.DOWN:
            down_since = down_since or now
            if now - down_since > settings.STEMWORKER_DOWN_SECONDS:
                raise SeparationFailed(messages.STEMWORKER_UNAVAILABLE, attempt.detail)
            time.sleep(budget.DOWN_PAUSE_SECONDS)
            continue
        down_since = None
        if now >= until:
            raise SeparationFailed(messages.STEMWORKER_BUSY)
        wait_for_slot(seconds=until - now, retry_after=attempt.retry_after)


def follow(
    separation_id: str,
    *,
    on_progress: Callable[[float], None] = lambda progress: None,
    check_in: Callable[[], None] = _nothing,
) -> dict[str, Any]:
    """Long-poll until the separation ends; its final state when it succeeded.

    Raises SeparationFailed (failed, or the stemworker down too long),
    SeparationCancelled, or SeparationLost (the stemworker no longer knows it:
    it restarted).
    """
    down_since: float | None = None
    while True:
        check_in()
        try:
            state = stemworker.separation_get(
                separation_id, wait=settings.STEMWORKER_POLL_SECONDS
            )
        except stemworker.StemworkerUnavailable as down:
            now = time.monotonic()
            down_since = down_since or now
            if now - down_since > settings.STEMWORKER_DOWN_SECONDS:
                raise SeparationFailed(
                    messages.STEMWORKER_UNAVAILABLE, str(down)
                ) from down
            time.sleep(budget.DOWN_PAUSE_SECONDS)
            continue
        down_since = None
        status = state["status"]
        if status == SeparationStatus.RUNNING:
            on_progress(state.get("progress") or 0)
        elif status == SeparationStatus.SUCCEEDED:
            return state
        elif status == SeparationStatus.CANCELLED:
            raise SeparationCancelled
        else:
            raise SeparationFailed(
                state.get("error") or messages.SEPARATION_FAILED, state.get("log") or ""
            )


def state_get(separation_id: str) -> dict[str, Any] | None:
    """The separation's state now; None when the stemworker is down or lost it."""
    try:
        return stemworker.separation_get(separation_id)
    except (stemworker.SeparationNotFound, stemworker.StemworkerUnavailable):
        return None


def discard(separation_id: str) -> None:
    """Stop (if running) and drop a separation and its work folder."""
    try:
        stemworker.separation_delete(separation_id)
    except stemworker.StemworkerUnavailable:
        logger.warning("could not reach the stemworker to discard %s", separation_id)
