"""muxminus.verify against deliveries signed by the standardwebhooks library."""

import base64
import json
import secrets
import time
from datetime import UTC, datetime

import httpx
import pytest
from muxminus import Client, MuxMinusError, WebhookVerificationError, verify
from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
BODY = json.dumps(
    {"type": "job.succeeded", "data": {"id": "6f1c", "filename": "Café – démo.wav"}},
    ensure_ascii=False,
)


def signed(
    body: str = BODY,
    secret: str = SECRET,
    at: float | None = None,
    msg_id: str = "msg_1",
) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    when = datetime.fromtimestamp(stamp, tz=UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


def test_a_signed_delivery_verifies_and_returns_its_json():
    assert verify(signed(), BODY.encode(), SECRET) == json.loads(BODY)


def test_headers_of_any_case_and_kind_and_a_str_body_verify():
    headers = httpx.Headers({k.upper(): v for k, v in signed().items()})
    assert verify(headers, BODY, SECRET)["type"] == "job.succeeded"


def test_the_client_offers_the_same_check():
    client = Client("token", "http://127.0.0.1:9")
    assert (
        client.webhooks.verify(signed(), BODY.encode(), SECRET)["data"]["id"] == "6f1c"
    )


def test_one_matching_signature_among_several_is_enough():
    """While a secret rotates, the sender signs with the old and the new one."""
    old = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    headers = signed()
    headers["webhook-signature"] = " ".join(
        [
            "v2,unknown-scheme",
            signed(secret=old)["webhook-signature"],
            headers["webhook-signature"],
        ]
    )
    assert verify(headers, BODY.encode(), SECRET)


def test_a_secret_given_without_its_prefix_works():
    assert verify(signed(), BODY.encode(), SECRET.removeprefix("whsec_"))


def test_timestamps_within_five_minutes_either_way_are_accepted():
    now = time.time()
    for offset in (-299, 299):
        headers = signed(at=now + offset)
        assert verify(headers, BODY.encode(), SECRET, now=now)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: (h, b.replace(b"succeeded", b"failed")), "no signature matches"),
        (lambda h, b: ({**h, "webhook-id": "msg_2"}, b), "no signature matches"),
        (
            lambda h, b: ({**h, "webhook-signature": "v1,not*base64"}, b),
            "no signature matches",
        ),
        (
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b),
            "missing",
        ),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "bad webhook-timestamp"),
    ],
)
def test_tampered_deliveries_are_refused(change, reason):
    headers, body = change(signed(), BODY.encode())
    with pytest.raises(WebhookVerificationError, match=reason):
        verify(headers, body, SECRET)


def test_the_wrong_secret_is_refused():
    other = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with pytest.raises(WebhookVerificationError):
        verify(signed(), BODY.encode(), other)


def test_old_and_future_timestamps_are_refused():
    now = time.time()
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(signed(at=now - 301), BODY.encode(), SECRET, now=now)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify(signed(at=now + 301), BODY.encode(), SECRET, now=now)


def test_a_signed_body_that_is_not_json_is_refused():
    body = "not json"
    with pytest.raises(WebhookVerificationError, match="not JSON") as raised:
        verify(signed(body=body), body.encode(), SECRET)
    assert isinstance(raised.value, MuxMinusError)


def test_a_malformed_secret_is_refused():
    with pytest.raises(WebhookVerificationError, match="secret"):
        verify(signed(), BODY.encode(), "whsec_***")
