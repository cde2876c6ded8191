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
from rq.worker import SimpleWorker

from accounts.services import user_signed_up
from billing.services import account_for_user
from stemworker.testing import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from tests.factories import UserFactory

MODEL_CACHE = Path(os.environ.get("MUXMINUS_MODEL_CACHE", "/tmp/muxminus-test-models"))


def seed_baseline() -> None:
    """Put back what the data migrations seed (Wagtail's root, locale and home
    page, the site, the credit packs) when a transactional test's flush removed
    it: in this run, or in an earlier one that left a --reuse-db database empty."""
    from importlib import import_module

    from django.apps import apps
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Locale, Page

    from cms.site_content import home_get

    import_module("billing.migrations.0003_seed_credit_packs").seed(apps, None)
    language = get_supported_content_language_variant(settings.LANGUAGE_CODE)
    locale, _ = Locale.objects.get_or_create(language_code=language)
    if not Page.objects.filter(depth=1).exists():
        Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
    home_get()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        seed_baseline()


@pytest.fixture(autouse=True)
def _clean_redis_and_shared() -> Iterator[None]:
    """Each test starts with an empty test Redis DB and an empty shared volume."""
    django_rq.get_connection("default").flushdb()
    cache.clear()
    yield
    # Everything a test wrote on the shared volume goes, whatever its folder.
    for entry in Path(settings.SHARED_ROOT).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
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


# A real stemworker (uvicorn on 127.0.0.1) running demucs on the tiny models,
# shared by tests/jobs, tests/cms and tests/browser.
STEMWORKER_MODELS = "htdemucs,htdemucs_ft,htdemucs_6s,mdx_extra"


@pytest.fixture(scope="session")
def stemworker_url(tiny_models) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    process = start_stemworker(
        port,
        {
            "STEMWORKER_TOKEN": settings.STEMWORKER_TOKEN,
            "SHARED_ROOT": str(settings.SHARED_ROOT),
            "DEMUCS_REPO": str(tiny_models),
            "DEMUCS_MODELS": STEMWORKER_MODELS,
            "MAX_CONCURRENT_JOBS": "1",
            "STEMWORKER_WARMUP": "true",
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=120)
        yield url
    finally:
        stop_stemworker(process)


@pytest.fixture
def live_stemworker(stemworker_url, settings):  # type: ignore[no-untyped-def]
    settings.STEMWORKER_URL = stemworker_url
    return stemworker_url


def run_queue() -> None:
    """Run every queued separation with a real RQ worker, in this process."""
    django_rq.get_worker("stems", worker_class=SimpleWorker).work(burst=True)
