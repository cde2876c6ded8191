"""API rate limits, counted in the Django cache (Redis).

A call made with an API token is counted against that token, so two scripts
with their own tokens do not slow each other down; a call made with the
session (the site's own pages) is counted against the user; an anonymous call
(only the schema and docs allow one) against its address. Rates come from
API_THROTTLE_DEFAULT and API_THROTTLE_JOB_CREATE ("600/minute", "30/minute";
empty turns a limit off). A throttled call gets 429 `throttled` and
`Retry-After`.
"""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .client_ip import client_ip


class ApiRateThrottle(SimpleRateThrottle):
    """Every API request, per token (or per user with the session)."""

    scope = "api"

    def get_rate(self) -> str | None:
        # Read at each request (not at import, as DRF does) so tests can change it.
        rate: str | None = settings.API_THROTTLE_RATES.get(self.scope)
        return rate

    def get_ident(self, request: Request) -> str:
        # DRF's own reads X-Forwarded-For unless told how many proxies there are.
        return client_ip(request._request)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.auth is not None:
            # Only token authentication sets `auth`; its pk is the token's
            # digest (knox): a hash, never the secret itself.
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class JobCreateRateThrottle(ApiRateThrottle):
    """Job creation (POST /api/v1/jobs/), on top of the general limit."""

    scope = "job_create"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
