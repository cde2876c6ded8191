"""Template context shared by every page."""

from typing import Any

from allauth.account.models import EmailAddress
from django.http import HttpRequest


def email_verification(request: HttpRequest) -> dict[str, Any]:
    """`unverified_email`: the address to verify, for a signed-in person who has
    no verified address yet (base.html then offers to resend the link)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    addresses = list(EmailAddress.objects.filter(user=user).order_by("-primary"))
    if any(address.verified for address in addresses):
        return {}
    return {"unverified_email": addresses[0].email if addresses else user.email}
