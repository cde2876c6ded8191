"""RQ entry points of webhooks: take ids, call one service, return."""

from .sending import deliveries_due_enqueue, delivery_attempt


def delivery_attempt_task(delivery_id: str) -> None:
    delivery_attempt(delivery_id=delivery_id)


def deliveries_due_enqueue_task() -> int:
    return deliveries_due_enqueue()
