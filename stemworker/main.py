"""The stemworker ASGI app: ``uvicorn stemworker.main:app --port 8001``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .api import public, router
from .capacity import CapacityError
from .config import Settings, get_settings
from .runner import Pool

logger = logging.getLogger("stemworker")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings_for(app: FastAPI) -> Settings:
    # Honour a test's dependency override so the pool and the routes agree.
    factory = app.dependency_overrides.get(get_settings, get_settings)
    settings: Settings = factory()
    return settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the warm worker pool; kill every worker on shutdown."""
    settings = _settings_for(app)
    if not logging.getLogger().handlers:  # uvicorn configures only its own
        logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    settings.work_root.mkdir(parents=True, exist_ok=True)
    try:
        capacity = settings.capacity
    except CapacityError as error:
        logger.error("stemworker cannot start: %s", error)
        raise
    logger.info("stemworker %s", capacity.summary())
    pool = Pool(settings)
    pool.start()
    app.state.pool = pool
    logger.info(
        "stemworker ready: %d slot(s), models=%s, repo=%s",
        len(pool.slots),
        ",".join(settings.model_names),
        settings.demucs_repo,
    )
    try:
        yield
    finally:
        pool.shutdown()


# No public docs: the schema is served behind the token (GET /openapi.json in
# stemworker/api.py); Swagger and ReDoc pages could not send it.
app = FastAPI(
    title="Mux Minus stemworker",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)
app.include_router(public)
app.include_router(router)
