"""Accessible form fields (errors and help tied to their input), and the
verification link's status for the pages that offer a new one."""

from datetime import datetime

from django import template
from django.conf import settings
from django.forms import BoundField
from django.utils.safestring import SafeString

from accounts.verification import (
    VerificationMail,
    describe_ago,
    describe_wait,
    verification_pending_email,
    verification_status,
)

register = template.Library()


@register.filter
def accessible_widget(field: BoundField) -> SafeString:
    """The field's widget with aria-describedby (help, errors) and aria-invalid."""
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_helptext")
    if field.errors:
        described_by.append(f"{field.auto_id}_error")
    attrs: dict[str, str | bool] = {}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


PROVIDER_NAMES = {"github": "GitHub", "google": "Google", "facebook": "Facebook"}


@register.filter
def provider_name(provider_id: str) -> str:
    """A provider's brand name, even when its app is no longer configured."""
    return PROVIDER_NAMES.get(provider_id, provider_id.title())


@register.simple_tag(takes_context=True)
def verification_mail(
    context: template.Context, email: str | None = None
) -> VerificationMail | None:
    """The link this visitor is asked to open: when it went out, when another
    can. `email` defaults to the address their pending sign-up waits on."""
    request = context.get("request")
    if request is None:
        return None
    email = email or verification_pending_email(request)
    return verification_status(request, email=email) if email else None


@register.filter
def ago(moment: datetime) -> str:
    return describe_ago(moment)


@register.filter
def from_now(moment: datetime) -> str:
    return describe_wait(moment)


@register.simple_tag
def free_credits() -> int:
    return int(settings.FREE_CREDITS)
