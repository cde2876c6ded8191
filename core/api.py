"""API-wide behaviour: error bodies with a `code`, pagination, the schema's scope."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFilesSent,
)
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError

logger = logging.getLogger(__name__)

SERVER_ERROR = (
    "Something went wrong on our side. Please try again in a moment; with the "
    "same Idempotency-Key a retried upload is never charged twice."
)


def refusal_message(exc: SuspiciousOperation) -> str:
    """What a person reads when Django refuses a request as malformed."""
    if isinstance(exc, TooManyFilesSent):
        return (
            f"Too many files in one request: send at most "
            f"{settings.DATA_UPLOAD_MAX_NUMBER_FILES}."
        )
    if isinstance(exc, RequestDataTooBig):
        return "The request is too large."
    return "The request was malformed and has been refused."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error is `{"detail", "code"}`, a 500 included; domain errors keep
    their status."""
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": refusal_message(exc), "code": "invalid"}, status=400)
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        body.update(exc.extra)
        refusal = Response(body, status=exc.status_code)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            refusal["Retry-After"] = str(retry_after)
        return refusal
    response = drf_exception_handler(exc, context)
    if response is None:  # not an answer DRF knows: a bug of ours
        logger.error("API error in %s", context.get("view"), exc_info=exc)
        return Response({"detail": SERVER_ERROR, "code": "server_error"}, status=500)
    if isinstance(response.data, dict):
        if "detail" in response.data:
            detail = response.data["detail"]
            response.data["code"] = getattr(detail, "code", "error")
        else:  # field errors: keep them, and say so
            response.data = {
                "detail": "Some fields are invalid.",
                "code": "invalid",
                "errors": response.data,
            }
    return response


class ApiPagination(PageNumberPagination):
    """`?page=N`, 50 a page by default, `?page_size=` up to 100."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer."""

    detail = serializers.CharField(help_text="What went wrong, in a sentence.")
    code = serializers.CharField(help_text="A stable machine-readable code.")
    # Declared fields leave the class (DRF's metaclass), so this does not hide
    # Serializer.errors at run time; mypy only sees the class body.
    errors = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="Per-field messages (only with code `invalid`).",
    )
    slots_free = serializers.IntegerField(
        required=False,
        help_text="Jobs you may still start now (402 and 429 on job creation).",
    )
    credits = serializers.IntegerField(
        required=False,
        help_text="Your credit balance (402 and 429 on job creation).",
    )


ERROR_DESCRIPTIONS = {
    400: "`invalid` (the message lists the valid choices; `errors` has per-field "
    "messages), `invalid_mix`, `invalid_webhook_url`, `invalid_webhook`, "
    "`too_many_webhooks`, "
    "`invalid_audio`, or `model_unavailable` (this server cannot run "
    "that model now: see `available` in GET /api/v1/models/; nothing was charged).",
    401: "`not_authenticated` or `authentication_failed`: no valid token.",
    402: "`no_credits`: not enough credits for every file sent; nothing was created.",
    403: "`email_unverified`: verify the account's email address first.",
    404: "`not_found`: no such job or stem (another person's jobs are always 404).",
    405: "`method_not_allowed`.",
    409: "`job_not_finished`: the job has no stems yet to mix.",
    410: "`expired` or `files_expired`: the stems were deleted after their "
    "retention time.",
    413: "`file_too_large`: a file is over the upload limit; nothing was created.",
    415: "`unsupported_media_type`: send multipart/form-data.",
    422: "`idempotency_key_reused`: this Idempotency-Key came with a different "
    "request.",
    429: "`throttled` (too many requests) or, on job creation, "
    "`too_many_active_jobs`; nothing was created. Wait `Retry-After` seconds.",
    503: "`storage_full`: the server is short of storage space and takes no new "
    "songs for now; nothing was created or charged. Wait `Retry-After` seconds.",
}


# Documents the header on 429 answers (throttled or too many active jobs).
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429, 503],
    required=True,
    description="Seconds to wait before trying again.",
)


# Downloads on object storage (STORAGE_BACKEND=s3): the bytes come from the store.
PRESIGNED_REDIRECT = OpenApiResponse(
    description="On object storage: a redirect (`Location`) to a presigned URL of "
    "the file, valid for a few minutes. Follow it without this API's "
    "Authorization header (curl -L does that for another host)."
)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Documented error answers with the common body: 401 and 429 always."""
    wanted = sorted({401, 429, *statuses})
    return {
        status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in wanted
    }


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Token <key>` (our knox subclass)."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`, with a key made on the account page "
                "(/accounts/tokens/) or by `manage.py create_api_token`."
            ),
        }


@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other path under /api/v1/: a JSON 404, not the site's HTML page."""
    detail = "There is no such API endpoint; see /api/docs/."
    if not request.path.endswith("/"):
        detail = f"No such API endpoint. API paths end with a slash: {request.path}/"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)


def only_api_paths(endpoints: list[tuple[str, Any, Any, Any]]) -> list[Any]:
    """drf-spectacular hook: Wagtail's admin API views would break the schema."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
