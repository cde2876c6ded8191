"""Billing fixtures: a local fake Square for the real SDK, and signed deliveries."""

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from square.core import http_client

from tests.helpers.billing import WEBHOOK_URL
from tests.helpers.fake_square import FakeSquare


@pytest.fixture(autouse=True)
def _seeded_packs(django_db_setup: Any, django_db_blocker: Any) -> None:
    """The packs the data migration seeds (a transactional test's flush drops them)."""
    seed = importlib.import_module("billing.migrations.0003_seed_credit_packs").seed
    with django_db_blocker.unblock():
        seed(apps, None)


@pytest.fixture(autouse=True)
def _square_unconfigured(settings: Any) -> None:
    """No billing test may reach a real Square, whatever the local .env says."""
    settings.SQUARE_ACCESS_TOKEN = ""
    settings.SQUARE_ENVIRONMENT = "sandbox"
    settings.SQUARE_LOCATION_ID = ""
    settings.SQUARE_WEBHOOK_SIGNATURE_KEY = ""
    settings.SQUARE_WEBHOOK_URL = ""
    settings.SQUARE_BASE_URL = ""


@pytest.fixture
def square(
    settings: Any, monkeypatch: pytest.MonkeyPatch, _square_unconfigured: None
) -> Iterator[FakeSquare]:
    # The SDK waits about 1 s, then 2 s, before its retries: keep the tests fast.
    monkeypatch.setattr(http_client, "INITIAL_RETRY_DELAY_SECONDS", 0.01)
    fake = FakeSquare(
        token="sandbox-token-for-tests",
        location_id="LFAKELOCATION",
        webhook_key="webhook-signature-key-for-tests",
        webhook_url=WEBHOOK_URL,
    ).start()
    settings.SQUARE_ACCESS_TOKEN = fake.token
    settings.SQUARE_LOCATION_ID = fake.location_id
    settings.SQUARE_WEBHOOK_SIGNATURE_KEY = fake.webhook_key
    settings.SQUARE_WEBHOOK_URL = fake.webhook_url
    settings.SQUARE_BASE_URL = fake.base_url
    settings.SQUARE_TIMEOUT_SECONDS = 1.0
    settings.SITE_URL = "https://muxminus.test"
    yield fake
    fake.stop()


@pytest.fixture
def buyer_client(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client
