"""The client's address: REMOTE_ADDR, or behind our proxy the header it sets."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address a request came from, for rate limits.

    With CLIENT_IP_HEADER set (DJANGO_BEHIND_PROXY), that header, which nginx
    writes from its own peer address; otherwise REMOTE_ADDR, and forwarding
    headers a client could forge are ignored. allauth's limits ask it too
    (accounts.adapters.AccountAdapter.get_client_ip).
    """
    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = request.headers.get(header, "").strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))
