"""A real stemworker (uvicorn on 127.0.0.1) running demucs on tiny models."""

from collections.abc import Iterator

import django_rq
import pytest
from django.conf import settings
from rq.worker import SimpleWorker

from stemworker.testing import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)

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
