"""Start-up checks: the time limits of a job, taken together (jobs/budget.py)."""

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from . import budget


def time_limits_check(**kwargs: Any) -> list[CheckMessage]:
    errors, warnings = budget.budget_problems()
    return [
        *(Error(text, id="jobs.E001") for text in errors),
        *(Warning(text, id="jobs.W001") for text in warnings),
    ]
