"""One request to the API, with the retries every call gets.

- 429: wait `Retry-After` (each wait capped, and the total per call bounded),
  then send the same request again;
- 5xx and connection errors: exponential backoff with jitter (or the answer's
  Retry-After), a bounded number of attempts;
- any other 4xx: the typed error of errors.py, at once.

Every call the client makes is safe to repeat: GET and DELETE are, and a job
creation carries one Idempotency-Key for all its attempts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import httpx

from .errors import (
    ApiError,
    ConnectionFailed,
    TooManyActiveJobs,
    api_error,
    retry_after_seconds,
)

#: Builds the keyword arguments of one attempt (files are opened afresh each
#: time, on the ExitStack, so a retry sends them from their first byte).
RequestParts = Callable[[ExitStack], Mapping[str, Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries before it raises."""

    #: Attempts for a 5xx or a connection error (1: never retry).
    attempts: int = 5
    #: The first backoff, in seconds; it doubles at each attempt.
    backoff: float = 0.5
    #: The longest single backoff.
    max_backoff: float = 30.0
    #: The longest single wait for a 429's (or 503's) Retry-After.
    max_retry_after: float = 120.0
    #: Seconds one call may spend waiting on 429s in all.
    rate_limit_budget: float = 600.0
    #: Assumed when a 429 has no Retry-After.
    default_retry_after: float = 5.0

    def backoff_for(self, attempt: int) -> float:
        """Equal jitter: half the exponential step, plus up to that again."""
        step = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return step / 2 + random.uniform(0, step / 2)  # noqa: S311 - jitter


class Transport:
    """An httpx.Client plus the retry rules."""

    def __init__(
        self,
        http: httpx.Client,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.policy = policy
        self.sleep = sleep

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        parts: RequestParts | None = None,
        wait_for_slot: bool = True,
        ok_on_retry: frozenset[int] = frozenset(),
        follow_redirects: bool = False,
        **kwargs: Any,
    ) -> Iterator[httpx.Response]:
        """The first successful answer (2xx), its body not yet read.

        `ok_on_retry`: statuses that count as success on a repeated attempt (a
        DELETE whose first answer was lost finds the job gone: 404).
        `follow_redirects`: downloads from a server on object storage answer
        with a presigned URL of the bucket (httpx drops our Authorization
        header when it leaves for another host)."""
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            with ExitStack() as files:
                extra = dict(parts(files)) if parts else {}
                request = self.http.build_request(method, url, **kwargs, **extra)
                try:
                    response = self.http.send(
                        request, stream=True, follow_redirects=follow_redirects
                    )
                except httpx.TransportError as error:
                    if attempt >= self.policy.attempts:
                        raise ConnectionFailed(
                            f"{method} {request.url}: {describe(error)} "
                            f"(after {attempt} attempts)"
                        ) from error
                    self.sleep(self.policy.backoff_for(attempt))
                    continue
            try:
                done = attempt > 1 and response.status_code in ok_on_retry
                if response.status_code < 300 or done:
                    yield response
                    return
                response.read()
                if response.status_code < 400:
                    raise redirected(response)
                pause = self._pause(response, attempt, waited, wait_for_slot)
            finally:
                response.close()
            waited += pause if response.status_code == 429 else 0.0
            self.sleep(pause)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Like stream(), with the body read."""
        with self.stream(method, url, **kwargs) as response:
            response.read()
            return response

    def _pause(
        self, response: httpx.Response, attempt: int, waited: float, wait_for_slot: bool
    ) -> float:
        """How long to wait before the next attempt; raises when there is none."""
        error = api_error(response)
        status = response.status_code
        retry_after = retry_after_seconds(response.headers)
        if status == 429:
            if isinstance(error, TooManyActiveJobs) and not wait_for_slot:
                raise error
            pause = min(
                self.policy.max_retry_after,
                self.policy.default_retry_after if retry_after is None else retry_after,
            )
            if waited + pause > self.policy.rate_limit_budget:
                raise error
            return pause
        if status >= 500:
            if attempt >= self.policy.attempts:
                raise error
            if retry_after is not None:
                return min(self.policy.max_retry_after, retry_after)
            return self.policy.backoff_for(attempt)
        raise error


def redirected(response: httpx.Response) -> ApiError:
    """The client follows no redirect (a POST would lose its body, a token its
    way): it says where the server points instead."""
    where = response.headers.get("location", "elsewhere")
    return ApiError(
        response.status_code,
        "redirect",
        f"The server redirects to {where}: use that address as the base URL "
        "(MUXMINUS_URL, or `mux login`).",
        headers=response.headers,
    )


def describe(error: httpx.TransportError) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if str(error) else text
