"""Accessible form fields: errors and help tied to their input."""

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

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
