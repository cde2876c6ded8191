"""Sending one delivery: sign, POST, log the attempt, decide what comes next.

A delivery is retried on timeouts, connection errors, 408, 429 and 5xx
(Retry-After honoured) on WEBHOOK_RETRY_DELAYS with jitter, for
WEBHOOK_RETRY_HOURS at most; any other answer ends it. Postgres holds the
schedule (`next_attempt_at`); the cron hands due deliveries to the queue. Each
try is claimed with a conditional UPDATE, so a delivery enqueued twice is sent
once at a time. An endpoint whose every attempt failed for
WEBHOOK_DISABLE_AFTER_HOURS is turned off and its owner emailed.
"""

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from . import signing, transport
from .models import Attempt, CallbackSecret, Delivery, Endpoint
from .queue import enqueue
from .services import callback_secret_for_user, signing_secrets

logger = logging.getLogger(__name__)

LOG_LENGTH = 100
RETRYABLE_STATUSES = {408, 429}


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
        secrets_=signing_secrets(owner),
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
        enqueue([str(delivery.pk)])
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
    enqueue([str(pk) for pk in due])
    return len(due)
