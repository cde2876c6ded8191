"""Template context shared by every page: whether this server sells credits."""

from typing import Any

from django.http import HttpRequest

from . import square_client


def payments(request: HttpRequest) -> dict[str, Any]:
    """`payments_enabled`: the one truth the nav, the pricing page, the credits
    page and the dashboard follow (no Buy button on a server without Square)."""
    return {"payments_enabled": square_client.payments_configured()}
