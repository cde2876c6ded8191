"""The product as docker-compose.yml runs it, behind Debian's nginx.

One `production` stack per test session (devtools/production/): nginx with the
repository's nginx.conf, gunicorn with compose's arguments and production
settings, the RQ workers, cron and the stemworker on the tiny models, on a
fresh PostgreSQL database and a Redis DB of its own. Every test talks to nginx.

The database is `<the test database's name>_prod_test` (muxminus_prod_test by
default), so the runs of two test databases never share one; the Redis DB is
PRODUCTION_TEST_REDIS_URL's (DB 12 by default).
"""

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from devtools.processes import sigterm_as_interrupt
from devtools.production import ProductionStack
from tests.helpers.production import PASSWORD, Person

REDIS_URL = os.environ.get("PRODUCTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture(scope="session")
def production(tiny_models: Path) -> Iterator[ProductionStack]:
    # Every test flushes the test Redis DB (tests/conftest.py): never this one.
    assert REDIS_URL.rstrip("/") != settings.TEST_REDIS_URL.rstrip("/"), (
        "PRODUCTION_TEST_REDIS_URL must not be the test Redis DB"
    )
    # pytest-django renames the test database to test_<name> once it made it.
    test_database = settings.DATABASES["default"]["NAME"].removeprefix("test_")
    stack = ProductionStack(
        models=tiny_models,
        db_name=f"{test_database}_prod_test",
        redis_url=REDIS_URL,
    )
    # The services run in sessions of their own: a SIGTERM to pytest must
    # still stop them (and drop the database).
    with sigterm_as_interrupt():
        try:
            stack.start()
            yield stack
        finally:
            stack.close()


@pytest.fixture(scope="session")
def make_people(production: ProductionStack) -> Callable[[int], list[Person]]:
    """New accounts on the running product: make_people(n)."""

    def make(count: int) -> list[Person]:
        emails = [f"person-{secrets.token_hex(4)}@example.com" for _ in range(count)]
        tokens = production.accounts(emails, password=PASSWORD)
        return [Person(email, tokens[email]) for email in emails]

    return make


@pytest.fixture(scope="session")
def people(make_people: Callable[[int], list[Person]]) -> list[Person]:
    """Accounts the tests share: [0] uploads through the API and downloads,
    [1] signs in behind another port and is the stranger to [0]'s jobs, [2]
    uploads through the dashboard."""
    return make_people(3)
