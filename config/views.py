"""Operational endpoints, and the error pages (JSON under /api/)."""

import hmac
import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.cache import never_cache
from django_rq import get_connection
from redis.exceptions import RedisError

from core.api import SERVER_ERROR, refusal_message
from jobs.hosts import hosts_report

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when PostgreSQL and Redis both answer, 503 otherwise; operators also
    get the separation hosts seen recently, each with its slots and jobs."""
    checks = {"database": True, "redis": True}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("health check: database unreachable")
        checks["database"] = False
    try:
        get_connection("default").ping()
    except RedisError:
        logger.exception("health check: redis unreachable")
        checks["redis"] = False
    healthy = all(checks.values())
    body: dict[str, object] = {"status": "ok" if healthy else "unavailable", **checks}
    if checks["database"] and _operator(request):
        body["hosts"] = [report.as_dict() for report in hosts_report()]
    return JsonResponse(body, status=200 if healthy else 503)


def _operator(request: HttpRequest) -> bool:
    """Staff, or a request bearing HEALTHZ_TOKEN: they also see the hosts."""
    token = settings.HEALTHZ_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and given and hmac.compare_digest(given, token):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_staff)


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django refused the request before any view (a malformed body, too many
    files, a bad Host): the API answers in its own error shape."""
    if not _api(request):
        return defaults.bad_request(request, exception)
    detail = (
        refusal_message(exception)
        if isinstance(exception, SuspiciousOperation)
        else "The request was malformed and has been refused."
    )
    return JsonResponse({"detail": detail, "code": "invalid"}, status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    if not _api(request):
        return defaults.server_error(request)
    return JsonResponse({"detail": SERVER_ERROR, "code": "server_error"}, status=500)


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever a page links; pages link the SVG."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
