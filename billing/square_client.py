"""The only module that talks to Square (squareup 46).

It returns small plain records so that nothing else depends on the SDK's types,
and turns every transport or API failure into `PaymentProviderError`.
"""

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from square import Square
from square.core.api_error import ApiError
from square.environment import SquareEnvironment

from core.errors import DomainError

logger = logging.getLogger(__name__)

ENVIRONMENTS = {
    "sandbox": SquareEnvironment.SANDBOX,
    "production": SquareEnvironment.PRODUCTION,
}


class PaymentsNotConfigured(DomainError):
    code = "payments_not_configured"
    status_code = 503


class PaymentProviderError(DomainError):
    """Square could not be reached or refused the call; nothing was charged by us."""

    code = "payment_provider_error"
    status_code = 502


@dataclass(frozen=True)
class PaymentLink:
    id: str
    order_id: str
    url: str


@dataclass(frozen=True)
class Order:
    id: str
    reference_id: str
    state: str
    payment_ids: list[str]


@dataclass(frozen=True)
class Payment:
    id: str
    status: str
    amount_cents: int | None
    currency: str | None
    order_id: str


def payments_configured() -> bool:
    """Whether every Square setting needed to sell and to verify webhooks is set."""
    return bool(
        settings.SQUARE_ACCESS_TOKEN
        and settings.SQUARE_LOCATION_ID
        and settings.SQUARE_WEBHOOK_SIGNATURE_KEY
        and settings.SQUARE_WEBHOOK_URL
        and settings.SQUARE_ENVIRONMENT in ENVIRONMENTS
    )


def _client() -> Square:
    if not payments_configured():
        raise PaymentsNotConfigured("Payments are not configured on this server.")
    return Square(
        # Explicit: the SDK's default token comes from SQUARE_TOKEN at import time.
        token=settings.SQUARE_ACCESS_TOKEN,
        environment=ENVIRONMENTS[settings.SQUARE_ENVIRONMENT],
        base_url=settings.SQUARE_BASE_URL or None,
        timeout=settings.SQUARE_TIMEOUT_SECONDS,
    )


def _call(what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except ApiError as error:
        logger.warning("Square %s failed: %s %s", what, error.status_code, error.errors)
        raise PaymentProviderError(
            "The payment provider refused the request. Please try again later."
        ) from error
    except httpx.HTTPError as error:  # timeouts, refused connections, bad answers
        logger.warning("Square %s failed: %r", what, error)
        raise PaymentProviderError(
            "The payment provider did not answer. Please try again in a minute."
        ) from error


def payment_link_create(
    *,
    idempotency_key: str,
    reference_id: str,
    name: str,
    amount_cents: int,
    currency: str,
    redirect_url: str,
) -> PaymentLink:
    """Create a hosted checkout for one line item. Safe to repeat with the same key."""
    client = _client()
    response = _call(
        "payment link",
        client.checkout.payment_links.create,
        idempotency_key=idempotency_key,
        order={
            "location_id": settings.SQUARE_LOCATION_ID,
            "reference_id": reference_id,
            "line_items": [
                {
                    "name": name,
                    "quantity": "1",
                    "base_price_money": {"amount": amount_cents, "currency": currency},
                }
            ],
        },
        checkout_options={"redirect_url": redirect_url},
    )
    link = response.payment_link
    if link is None or not link.id or not link.order_id or not link.url:
        raise PaymentProviderError(
            "The payment provider gave an incomplete answer. Please try again."
        )
    return PaymentLink(id=link.id, order_id=link.order_id, url=link.url)


def order_get(order_id: str) -> Order:
    """The order with the ids of the payments made against it."""
    response = _call("order", _client().orders.get, order_id)
    order = response.order
    if order is None:
        raise PaymentProviderError("The payment provider returned no order.")
    payment_ids = [
        tender.payment_id or tender.id
        for tender in order.tenders or []
        if tender.payment_id or tender.id
    ]
    return Order(
        id=order.id or order_id,
        reference_id=order.reference_id or "",
        state=str(order.state or ""),
        payment_ids=payment_ids,
    )


def payment_get(payment_id: str) -> Payment:
    response = _call("payment", _client().payments.get, payment_id)
    payment = response.payment
    if payment is None:
        raise PaymentProviderError("The payment provider returned no payment.")
    money = payment.amount_money
    return Payment(
        id=payment.id or payment_id,
        status=payment.status or "",
        amount_cents=money.amount if money else None,
        currency=str(money.currency) if money and money.currency else None,
        order_id=payment.order_id or "",
    )
