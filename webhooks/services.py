"""Webhook rules: endpoints and their secrets, and publishing events.

An event is written (`Message` and one `Delivery` per target) in the same
transaction as the job change it tells of, and handed to the `webhooks` RQ
queue once that commits (webhooks.sending sends it): a slow or dead receiver
only ever holds a webhooks worker, never a job's.
"""

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError

from . import signing, transport
from .models import (
    TEST_EVENT,
    CallbackSecret,
    Delivery,
    Endpoint,
    EventType,
    Message,
)
from .queue import enqueue

if TYPE_CHECKING:
    from accounts.models import User
    from jobs.models import Job

logger = logging.getLogger(__name__)

MAX_ENDPOINTS_PER_USER = 10
ROTATION_HOURS = 24


class InvalidWebhook(DomainError):
    code = "invalid_webhook"


class TooManyEndpoints(DomainError):
    code = "too_many_webhooks"


# --- Endpoints and secrets --------------------------------------------------


def webhook_url_check(url: str) -> str:
    """The URL, stripped; raises InvalidWebhook with the reason it can't be used."""
    url = url.strip()
    problem = transport.url_problem(url) if url else "Give the URL to send events to."
    if problem:
        raise InvalidWebhook(problem, code="invalid_webhook_url")
    return url


def _events_check(events: Sequence[str]) -> list[str]:
    known = [choice.value for choice in EventType]
    unknown = [event for event in events if event not in known]
    if unknown:
        raise InvalidWebhook(
            f"Unknown event type {unknown[0]!r}: choose from {', '.join(known)}."
        )
    if not events:
        raise InvalidWebhook(f"Choose at least one event: {', '.join(known)}.")
    return [event for event in known if event in events]


def endpoint_create(
    *, user: "User", url: str, events: Sequence[str], description: str = ""
) -> Endpoint:
    """Register an endpoint with a new secret (the caller shows it once).

    Raises InvalidWebhook (URL, events) or TooManyEndpoints."""
    url = webhook_url_check(url)
    chosen = _events_check(events)
    if Endpoint.objects.filter(user=user).count() >= MAX_ENDPOINTS_PER_USER:
        raise TooManyEndpoints(
            f"You can have up to {MAX_ENDPOINTS_PER_USER} webhook endpoints; "
            "delete one first."
        )
    return Endpoint.objects.create(
        user=user,
        url=url,
        events=chosen,
        description=description.strip(),
        secret=signing.secret_generate(),
    )


def endpoint_update(
    *,
    endpoint: Endpoint,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    off_reason: str = "Turned off by you.",
) -> Endpoint:
    """Change what was given; enabling a disabled endpoint clears its failures."""
    if url is not None:
        endpoint.url = webhook_url_check(url)
    if events is not None:
        endpoint.events = _events_check(events)
    if description is not None:
        endpoint.description = description.strip()
    if enabled is True and endpoint.disabled_at is not None:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
        endpoint.failing_since = None
    elif enabled is False and endpoint.disabled_at is None:
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = off_reason
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def endpoint_secret_rotate(*, endpoint: Endpoint) -> str:
    """A new secret; the old one still signs for ROTATION_HOURS. Returns the new one."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + timedelta(hours=ROTATION_HOURS)
    endpoint.secret = signing.secret_generate()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return endpoint.secret


def callback_secret_for_user(*, user: "User") -> CallbackSecret:
    """The secret that signs a person's jobs' webhook_url events, made on first use."""
    secret, _ = CallbackSecret.objects.get_or_create(
        user=user, defaults={"secret": signing.secret_generate()}
    )
    return secret


def callback_secret_rotate(*, user: "User") -> CallbackSecret:
    """Like endpoint_secret_rotate, for the callback secret."""
    with transaction.atomic():
        current = callback_secret_for_user(user=user)
        current = CallbackSecret.objects.select_for_update().get(pk=current.pk)
        current.previous_secret = current.secret
        current.previous_secret_until = timezone.now() + timedelta(hours=ROTATION_HOURS)
        current.secret = signing.secret_generate()
        current.save()
    return current


def signing_secrets(owner: Endpoint | CallbackSecret) -> list[str]:
    """The secrets that sign now: the current one, and the previous one for
    ROTATION_HOURS after a rotation."""
    secrets = [owner.secret]
    until = owner.previous_secret_until
    if owner.previous_secret and until is not None and until > timezone.now():
        secrets.append(owner.previous_secret)
    return secrets


# --- Events -----------------------------------------------------------------


def _body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    moment = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": moment, "data": data},
        separators=(",", ":"),
    )


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def job_event_publish(
    *, job: "Job", event_type: str, render: Callable[[], dict[str, Any]]
) -> Message | None:
    """Tell a job's owner's endpoints (and the job's webhook_url) of a change;
    `render()` gives the job as the API shows it, asked only when somebody listens.

    Call it inside the transaction that made the change: the event commits with
    it (and is sent once it has). Idempotent per job and event type. None when
    nobody listens.
    """
    return event_publish(
        user_id=job.user_id,
        subject_id=job.pk,
        event_type=event_type,
        callback_url=job.webhook_url,
        render=render,
    )


def event_publish(
    *,
    user_id: int,
    subject_id: uuid.UUID,
    event_type: str,
    callback_url: str,
    render: Callable[[], dict[str, Any]],
) -> Message | None:
    """An event about `subject_id` (a job, a mix) to its owner's endpoints that
    take `event_type`, and to `callback_url` (a job's webhook_url) if any.
    Idempotent per subject and type; None when nobody listens."""
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(user_id=user_id, disabled_at=None)
        if event_type in endpoint.events
    ]
    callback = callback_url
    if callback and any(endpoint.url == callback for endpoint in endpoints):
        callback = ""  # the same receiver gets it once
    if not endpoints and not callback:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                id=_message_id(),
                user_id=user_id,
                event_type=event_type,
                subject_id=subject_id,
                body=_body(event_type, render(), now),
                created_at=now,
            )
    except IntegrityError:
        return None  # published already
    deliveries = [
        Delivery(message=message, endpoint=endpoint, url=endpoint.url)
        for endpoint in endpoints
    ]
    if callback:
        deliveries.append(Delivery(message=message, endpoint=None, url=callback))
    _deliveries_start(deliveries)
    return message


def test_event_send(*, endpoint: Endpoint) -> Delivery:
    """A `webhook.test` event to one endpoint, whatever events it takes."""
    now = timezone.now()
    data = {
        "endpoint_id": str(endpoint.id),
        "message": "A test event from Mux Minus: your endpoint answered.",
    }
    message = Message.objects.create(
        id=_message_id(),
        user_id=endpoint.user_id,
        event_type=TEST_EVENT,
        body=_body(TEST_EVENT, data, now),
        created_at=now,
    )
    delivery = Delivery(message=message, endpoint=endpoint, url=endpoint.url)
    _deliveries_start([delivery])
    return delivery


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """The same event (same id and body) to the same target, once more."""
    again = Delivery(
        message=delivery.message, endpoint=delivery.endpoint, url=delivery.url
    )
    if delivery.endpoint is not None:
        again.url = delivery.endpoint.url
    _deliveries_start([again])
    return again


def _deliveries_start(deliveries: list[Delivery]) -> None:
    Delivery.objects.bulk_create(deliveries)
    ids = [str(delivery.id) for delivery in deliveries]
    transaction.on_commit(lambda: enqueue(ids))
