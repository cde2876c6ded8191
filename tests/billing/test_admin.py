import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.models import CreditEntry, Purchase, WebhookEvent
from billing.services import account_for_user
from tests.helpers.billing import buy, deliver

pytestmark = pytest.mark.django_db


def test_staff_adjust_a_balance_with_a_reason(admin_client, user):
    account = account_for_user(user)
    url = reverse("admin:billing_creditaccount_adjust", args=[account.pk])
    change = admin_client.get(
        reverse("admin:billing_creditaccount_change", args=[account.pk])
    )
    assert url.encode() in change.content

    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"delta": "7", "reason": "Sorry for the outage"})
    assert response.status_code == 302
    entry = CreditEntry.objects.get(kind="admin_adjustment")
    assert entry.delta == 7 and entry.note.startswith("Sorry for the outage")
    assert account_for_user(user).balance == 10

    refused = admin_client.post(url, {"delta": "-11", "reason": "too much"})
    assert refused.status_code == 200 and b"cannot go below zero" in refused.content
    missing = admin_client.post(url, {"delta": "1", "reason": ""})
    assert missing.status_code == 200
    assert account_for_user(user).balance == 10
    call_command("check_ledger")


def test_people_without_staff_rights_cannot_adjust(client, user):
    client.force_login(user)
    url = reverse(
        "admin:billing_creditaccount_adjust", args=[account_for_user(user).pk]
    )
    assert client.post(url, {"delta": "100", "reason": "me"}).status_code == 302
    assert account_for_user(user).balance == 3


def test_purchase_and_webhook_admin_pages(admin_client, buyer_client, user, square):
    purchase = buy(buyer_client, 25)
    for event in square.pay(purchase.square_order_id):
        deliver(buyer_client, square, event)
    purchase.refresh_from_db()
    changelist = reverse("admin:billing_purchase_changelist")
    for term in [str(purchase.pk), purchase.square_payment_id, user.email]:
        page = admin_client.get(changelist, {"q": term})
        assert page.status_code == 200
        assert page.context["cl"].result_count == 1, term
    assert (
        admin_client.get(changelist, {"q": "nothing-like-it"})
        .context["cl"]
        .result_count
        == 0
    )
    assert (
        admin_client.get(changelist, {"status__exact": "completed"}).status_code == 200
    )
    change = admin_client.get(
        reverse("admin:billing_purchase_change", args=[purchase.pk])
    )
    assert change.status_code == 200
    assert b'name="amount_cents"' not in change.content  # money is read-only
    assert (
        admin_client.get(reverse("admin:billing_webhookevent_changelist")).status_code
        == 200
    )
    event = WebhookEvent.objects.first()
    assert event is not None
    url = reverse("admin:billing_webhookevent_change", args=[event.pk])
    assert admin_client.get(url).status_code == 200
    for name in ["creditentry", "creditpack", "creditaccount"]:
        assert (
            admin_client.get(reverse(f"admin:billing_{name}_changelist")).status_code
            == 200
        )
    assert Purchase.objects.count() == 1
