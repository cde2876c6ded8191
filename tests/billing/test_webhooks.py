import json

import pytest
from django.core.management import call_command
from django.test import Client

from billing.models import CreditAccount, CreditEntry, Purchase, WebhookEvent
from billing.services import account_for_user, credits_debit, ledger_mismatches
from jobs.models import Job
from tests.factories import UserFactory
from tests.helpers.billing import buy, deliver
from tests.helpers.races import race

pytestmark = pytest.mark.django_db


def _paid(client, square, credits: int = 25) -> tuple[Purchase, list[dict]]:
    purchase = buy(client, credits)
    return purchase, square.pay(purchase.square_order_id)


def _spend(user, count: int) -> None:
    for _ in range(count):
        job = Job.objects.create(
            user=user,
            original_filename="a.wav",
            input_extension="wav",
            model="htdemucs",
        )
        credits_debit(user=user, amount=1, job=job)


def test_duplicate_events_grant_once(buyer_client, user, square):
    purchase, (created, updated) = _paid(buyer_client, square)
    for _ in range(3):
        assert deliver(buyer_client, square, updated).status_code == 200
    assert WebhookEvent.objects.filter(event_id=updated["event_id"]).count() == 1
    assert account_for_user(user).balance == 28


def test_different_events_for_the_same_payment_grant_once(buyer_client, user, square):
    purchase, (created, updated) = _paid(buyer_client, square)
    again = dict(updated, event_id="another-delivery-of-the-same-payment")
    deliver(buyer_client, square, updated)
    deliver(buyer_client, square, again)
    assert WebhookEvent.objects.count() == 2
    assert account_for_user(user).balance == 28
    assert CreditEntry.objects.filter(purchase=purchase).count() == 1


def test_events_out_of_order(buyer_client, user, square):
    purchase, (created, updated) = _paid(buyer_client, square)
    assert deliver(buyer_client, square, updated).status_code == 200
    assert deliver(buyer_client, square, created).status_code == 200  # APPROVED, late
    purchase.refresh_from_db()
    assert purchase.status == "completed"
    assert account_for_user(user).balance == 28


def test_an_approved_payment_alone_grants_nothing(buyer_client, user, square):
    purchase, (created, _updated) = _paid(buyer_client, square)
    assert deliver(buyer_client, square, created).status_code == 200
    assert account_for_user(user).balance == 3
    assert Purchase.objects.get(pk=purchase.pk).status == "pending"


@pytest.mark.parametrize(
    "signature",
    ["", "bm90IGEgc2lnbmF0dXJl", "signed-for-another-url", "signed-with-another-key"],
)
def test_bad_or_missing_signatures_are_refused(buyer_client, user, square, signature):
    purchase, (_created, updated) = _paid(buyer_client, square)
    body = json.dumps(updated)
    if signature == "signed-for-another-url":
        signature = square.sign(body, url="https://evil.test/billing/square/webhook/")
    elif signature == "signed-with-another-key":
        signature = square.sign(body, key="guessed")
    response = deliver(buyer_client, square, updated, signature=signature)
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert account_for_user(user).balance == 3


def test_a_tampered_body_is_refused(buyer_client, user, square):
    purchase, (_created, updated) = _paid(buyer_client, square)
    signature = square.sign(json.dumps(updated))
    updated["data"]["object"]["payment"]["amount_money"]["amount"] = 1
    assert (
        deliver(buyer_client, square, updated, signature=signature).status_code == 403
    )


def test_webhooks_are_refused_when_square_is_not_configured(
    buyer_client, user, square, settings
):
    _purchase, (_created, updated) = _paid(buyer_client, square)
    settings.SQUARE_WEBHOOK_SIGNATURE_KEY = ""
    assert deliver(buyer_client, square, updated).status_code == 403
    assert account_for_user(user).balance == 3


def test_the_webhook_needs_no_csrf_token_but_only_accepts_post(user, square):
    client = Client(enforce_csrf_checks=True)
    purchase = buy(_logged_in(user), 5)
    _created, updated = square.pay(purchase.square_order_id)
    assert deliver(client, square, updated).status_code == 200
    assert client.get("/billing/square/webhook/").status_code == 405
    assert account_for_user(user).balance == 8


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_wrong_amount_grants_nothing_and_flags(buyer_client, user, square):
    purchase = buy(buyer_client, 100)
    events = square.pay(purchase.square_order_id, amount=100)  # $1 for 100 credits
    for event in events:
        assert deliver(buyer_client, square, event).status_code == 200
    purchase.refresh_from_db()
    assert purchase.flagged and purchase.status == "pending"
    assert "expected 1500 USD" in purchase.note
    assert account_for_user(user).balance == 3


def test_a_wrong_currency_grants_nothing(buyer_client, user, square):
    purchase = buy(buyer_client, 5)
    for event in square.pay(purchase.square_order_id, currency="CAD"):
        deliver(buyer_client, square, event)
    assert Purchase.objects.get(pk=purchase.pk).flagged
    assert account_for_user(user).balance == 3


def test_an_unknown_payment_is_acknowledged_and_ignored(buyer_client, user, square):
    other_order = square._payment_link_create(
        {
            "idempotency_key": "made-in-the-square-dashboard",
            "order": {
                "location_id": square.location_id,
                "line_items": [
                    {
                        "name": "Something else",
                        "quantity": "1",
                        "base_price_money": {"amount": 100, "currency": "USD"},
                    }
                ],
            },
        }
    )[1]["payment_link"]["order_id"]
    for event in square.pay(other_order):
        assert deliver(buyer_client, square, event).status_code == 200
    assert account_for_user(user).balance == 3
    assert not CreditEntry.objects.filter(kind="purchase").exists()


def test_unhandled_and_malformed_events(buyer_client, user, square):
    event = square.event("customer.created", "customer", {"id": "C1"})
    assert deliver(buyer_client, square, event).status_code == 200
    no_id = square.event("payment.updated", "payment", {"id": "P1"})
    del no_id["event_id"]
    assert deliver(buyer_client, square, no_id).status_code == 200
    response = buyer_client.post(
        "/billing/square/webhook/",
        data="not json",
        content_type="application/json",
        headers={"x-square-hmacsha256-signature": square.sign("not json")},
    )
    assert response.status_code == 400
    assert account_for_user(user).balance == 3


def test_a_refund_reverses_the_credits(buyer_client, user, square):
    purchase, events = _paid(buyer_client, square, 25)
    for event in events:
        deliver(buyer_client, square, event)
    refund_events = square.refund(purchase.square_payment_id or events[1]["data"]["id"])
    for event in refund_events + refund_events:  # each delivered twice
        assert deliver(buyer_client, square, event).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == "refunded" and not purchase.flagged
    account = account_for_user(user)
    assert account.balance == 3 and not account.flagged
    reversal = CreditEntry.objects.get(purchase=purchase, kind="purchase_reversal")
    assert reversal.delta == -25
    call_command("check_ledger")


def test_a_refund_after_spending_takes_what_is_left_and_flags(
    buyer_client, user, square
):
    purchase, events = _paid(buyer_client, square, 5)
    for event in events:
        deliver(buyer_client, square, event)
    _spend(user, 6)  # 3 free + 5 bought = 8; 2 left
    for event in square.refund(events[1]["data"]["id"]):
        deliver(buyer_client, square, event)
    account = account_for_user(user)
    assert account.balance == 0 and account.flagged
    reversal = CreditEntry.objects.get(purchase=purchase, kind="purchase_reversal")
    assert reversal.delta == -2
    assert "shortfall 3" in reversal.note
    purchase.refresh_from_db()
    assert purchase.flagged and purchase.status == "refunded"
    assert not ledger_mismatches()


def test_a_partial_refund_reverses_a_share_and_flags(buyer_client, user, square):
    purchase, events = _paid(buyer_client, square, 100)
    for event in events:
        deliver(buyer_client, square, event)
    for event in square.refund(events[1]["data"]["id"], amount=750):
        deliver(buyer_client, square, event)
    assert account_for_user(user).balance == 3 + 50
    assert Purchase.objects.get(pk=purchase.pk).flagged


def test_a_signed_event_alone_never_grants(buyer_client, user, square):
    """Someone holding the webhook key forges a "payment completed" event for an
    unpaid purchase: Square's Payments API knows no such payment."""
    purchase = buy(buyer_client, 25)
    paid = square.pay(buy(buyer_client, 5).square_order_id)[1]  # a real shape
    forged = json.loads(json.dumps(paid))
    forged["event_id"] = "forged-1"
    payment = forged["data"]["object"]["payment"]
    payment.update(id="P-forged", order_id=purchase.square_order_id)
    forged["data"]["id"] = "P-forged"
    response = deliver(buyer_client, square, forged)
    assert response.status_code == 503  # unconfirmed; Square would retry
    assert account_for_user(user).balance == 3  # the other pack: not delivered
    assert not CreditEntry.objects.filter(purchase=purchase).exists()
    assert not WebhookEvent.objects.filter(event_id="forged-1").exists()


def test_an_event_claiming_more_than_square_says_grants_only_what_square_says(
    buyer_client, user, square
):
    purchase, (created, _updated) = _paid(buyer_client, square, 25)
    square.payments[created["data"]["id"]]["status"] = "APPROVED"  # not captured yet
    claimed = json.loads(json.dumps(created))
    claimed["event_id"] = "claimed-1"
    claimed["data"]["object"]["payment"]["status"] = "COMPLETED"
    assert deliver(buyer_client, square, claimed).content == b"unconfirmed"
    assert account_for_user(user).balance == 3
    assert Purchase.objects.get(pk=purchase.pk).status == "pending"


def test_refunds_add_up_each_counted_once(buyer_client, user, square):
    purchase, events = _paid(buyer_client, square, 25)  # $4.00
    for event in events:
        deliver(buyer_client, square, event)
    payment_id = events[1]["data"]["id"]
    first = square.refund(payment_id, amount=200)
    second = square.refund(payment_id, amount=200)
    answers = [deliver(buyer_client, square, e).content for e in first + first]
    assert account_for_user(user).balance == 3 + 25 - 13  # half, rounded up
    answers += [deliver(buyer_client, square, e).content for e in second + second]
    # The second refund reverses its share; each redelivery changes nothing.
    assert answers.count(b"reversed") == 2, answers
    assert account_for_user(user).balance == 3  # $4.00 refunded: all 25 back
    reversals = CreditEntry.objects.filter(purchase=purchase, kind="purchase_reversal")
    assert sorted(e.delta for e in reversals) == [-13, -12]
    purchase.refresh_from_db()
    assert purchase.refunds.count() == 2
    assert not ledger_mismatches()


def test_the_purchase_note_keeps_every_event(buyer_client, user, square):
    purchase, events = _paid(buyer_client, square, 100)
    for event in events:
        deliver(buyer_client, square, event)
    for event in square.refund(events[1]["data"]["id"], amount=750):
        deliver(buyer_client, square, event)
    dispute = square.dispute(events[1]["data"]["id"])
    deliver(buyer_client, square, dispute)
    deliver(buyer_client, square, dispute)  # delivered twice: noted once
    purchase.refresh_from_db()
    lines = purchase.note.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Partial refund") and lines[1].startswith(
        "Square dispute"
    )


def test_a_refund_before_the_payment_event_blocks_the_grant(buyer_client, user, square):
    purchase, events = _paid(buyer_client, square, 5)
    for event in square.refund(events[1]["data"]["id"]):
        deliver(buyer_client, square, event)
    for event in events:  # the payment events arrive late
        deliver(buyer_client, square, event)
    assert Purchase.objects.get(pk=purchase.pk).status == "refunded"
    assert account_for_user(user).balance == 3
    assert not CreditEntry.objects.filter(purchase=purchase).exists()


def test_a_dispute_flags_the_purchase(buyer_client, user, square):
    purchase, events = _paid(buyer_client, square, 25)
    for event in events:
        deliver(buyer_client, square, event)
    dispute = square.dispute(events[1]["data"]["id"])
    assert deliver(buyer_client, square, dispute).status_code == 200
    assert deliver(buyer_client, square, dispute).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == "disputed" and purchase.flagged
    assert account_for_user(user).balance == 28  # staff decide


def test_stored_events_keep_no_personal_data(buyer_client, user, square):
    _purchase, events = _paid(buyer_client, square)
    events[1]["data"]["object"]["payment"]["buyer_email_address"] = "b@example.com"
    deliver(buyer_client, square, events[1])
    stored = WebhookEvent.objects.get().payload
    assert stored["status"] == "COMPLETED" and stored["amount"] == 400
    assert "example.com" not in json.dumps(stored)
    assert "1111" not in json.dumps(stored)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_event_id", [True, False])
def test_duplicate_webhooks_racing_grant_once(square, same_event_id):
    person = UserFactory()
    buyer = Client()
    buyer.force_login(person)
    purchase = buy(buyer, 25)
    _created, updated = square.pay(purchase.square_order_id)
    deliveries = [updated, updated if same_event_id else dict(updated, event_id="x")]
    statuses = race(
        lambda event: deliver(Client(), square, event).status_code, deliveries
    )
    assert statuses == [200, 200]
    assert CreditAccount.objects.get(user=person).balance == 25
    assert CreditEntry.objects.filter(purchase=purchase).count() == 1
    assert not ledger_mismatches()
