"""A worker following a job carries on while PostgreSQL briefly does not answer.

The separation does not need the database; check-ins and progress are skipped
while it is away, and the result is recorded once it answers again.
"""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

from jobs import budget

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_PAUSE_SECONDS = 2.0


def unless_database_down(action: Callable[[], T]) -> T | None:
    """Run `action`; None (logged) when the database is unreachable."""
    try:
        return action()
    except (OperationalError, InterfaceError) as error:
        logger.warning("database unreachable, carrying on: %s", error)
        connection.close()  # the next query opens a fresh connection
        return None


def retry_while_database_down(action: Callable[[], T]) -> T:
    """Run `action`, retrying for DATABASE_PATIENCE_SECONDS while the database
    is unreachable. `action` must be safe to repeat (the lifecycle is)."""
    deadline = time.monotonic() + budget.DATABASE_PATIENCE_SECONDS
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError) as error:
            if time.monotonic() > deadline:
                raise
            logger.warning("database unreachable, retrying: %s", error)
            connection.close()
            time.sleep(RETRY_PAUSE_SECONDS)
