"""The stemworker's HTTP API, call by call: small requests with explicit timeouts.

This is the transport only; how long to wait, retry or give up is the runner's
policy (jobs/runner/client.py). The web side uses it directly for the two
calls that need no policy: listing models and stopping a cancelled job.
"""

import functools
import os
import ssl
import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import httpx
from django.conf import settings

READ_TIMEOUT = 10.0
CONNECT_TIMEOUT = 3.0
TIMEOUT = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
# No connection outlives its request: nothing stale to reuse after the
# stemworker closed it, nothing shared with a forked child.
_LIMITS = httpx.Limits(max_keepalive_connections=0)
_clients: dict[int, httpx.Client] = {}
_clients_lock = threading.Lock()


class SeparationStatus(StrEnum):
    """What the stemworker says of one separation (its SeparationOut.status)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StemworkerUnavailable(Exception):
    """The stemworker did not answer, or answered with a server error."""


class StemworkerBusy(Exception):
    """Every separation slot is taken; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"busy, retry after {retry_after}s")
        self.retry_after = retry_after


class SeparationRejected(Exception):
    """The stemworker refused the request (bad model, stem, path or time limit)."""


class SeparationNotFound(Exception):
    """The stemworker does not know this separation (restarted, or deleted)."""


@dataclass(frozen=True)
class SeparationRequest:
    """One POST /separations body."""

    id: str
    input_path: str
    model: str
    two_stems: str | None
    output_format: str
    timeout_seconds: int


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings every client shares, forks included: building them
    reads certifi's bundle, about 35 ms of CPU, which a one-off httpx.request
    paid on every call (three per job start, while the cores are busiest)."""
    return httpx.create_ssl_context()


def _client() -> httpx.Client:
    """This process's client: a forked RQ work horse builds its own."""
    pid = os.getpid()
    with _clients_lock:
        client = _clients.get(pid)
        if client is None:
            client = httpx.Client(verify=_tls(), limits=_LIMITS, timeout=TIMEOUT)
            _clients[pid] = client
        return client


def client_warm() -> None:
    """Build the shared TLS settings now, before the RQ workers fork."""
    _tls()


def _request(method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {settings.STEMWORKER_TOKEN}"}
    kwargs.setdefault("timeout", TIMEOUT)
    try:
        response = _client().request(
            method,
            settings.STEMWORKER_URL.rstrip("/") + path,
            headers=headers,
            **kwargs,
        )
    except httpx.HTTPError as error:
        raise StemworkerUnavailable(str(error)) from error
    if response.status_code >= 500:
        raise StemworkerUnavailable(f"{response.status_code}: {response.text[:200]}")
    if response.status_code == 401:
        raise StemworkerUnavailable("The stemworker refused our token.")
    return response


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]


def _long_poll_timeout(wait: float) -> httpx.Timeout:
    return httpx.Timeout(READ_TIMEOUT + wait, connect=CONNECT_TIMEOUT)


def separation_post(request: SeparationRequest) -> dict[str, Any]:
    """Start a separation. Re-submitting a running id returns it unchanged."""
    response = _request("POST", "/separations", json=asdict(request))
    if response.status_code == 429:
        raise StemworkerBusy(float(response.headers.get("Retry-After", "2")))
    if response.status_code >= 400:
        raise SeparationRejected(_detail(response))
    return response.json()


def separation_get(separation_id: str, *, wait: float = 0) -> dict[str, Any]:
    """The separation's state; with `wait`, a long poll that returns early when
    the separation ends."""
    response = _request(
        "GET",
        f"/separations/{separation_id}",
        params={"wait": wait} if wait else None,
        timeout=_long_poll_timeout(wait),
    )
    if response.status_code == 404:
        raise SeparationNotFound(separation_id)
    return response.json()


def separation_delete(separation_id: str) -> None:
    """Stop (if running) and forget a separation; unknown ids are fine."""
    _request("DELETE", f"/separations/{separation_id}")


def slot_wait(*, wait: float) -> None:
    """Return as soon as a separation slot is free, or after `wait` seconds."""
    response = _request(
        "GET", "/slots", params={"wait": wait}, timeout=_long_poll_timeout(wait)
    )
    if response.status_code >= 400:  # a stemworker too old to long-poll
        raise StemworkerUnavailable(_detail(response))


def health() -> dict[str, Any]:
    """Slots, busy slots and device, as the stemworker's /health says."""
    response = _request("GET", "/health")
    if response.status_code >= 400:
        raise StemworkerUnavailable(_detail(response))
    return dict(response.json())


def slots_count() -> int:
    """How many separations the stemworker runs at once."""
    response = _request("GET", "/slots")
    if response.status_code >= 400:
        raise StemworkerUnavailable(_detail(response))
    return int(response.json()["slots"])


def models_list() -> list[dict[str, Any]]:
    response = _request("GET", "/models")
    if response.status_code >= 400:
        raise StemworkerUnavailable(_detail(response))
    return response.json()
