"""Square webhook notifications: verification, de-duplication and dispatch."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from square.utils.webhooks_helper import verify_signature

from . import square_client
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


PAYMENT_EVENTS = ("payment.created", "payment.updated")


def _payment_confirmed(payload: dict[str, Any]) -> square_client.Payment | None:
    """The payment as Square's Payments API reports it, for an event that says
    COMPLETED; None for any other. A signed payload alone never grants: a leaked
    webhook key must not be enough to mint credits."""
    payment = _object(payload, "payment")
    if payment.get("status") != "COMPLETED" or not payment.get("id"):
        return None
    return square_client.payment_get(str(payment["id"]))


def _on_payment(confirmed: square_client.Payment | None) -> str:
    if confirmed is None:
        return "ignored"
    if confirmed.status != "COMPLETED":
        logger.warning(
            "Square event claims payment %s completed; Square says %s",
            confirmed.id,
            confirmed.status or "nothing",
        )
        return "unconfirmed"
    purchase = Purchase.objects.filter(
        square_order_id=confirmed.order_id or "-"
    ).first()
    if purchase is None:
        logger.info(
            "Square payment %s for unknown order %s", confirmed.id, confirmed.order_id
        )
        return "unknown"
    entry = purchase_grant(
        purchase_id=purchase.pk,
        payment_id=confirmed.id,
        amount_cents=confirmed.amount_cents,
        currency=confirmed.currency,
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
    unexpected errors, which roll everything back so Square delivers it again,
    and PaymentProviderError when Square cannot confirm a payment (likewise).
    """
    event_id = str(payload.get("event_id") or "")
    event_type = str(payload.get("type") or "")
    if not event_id:
        return "ignored"
    if WebhookEvent.objects.filter(event_id=event_id).exists():
        return "duplicate"  # before asking Square anything
    # Square is asked before the transaction: no row stays locked during a call.
    confirmed = _payment_confirmed(payload) if event_type in PAYMENT_EVENTS else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    event_id=event_id, type=event_type[:64], payload=_summary(payload)
                )
        except IntegrityError:
            return "duplicate"
        if event_type in PAYMENT_EVENTS:
            outcome = _on_payment(confirmed)
        else:
            handler = HANDLERS.get(event_type)
            outcome = handler(payload) if handler else "ignored"
    logger.info("Square event %s %s: %s", event_type, event_id, outcome)
    return outcome
