"""API-wide behaviour: error bodies with a `code`, and the schema's scope."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error is `{"detail", "code"}`; domain errors keep their status."""
    if isinstance(exc, DomainError):
        response = Response(
            {"detail": exc.message, "code": exc.code}, status=exc.status_code
        )
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict):
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


def only_api_paths(endpoints: list[tuple[str, Any, Any, Any]]) -> list[Any]:
    """drf-spectacular hook: Wagtail's admin API views would break the schema."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
