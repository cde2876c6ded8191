"""Shared fixtures: real PostgreSQL (pytest-django) and real Redis (DB 15)."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import django_rq
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import user_signed_up
from billing.services import account_for_user
from tests.factories import UserFactory

MODEL_CACHE = Path(os.environ.get("MUXMINUS_MODEL_CACHE", "/tmp/muxminus-test-models"))


@pytest.fixture(autouse=True)
def _clean_redis_and_shared() -> Iterator[None]:
    """Each test starts with an empty test Redis DB and an empty shared volume."""
    django_rq.get_connection("default").flushdb()
    cache.clear()
    yield
    for folder in ("uploads", "outputs", "work", "tmp"):
        shutil.rmtree(settings.SHARED_ROOT / folder, ignore_errors=True)
    (settings.SHARED_ROOT / "tmp").mkdir(parents=True, exist_ok=True)


def signed_up_user(**fields):  # type: ignore[no-untyped-def]
    """A signed-up user with a verified primary address and the free credits."""
    person = UserFactory(**fields)
    EmailAddress.objects.create(
        user=person, email=person.email, primary=True, verified=True
    )
    user_signed_up(user=person)
    return person


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    """A signed-up user (verified email) with the free credits."""
    return signed_up_user()


@pytest.fixture
def other_user(db):  # type: ignore[no-untyped-def]
    return signed_up_user()


@pytest.fixture
def funded_account(user):  # type: ignore[no-untyped-def]
    return account_for_user(user)


@pytest.fixture
def api_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(scope="session")
def tiny_models() -> Path:
    """Tiny random demucs models in the on-disk format of `--repo`, built once."""
    from stemworker.devmodels import build_repo

    return build_repo(MODEL_CACHE / "tiny", size="tiny")


def shared_files() -> list[Path]:
    """Every file left on the shared volume (the staging folder included)."""
    return sorted(p for p in Path(settings.SHARED_ROOT).rglob("*") if p.is_file())
