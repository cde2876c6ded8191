"""Handing deliveries to the `webhooks` RQ queue (its own workers)."""

from collections.abc import Sequence

import django_rq
from django.utils import timezone

from .models import Delivery

QUEUE = "webhooks"


def enqueue(ids: Sequence[str]) -> None:
    """Queue these deliveries now; `enqueued_at` tells the sweep they are."""
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    queue = django_rq.get_queue(QUEUE)
    for delivery_id in ids:
        queue.enqueue("webhooks.tasks.delivery_attempt_task", delivery_id)
