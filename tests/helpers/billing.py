"""Helpers for billing tests: the buy button and Square's webhook deliveries."""

import json
from typing import Any

from django.test import Client
from django.urls import reverse

from billing.models import CreditPack, Purchase
from tests.helpers.fake_square import FakeSquare

WEBHOOK_URL = "https://muxminus.test/billing/square/webhook/"


def pack(credits: int) -> CreditPack:
    return CreditPack.objects.get(credits=credits, active=True)


def deliver(
    client: Client,
    square: FakeSquare,
    event: dict[str, Any],
    *,
    signature: str | None = None,
) -> Any:
    """POST one webhook event the way Square does: raw JSON body, HMAC header."""
    body = json.dumps(event)
    headers = {}
    signature = square.sign(body) if signature is None else signature
    if signature:
        headers["x-square-hmacsha256-signature"] = signature
    return client.post(
        reverse("billing:square_webhook"),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def buy(client: Client, credits: int) -> Purchase:
    """Press the buy button for a pack; returns the pending purchase."""
    response = client.post(reverse("billing:buy", args=[pack(credits).pk]))
    assert response.status_code == 302, response
    purchase = Purchase.objects.latest("id")
    assert response["Location"] == purchase.checkout_url
    return purchase
