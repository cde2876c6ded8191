"""Shared fixtures: real PostgreSQL (pytest-django) and real Redis (DB 15)."""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import django_rq
import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from billing.services import account_for_user
from devtools.stemworker_process import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from tests.helpers.accounts import signed_up_user
from tests.helpers.audio import song_bytes
from tests.helpers.db import seed_baseline
from tests.helpers.jobs import STEMWORKER_MODELS

MODEL_CACHE = Path(os.environ.get("MUXMINUS_MODEL_CACHE", "/tmp/muxminus-test-models"))
# MUXMINUS_TEST_STORAGE=s3: the same suite with every stored file in a bucket
# of a local S3-compatible server instead of the shared folder.
SUITE_ON_S3 = os.environ.get("MUXMINUS_TEST_STORAGE") == "s3"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "filesystem_only: checks what only the filesystem backend does (a file "
        "served from the shared folder); skipped with MUXMINUS_TEST_STORAGE=s3",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not SUITE_ON_S3:
        return
    skip = pytest.mark.skip(reason="the filesystem backend's own behaviour")
    for item in items:
        if item.get_closest_marker("filesystem_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        seed_baseline()


@pytest.fixture(scope="session")
def s3_server():  # type: ignore[no-untyped-def]
    from devtools.s3_server import s3_server_running

    with s3_server_running() as server:
        yield server


@pytest.fixture(scope="session")
def suite_bucket(request) -> Iterator[str | None]:  # type: ignore[no-untyped-def]
    """With MUXMINUS_TEST_STORAGE=s3, one bucket for the whole run: set in the
    settings of this process and in the environment of every process a test
    starts."""
    if not SUITE_ON_S3:
        yield None
        return
    from devtools.s3_server import KEY_ID, REGION, SECRET

    server = request.getfixturevalue("s3_server")
    values = {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": server.bucket_create(),
        "AWS_S3_ENDPOINT_URL": server.endpoint_url,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    before = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
        os.environ[name] = value
    yield values["AWS_STORAGE_BUCKET_NAME"]
    for name, value in before.items():
        setattr(settings, name, value)
        os.environ.pop(name, None)


@pytest.fixture(autouse=True)
def _clean_redis_and_shared(request, suite_bucket) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Each test starts with an empty test Redis DB and an empty shared storage
    (the shared folder, and with MUXMINUS_TEST_STORAGE=s3 the suite's bucket)."""
    server = request.getfixturevalue("s3_server") if suite_bucket else None
    django_rq.get_connection("default").flushdb()
    cache.clear()
    yield
    if server is not None:
        _bucket_empty(server, suite_bucket)
    # Everything a test wrote on the shared volume goes, whatever its folder.
    for entry in Path(settings.SHARED_ROOT).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    (settings.SHARED_ROOT / "tmp").mkdir(parents=True, exist_ok=True)


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


@pytest.fixture
def wav(tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    """A one-second song, as the bytes of a wav file."""
    return song_bytes(tmp_path, seconds=1.0)


@pytest.fixture(scope="session")
def tiny_models() -> Path:
    """Tiny random demucs models in the on-disk format of `--repo`, built once."""
    from devtools.model_repo import build_repo

    return build_repo(MODEL_CACHE / "tiny", size="tiny")


# A real stemworker (uvicorn on 127.0.0.1) running demucs on the tiny models,
# shared by tests/jobs, tests/cms and tests/browser.


@dataclass(frozen=True)
class RunningStemworker:
    url: str
    pid: int  # uvicorn's: its pool workers name it as their parent_pid


@pytest.fixture(scope="session")
def shared_stemworker(tiny_models) -> Iterator[RunningStemworker]:  # type: ignore[no-untyped-def]
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
        yield RunningStemworker(url=url, pid=process.pid)
    finally:
        stop_stemworker(process)


@pytest.fixture(scope="session")
def stemworker_url(shared_stemworker) -> str:  # type: ignore[no-untyped-def]
    return shared_stemworker.url


@pytest.fixture
def live_stemworker(stemworker_url, settings):  # type: ignore[no-untyped-def]
    settings.STEMWORKER_URL = stemworker_url
    return stemworker_url


# --- Object storage: a local S3-compatible server (devtools/s3_server.py) -----


def _bucket_empty(server, bucket: str) -> None:  # type: ignore[no-untyped-def]
    client = server.client()
    keys = server.keys(bucket)
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": batch})


@pytest.fixture
def s3_bucket(s3_server, settings):  # type: ignore[no-untyped-def]
    """STORAGE_BACKEND=s3 on a fresh bucket of the local server, for one test;
    yields the bucket's name."""
    from devtools.s3_server import KEY_ID, REGION, SECRET

    bucket = s3_server.bucket_create()
    settings.STORAGE_BACKEND = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = s3_server.endpoint_url
    settings.AWS_S3_REGION_NAME = REGION
    settings.AWS_ACCESS_KEY_ID = KEY_ID
    settings.AWS_SECRET_ACCESS_KEY = SECRET
    return bucket
