"""HTTP routes: thin synchronous handlers over the worker pool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.openapi.utils import get_openapi

from . import catalog, messages
from .config import Settings, SettingsDep
from .deps import PoolDep, require_token
from .runner import JobSpec, Pool, PoolFull, Separation
from .schemas import Health, ModelInfo, SeparationIn, SeparationOut, StemOut

RETRY_AFTER_SECONDS = 10
# Linux's limits; a longer path or name is malformed, not a file to look for.
PATH_MAX, NAME_MAX = 4096, 255
MODELS_WAIT_SECONDS = 30.0

public = APIRouter()
router = APIRouter(dependencies=[Depends(require_token)])


@public.get("/health", response_model=Health)
@public.get("/healthz", response_model=Health, include_in_schema=False)
def health(pool: PoolDep) -> Health:
    """Liveness and slot usage; no token needed."""
    return Health(
        slots=len(pool.slots),
        busy=pool.busy(),
        device=pool.settings.capacity.device,
    )


def _model_info(
    name: str,
    loaded: dict[str, list[str] | None] | None,
    unavailable: dict[str, str] | None,
) -> ModelInfo:
    fallback = catalog.known_stems(name) or []
    # Not inspected yet (the first worker is still loading): the standard table.
    stems = (loaded or {}).get(name)
    reason = (unavailable or {}).get(name)
    return ModelInfo(
        name=name,
        stems=stems or fallback,
        description=catalog.description(name),
        available=reason is None,
        reason=reason,
    )


@router.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request) -> dict[str, Any]:
    """The service's OpenAPI schema, for operators holding the token."""
    app = request.app
    return get_openapi(title=app.title, version=app.version, routes=app.routes)


@router.get("/slots", response_model=Health)
def slots(pool: PoolDep, wait: Annotated[float, Query(ge=0, le=60)] = 0) -> Health:
    """Slot usage; with `wait`, a long poll that answers as soon as a slot is
    free (or after `wait` seconds), for clients that got a 429."""
    if wait > 0:
        pool.wait_for_free_slot(wait)
    return Health(
        slots=len(pool.slots),
        busy=pool.busy(),
        device=pool.settings.capacity.device,
    )


@router.get("/models", response_model=list[ModelInfo])
def list_models(settings: SettingsDep, pool: PoolDep) -> list[ModelInfo]:
    """The configured models, in order, with stems read from the models themselves
    and, for each one that cannot load, why."""
    loaded = pool.model_stems(timeout=MODELS_WAIT_SECONDS)
    unavailable = pool.unavailable_models()
    return [_model_info(name, loaded, unavailable) for name in settings.model_names]


def _bad_request(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=detail)


def _validated_spec(body: SeparationIn, settings: Settings, pool: Pool) -> JobSpec:
    raw = Path(body.input_path)
    if not raw.is_absolute():
        raise _bad_request("input_path must be an absolute path.")
    if len(os.fsencode(raw)) > PATH_MAX or any(
        len(os.fsencode(part)) > NAME_MAX for part in raw.parts
    ):
        raise _bad_request("input_path is not a valid path.")
    try:
        # resolve() follows symlinks, so a link inside the root pointing out is
        # refused; a NUL byte or a name the OS refuses is a malformed path.
        resolved = raw.resolve()
    except (ValueError, OSError) as malformed:
        raise _bad_request("input_path is not a valid path.") from malformed
    if not resolved.is_relative_to(settings.shared_root):
        raise _bad_request("input_path is outside the shared folder.")
    if body.model not in settings.model_names:
        raise _bad_request(f"Unknown model {body.model!r}.")
    reason = (pool.unavailable_models() or {}).get(body.model)
    if reason is not None:  # refused now, not failed once demucs gives up
        raise _bad_request(messages.model_unavailable(body.model, reason))
    if body.two_stems is not None:
        loaded = pool.model_stems() or {}
        stems = loaded.get(body.model) or catalog.known_stems(body.model)
        if stems and body.two_stems not in stems:
            raise _bad_request(
                f"Model {body.model} has no stem {body.two_stems!r}; "
                f"choose one of {', '.join(stems)}."
            )
    timeout = settings.job_timeout
    if body.timeout_seconds is not None:
        if body.timeout_seconds > settings.job_timeout:
            # Refused, not shortened: a job cut short after hours of work is
            # worse than one refused now (the web side's limits disagree).
            raise _bad_request(
                f"timeout_seconds {body.timeout_seconds} is above this "
                f"stemworker's cap (STEMWORKER_JOB_TIMEOUT={settings.job_timeout})."
            )
        timeout = body.timeout_seconds
    return JobSpec(
        id=body.id,
        input_path=resolved,
        model=body.model,
        two_stems=body.two_stems,
        output_format=body.output_format,
        timeout=timeout,
    )


def _out(sep: Separation) -> SeparationOut:
    return SeparationOut(
        id=sep.spec.id,
        status=sep.status,  # type: ignore[arg-type]  # one of the literal values
        progress=round(sep.progress, 1),
        stems=[StemOut(name=name, path=str(path)) for name, path in sep.stems],
        error=sep.error,
        log=sep.log_tail(),
        started_at=sep.started_at,
        finished_at=sep.finished_at,
    )


@router.post(
    "/separations",
    response_model=SeparationOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def create_separation(
    body: SeparationIn, settings: SettingsDep, pool: PoolDep
) -> SeparationOut:
    """Start a separation (or return the existing one with this id)."""
    spec = _validated_spec(body, settings, pool)
    try:
        sep = pool.submit(spec)
    except PoolFull:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"All {len(pool.slots)} separation slots are busy.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    return _out(sep)


@router.get("/separations/{sep_id}", response_model=SeparationOut)
def get_separation(
    sep_id: str, pool: PoolDep, wait: Annotated[float, Query(ge=0, le=60)] = 0
) -> SeparationOut:
    """One separation's status, progress, stems and log tail.

    `wait` (seconds) long-polls: the answer comes when the separation ends, or
    after `wait` seconds with its progress so far.
    """
    sep = pool.get(sep_id, wait=wait)
    if sep is None:
        raise HTTPException(status_code=404, detail="Unknown separation.")
    return _out(sep)


@router.delete("/separations/{sep_id}", status_code=204, response_class=Response)
def delete_separation(sep_id: str, pool: PoolDep) -> Response:
    """Cancel (kill its process group), delete its files and forget it."""
    if not pool.delete(sep_id):
        raise HTTPException(status_code=404, detail="Unknown separation.")
    return Response(status_code=204)
