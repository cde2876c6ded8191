"""Webhook rules: endpoints and their secrets, events, and delivering them.

An event is written (`Message` and one `Delivery` per target) in the same
transaction as the job change it tells of, and handed to the `webhooks` RQ
queue once that commits: a slow or dead receiver only ever holds a webhooks
worker, never a job. A delivery is retried on timeouts, connection errors, 408,
429 and 5xx (Retry-After honoured) on WEBHOOK_RETRY_DELAYS with jitter, for
WEBHOOK_RETRY_HOURS at most; any other answer ends it. Postgres holds the
schedule (`next_attempt_at`); the cron hands due deliveries to the queue. Each
try is claimed with a conditional UPDATE, so a delivery enqueued twice is sent
once at a time.
"""

import json
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import django_rq
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.errors import DomainError

from . import signing, transport
from .models import (
    TEST_EVENT,
    Attempt,
    CallbackSecret,
    Delivery,
    Endpoint,
    EventType,
    Message,
)

if TYPE_CHECKING:
    from accounts.models import User
    from jobs.models import Job

logger = logging.getLogger(__name__)

QUEUE = "webhooks"
MAX_ENDPOINTS_PER_USER = 10
LOG_LENGTH = 100
ROTATION_HOURS = 24
RETRYABLE_STATUSES = {408, 429}


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


def _signing_secrets(owner: Endpoint | CallbackSecret) -> list[str]:
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
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(user_id=job.user_id, disabled_at=None)
        if event_type in endpoint.events
    ]
    callback = job.webhook_url
    if callback and any(endpoint.url == callback for endpoint in endpoints):
        callback = ""  # the same receiver gets it once
    if not endpoints and not callback:
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                id=_message_id(),
                user_id=job.user_id,
                event_type=event_type,
                job_id=job.pk,
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
    transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(ids: Sequence[str]) -> None:
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    queue = django_rq.get_queue(QUEUE)
    for delivery_id in ids:
        queue.enqueue("webhooks.tasks.delivery_attempt_task", delivery_id)


# --- Delivering -------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retry_in: float | None  # seconds; None when it will not be retried


def _claim(delivery_id: str) -> Delivery | None:
    now = timezone.now()
    hold = timedelta(seconds=4 * float(settings.WEBHOOK_TIMEOUT_SECONDS) + 30)
    claimed = (
        Delivery.objects.filter(
            pk=delivery_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
        )
        .exclude(claimed_until__gt=now)
        .update(claimed_until=now + hold)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("message", "endpoint").get(pk=delivery_id)


def delivery_attempt(
    *,
    delivery_id: str,
    resolver: transport.Resolver = transport.system_resolver,
    policy: transport.Policy = transport.default_policy,
) -> Outcome | None:
    """Try one delivery now, record the attempt, and schedule the next if due.

    None when the delivery is not due (done, claimed by another worker, or
    waiting for its next attempt). Never raises for what the receiver does.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if endpoint is not None and not endpoint.enabled:
        _finish(delivery, Delivery.Status.FAILED)
        return Outcome(delivered=False, retry_in=None)
    owner: Endpoint | CallbackSecret = endpoint or callback_secret_for_user(
        user=delivery.message.user
    )
    body = delivery.message.body
    headers = signing.headers(
        secrets_=_signing_secrets(owner),
        message_id=delivery.message.id,
        timestamp=int(timezone.now().timestamp()),
        body=body,
    )
    answer = transport.post(
        delivery.url,
        content=body.encode(),
        headers=headers,
        resolver=resolver,
        policy=policy,
    )
    delivery.attempts += 1
    _log(delivery, answer)
    return _settle(delivery, answer)


def _log(delivery: Delivery, answer: transport.Answer) -> None:
    Attempt.objects.create(
        delivery=delivery,
        endpoint=delivery.endpoint,
        number=delivery.attempts,
        status_code=answer.status_code,
        duration_ms=answer.duration_ms,
        error=answer.error[:300],
        response_excerpt=answer.excerpt,
    )
    if delivery.endpoint is not None:
        stale = Attempt.objects.filter(endpoint=delivery.endpoint).values_list(
            "pk", flat=True
        )[LOG_LENGTH:]
        Attempt.objects.filter(pk__in=list(stale)).delete()


def _settle(delivery: Delivery, answer: transport.Answer) -> Outcome:
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        _finish(delivery, Delivery.Status.DELIVERED)
        if delivery.endpoint is not None and delivery.endpoint.failing_since:
            Endpoint.objects.filter(pk=delivery.endpoint.pk).update(failing_since=None)
        return Outcome(delivered=True, retry_in=None)
    if delivery.endpoint is not None:
        _endpoint_failed(delivery.endpoint, answer)
    retryable = not answer.refused and (
        code is None or code >= 500 or code in RETRYABLE_STATUSES
    )
    delay = _next_delay(delivery, answer) if retryable else None
    if delay is None:
        _finish(delivery, Delivery.Status.FAILED)
        return Outcome(delivered=False, retry_in=None)
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        claimed_until=None,
        enqueued_at=None,
    )
    if delay <= 0:
        _enqueue([str(delivery.pk)])
    # Otherwise deliveries_due_enqueue hands it to the queue once due.
    return Outcome(delivered=False, retry_in=delay)


def _next_delay(delivery: Delivery, answer: transport.Answer) -> float | None:
    """Seconds until the next try, or None once the schedule or window is spent."""
    schedule = settings.WEBHOOK_RETRY_DELAYS
    if delivery.attempts > len(schedule):
        return None
    window_end = delivery.created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    left = (window_end - timezone.now()).total_seconds()
    if left <= 0:
        return None
    delay = float(schedule[delivery.attempts - 1]) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
    if answer.retry_after is not None:
        delay = max(delay, answer.retry_after)
    return min(delay, left)


def _finish(delivery: Delivery, status: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=delivery.attempts,
        finished_at=timezone.now(),
        claimed_until=None,
    )


def _endpoint_failed(endpoint: Endpoint, answer: transport.Answer) -> None:
    now = timezone.now()
    Endpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(
        failing_since=now
    )
    endpoint.refresh_from_db(fields=["failing_since", "disabled_at"])
    since = endpoint.failing_since or now
    if endpoint.disabled_at is None and now - since >= timedelta(
        hours=settings.WEBHOOK_DISABLE_AFTER_HOURS
    ):
        _endpoint_disable(endpoint, answer)


def _endpoint_disable(endpoint: Endpoint, answer: transport.Answer) -> None:
    reason = (
        f"Every delivery failed for {settings.WEBHOOK_DISABLE_AFTER_HOURS} hours "
        f"(last: {describe_answer(answer.status_code, answer.error)})."
    )
    disabled = Endpoint.objects.filter(pk=endpoint.pk, disabled_at=None).update(
        disabled_at=timezone.now(), disabled_reason=reason[:300]
    )
    if not disabled:
        return
    Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, finished_at=timezone.now()
    )
    logger.info("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    context = {
        "endpoint": endpoint,
        "reason": reason,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    send_mail(
        subject="Mux Minus: a webhook endpoint was disabled",
        message=render_to_string("webhooks/email/endpoint_disabled.txt", context),
        from_email=None,
        recipient_list=[endpoint.user.email],
        fail_silently=True,
    )


def describe_answer(status_code: int | None, error: str) -> str:
    """An attempt's result in words: "HTTP 503" or the error."""
    if status_code is not None:
        return f"HTTP {status_code}"
    return error or "no answer"


def deliveries_due_enqueue() -> int:
    """Put deliveries whose next attempt is due on the queue (cron, every few
    seconds), and those Redis lost; returns how many."""
    now = timezone.now()
    lost_before = now - timedelta(
        seconds=4 * float(settings.WEBHOOK_TIMEOUT_SECONDS) + 60
    )
    due = list(
        Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now
        )
        .exclude(claimed_until__gt=now)
        .exclude(enqueued_at__gt=lost_before)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    _enqueue([str(pk) for pk in due])
    return len(due)
