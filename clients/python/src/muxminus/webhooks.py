"""Checking a webhook from Mux Minus: the Standard Webhooks scheme.

Every delivery carries three headers: `webhook-id` (the message's id),
`webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated
list of `v1,<base64 HMAC-SHA256>` over `"<id>.<timestamp>.<body>"`, keyed with
the secret (`whsec_<base64>`). Several signatures appear while a secret is
being rotated; one match is enough.

    payload = verify(request.headers, request.body, secret)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from .errors import WebhookVerificationError

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
#: How far a timestamp may be from now, either way (replayed old messages).
TOLERANCE_SECONDS = 5 * 60


def verify(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | bytes,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """The webhook's parsed JSON body, once its signature and timestamp check out.

    `headers` is any mapping (a dict, Django's request.headers, httpx's or
    Flask's headers); `body` the raw bytes as received (not re-serialised
    JSON). Raises WebhookVerificationError otherwise.
    """
    found = {key.lower(): value for key, value in headers.items()}
    message_id = found.get("webhook-id")
    stamp = found.get("webhook-timestamp")
    signatures = found.get("webhook-signature")
    if not (message_id and stamp and signatures):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        sent_at = int(stamp.strip())
    except ValueError:
        raise WebhookVerificationError(f"bad webhook-timestamp: {stamp!r}") from None
    current = time.time() if now is None else now
    if sent_at < current - tolerance:
        raise WebhookVerificationError("the webhook's timestamp is too old")
    if sent_at > current + tolerance:
        raise WebhookVerificationError("the webhook's timestamp is in the future")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    signed = f"{message_id}.{sent_at}.".encode() + raw
    expected = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            try:
                return json.loads(raw)
            except ValueError:
                raise WebhookVerificationError("the body is not JSON") from None
    raise WebhookVerificationError("no signature matches the secret")


def _key(secret: str | bytes) -> bytes:
    """The HMAC key: raw bytes as given, or a `whsec_<base64>` secret decoded."""
    if isinstance(secret, bytes):
        key = secret
    else:
        text = secret.strip()
        if text.startswith(SECRET_PREFIX):
            text = text[len(SECRET_PREFIX) :]
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise WebhookVerificationError(
                "the secret is not `whsec_` followed by base64"
            ) from None
    if not key:
        raise WebhookVerificationError("the webhook secret is empty")
    return key
