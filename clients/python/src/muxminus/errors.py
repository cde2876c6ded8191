"""What the client raises: everything is a MuxMinusError.

An answer of the API that refuses (4xx, or a 5xx after the retries) raises an
ApiError subclass picked by its status (and, for a few, its `code`), carrying
the API's `{"detail", "code"}` body.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._schema_models import Error


class MuxMinusError(Exception):
    """Base of every error of this package."""


class NotSignedIn(MuxMinusError):
    """No API token: pass one, set MUXMINUS_TOKEN, or run `mux login`."""


class ConnectionFailed(MuxMinusError):
    """The server could not be reached (or kept dropping the connection) after
    every retry."""


class WaitTimeout(MuxMinusError):
    """A job did not end within the time given to Jobs.wait()."""

    def __init__(self, message: str, *, job: Any) -> None:
        super().__init__(message)
        self.job = job


class WebhookVerificationError(MuxMinusError):
    """A webhook's signature, timestamp or body did not check out."""


class ApiError(MuxMinusError):
    """The API answered with an error: `status`, and its `code` and `detail`."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        body: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        #: The whole JSON body (with `slots_free`, `credits`, `errors`... when sent).
        self.body: dict[str, Any] = body or {"detail": detail, "code": code}
        self.headers = headers or httpx.Headers()

    @property
    def error(self) -> Error:
        """The body as the schema's typed `Error`."""
        return Error.from_dict({**self.body, "code": self.code, "detail": self.detail})

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class BadRequest(ApiError):
    """400: a bad option, no file, or (InvalidAudio) a file that is not audio."""


class InvalidAudio(BadRequest):
    """400 `invalid_audio`: empty, not decodable, or too long."""


class AuthenticationFailed(ApiError, NotSignedIn):
    """401: no token, or a wrong, revoked or expired one."""


class NoCredits(ApiError):
    """402 `no_credits`: not enough credits for every file sent."""


class PermissionDenied(ApiError):
    """403, e.g. `email_unverified`."""


class NotFound(ApiError):
    """404: no such job or stem (or, `not_ready`, a zip before the job succeeded)."""


class Expired(ApiError):
    """410 `expired`: the stems were deleted after their retention time."""


class FileTooLarge(ApiError):
    """413 `file_too_large`."""


class UnsupportedMediaType(ApiError):
    """415 `unsupported_media_type`."""


class Unprocessable(ApiError):
    """422, e.g. `idempotency_key_reused`."""


class RateLimited(ApiError):
    """429 that the client stopped waiting out (its retry budget is spent)."""


class TooManyActiveJobs(RateLimited):
    """429 `too_many_active_jobs`: every job slot is taken; retry once a job ends."""


class ServerError(ApiError):
    """5xx, after every retry."""


#: Errors that mean the file itself was refused.
BAD_FILE_ERRORS: tuple[type[ApiError], ...] = (
    InvalidAudio,
    FileTooLarge,
    UnsupportedMediaType,
)

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    402: NoCredits,
    403: PermissionDenied,
    404: NotFound,
    410: Expired,
    413: FileTooLarge,
    415: UnsupportedMediaType,
    422: Unprocessable,
    429: RateLimited,
}
_BY_CODE: dict[str, type[ApiError]] = {
    "invalid_audio": InvalidAudio,
    "too_many_active_jobs": TooManyActiveJobs,
}


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds (the API sends seconds), or None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_body(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    """(code, detail, body) of an error answer, JSON or not (nginx's own pages)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "code" in body:
        detail = str(body.get("detail") or response.reason_phrase)
        return str(body["code"]), detail, body
    text = " ".join(response.text.split())[:200] or response.reason_phrase
    return f"http_{response.status_code}", text, {}


def api_error(response: httpx.Response) -> ApiError:
    """The exception for an error answer (its body must have been read)."""
    code, detail, body = error_body(response)
    status = response.status_code
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ApiError
    return cls(status, code, detail, body=body, headers=response.headers)
