"""Reads of webhooks that apply ownership: another person's is a 404."""

import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import Http404

from .models import Attempt, Delivery, Endpoint

if TYPE_CHECKING:
    from accounts.models import User

NOT_FOUND = "No such webhook endpoint."


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise Http404(NOT_FOUND) from error


def endpoints_for_user(*, user: "User") -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(user=user).order_by("created_at")


def endpoint_get_for_user(*, user: "User", pk: Any) -> Endpoint:
    endpoint = Endpoint.objects.filter(user=user, pk=_uuid(pk)).first()
    if endpoint is None:
        raise Http404(NOT_FOUND)
    return endpoint


def delivery_get_for_endpoint(*, endpoint: Endpoint, pk: Any) -> Delivery:
    delivery = (
        Delivery.objects.select_related("message", "endpoint")
        .filter(endpoint=endpoint, pk=_uuid(pk))
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery of this endpoint.")
    return delivery


def attempts_for_endpoint(*, endpoint: Endpoint) -> QuerySet[Attempt]:
    """The delivery log: newest first, at most sending.LOG_LENGTH (pruned)."""
    return (
        Attempt.objects.filter(endpoint=endpoint)
        .select_related("delivery__message")
        .order_by("-at", "-pk")
    )
