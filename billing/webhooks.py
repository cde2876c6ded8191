"""Square webhook notifications: verification, de-duplication and dispatch."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from square.utils.webhooks_helper import verify_signature

from .models import Purchase, WebhookEvent
from .purchases import purchase_grant, purchase_mark_disputed, purchase_reverse

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


def webhook_signature_valid(*, body: str, signature: str) -> bool:
    """Whether `signature` is Square's HMAC of the registered URL and the raw body."""
    key = settings.SQUARE_WEBHOOK_SIGNATURE_KEY
    url = settings.SQUARE_WEBHOOK_URL
    if not (body and signature and key and url):
        return False
    return verify_signature(
        request_body=body,
        signature_header=signature,
        signature_key=key,
        notification_url=url,
    )


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    data = payload.get("data") or {}
    found = (data.get("object") or {}).get(name)
    return found if isinstance(found, dict) else {}


def _money(thing: dict[str, Any], field: str = "amount_money") -> tuple[Any, Any]:
    money = thing.get(field) or {}
    return money.get("amount"), money.get("currency")


def _on_payment(payload: dict[str, Any]) -> str:
    payment = _object(payload, "payment")
    if payment.get("status") != "COMPLETED":
        return "ignored"
    purchase = Purchase.objects.filter(
        square_order_id=payment.get("order_id") or "-"
    ).first()
    if purchase is None or not payment.get("id"):
        logger.info(
            "Square payment %s for unknown order %s",
            payment.get("id"),
            payment.get("order_id"),
        )
        return "unknown"
    amount, currency = _money(payment)
    entry = purchase_grant(
        purchase_id=purchase.pk,
        payment_id=payment["id"],
        amount_cents=amount if isinstance(amount, int) else None,
        currency=currency,
    )
    return "granted" if entry else "unchanged"


def _on_refund(payload: dict[str, Any]) -> str:
    refund = _object(payload, "refund")
    if refund.get("status") != "COMPLETED" or not refund.get("payment_id"):
        return "ignored"
    amount, _currency = _money(refund)
    entry = purchase_reverse(
        payment_id=refund["payment_id"],
        order_id=refund.get("order_id") or "",
        refund_id=str(refund.get("id") or ""),
        refunded_cents=amount if isinstance(amount, int) else None,
    )
    return "reversed" if entry else "unchanged"


def _on_dispute(payload: dict[str, Any]) -> str:
    dispute = _object(payload, "dispute")
    payment_id = (dispute.get("disputed_payment") or {}).get("payment_id")
    if not payment_id:
        return "ignored"
    dispute_id = str(dispute.get("dispute_id") or dispute.get("id") or "")
    found = purchase_mark_disputed(payment_id=payment_id, dispute_id=dispute_id)
    return "flagged" if found else "unknown"


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "payment.created": _on_payment,
    "payment.updated": _on_payment,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "dispute.created": _on_dispute,
}


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    """What we keep of an event: ids, status and money, not the buyer's details."""
    data = payload.get("data") or {}
    name = str(data.get("type") or "")
    thing = _object(payload, name)
    amount, currency = _money(thing)
    return {
        "created_at": payload.get("created_at"),
        "object_type": name,
        "object_id": data.get("id"),
        "status": thing.get("status") or thing.get("state"),
        "order_id": thing.get("order_id"),
        "payment_id": thing.get("payment_id")
        or (thing.get("disputed_payment") or {}).get("payment_id"),
        "amount": amount,
        "currency": currency,
    }


def webhook_process(*, payload: dict[str, Any]) -> str:
    """Act on one verified Square event; returns what happened, for the log.

    Atomic and idempotent: the event row and its effect commit together, and a
    repeated event id (even one racing the first) does nothing. Raises only on
    unexpected errors, which roll everything back so Square delivers it again.
    """
    event_id = str(payload.get("event_id") or "")
    event_type = str(payload.get("type") or "")
    if not event_id:
        return "ignored"
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    event_id=event_id, type=event_type[:64], payload=_summary(payload)
                )
        except IntegrityError:
            return "duplicate"
        handler = HANDLERS.get(event_type)
        outcome = handler(payload) if handler else "ignored"
    logger.info("Square event %s %s: %s", event_type, event_id, outcome)
    return outcome
