import time

import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.urls import reverse

from billing.models import CreditEntry, CreditPack, Purchase
from billing.selectors import packs_active
from billing.services import account_for_user
from cms import site_content
from tests.helpers.billing import buy, deliver, pack

pytestmark = pytest.mark.django_db


def test_the_three_packs_are_seeded():
    assert [(p.name, p.credits, p.price_cents, p.currency) for p in packs_active()] == [
        ("5 credits", 5, 100, "USD"),
        ("25 credits", 25, 400, "USD"),
        ("100 credits", 100, 1500, "USD"),
    ]


@pytest.mark.parametrize("credits", [5, 25, 100])
def test_buying_a_pack_end_to_end_adds_exactly_its_credits(
    buyer_client, user, square, credits
):
    purchase = buy(buyer_client, credits)
    assert purchase.status == "pending"
    assert purchase.checkout_url.startswith(f"{square.base_url}/checkout/")
    order = square.orders[purchase.square_order_id]
    assert order["reference_id"] == str(purchase.pk)
    assert order["line_items"][0]["base_price_money"] == {
        "amount": pack(credits).price_cents,
        "currency": "USD",
    }
    link = square.links[purchase.square_payment_link_id]
    assert link["checkout_options"]["redirect_url"] == (
        f"https://muxminus.test/billing/return/{purchase.pk}/"
    )

    events = square.pay(purchase.square_order_id)
    for event in events:
        assert deliver(buyer_client, square, event).status_code == 200
    assert account_for_user(user).balance == 3 + credits

    for event in events:  # every webhook replayed twice changes nothing
        assert deliver(buyer_client, square, event).status_code == 200
        assert deliver(buyer_client, square, event).status_code == 200
    assert account_for_user(user).balance == 3 + credits
    purchase.refresh_from_db()
    assert purchase.status == "completed"
    assert purchase.square_payment_id == events[1]["data"]["id"]
    entry = CreditEntry.objects.get(purchase=purchase)
    assert (entry.kind, entry.delta) == ("purchase", credits)
    call_command("check_ledger")


def test_the_return_page_checks_with_square_and_grants_without_a_webhook(
    buyer_client, user, square
):
    purchase = buy(buyer_client, 25)
    url = reverse("billing:return", args=[purchase.pk])
    page = buyer_client.get(url)
    assert b"waiting for Square" in page.content
    assert account_for_user(user).balance == 3

    square.pay(purchase.square_order_id)  # no webhook arrives
    page = buyer_client.get(url)
    assert b"25 credits were added" in page.content
    assert account_for_user(user).balance == 28
    buyer_client.get(url)  # reloading grants nothing more
    assert account_for_user(user).balance == 28
    assert square.count("GET", "/v2/orders/") == 2  # not asked once completed
    call_command("check_ledger")


def test_the_return_page_ignores_its_query_string(buyer_client, user, square):
    purchase = buy(buyer_client, 5)
    other = buy(buyer_client, 100)
    paid = square.pay(other.square_order_id)[1]["data"]["id"]
    url = reverse("billing:return", args=[purchase.pk])
    page = buyer_client.get(
        url,
        {
            "checkoutId": other.square_payment_link_id,
            "orderId": other.square_order_id,
            "transactionId": paid,
            "status": "COMPLETED",
        },
    )
    assert b"waiting for Square" in page.content
    purchase.refresh_from_db()
    assert purchase.status == "pending"
    assert not CreditEntry.objects.filter(purchase=purchase).exists()


def test_another_persons_purchase_is_a_404(buyer_client, other_user, square):
    purchase = buy(buyer_client, 5)
    buyer_client.force_login(other_user)
    response = buyer_client.get(reverse("billing:return", args=[purchase.pk]))
    assert response.status_code == 404


def test_a_5xx_then_success_creates_one_link(buyer_client, user, square):
    square.fail_next(1, status=500)
    purchase = buy(buyer_client, 5)
    assert square.count("POST", "/v2/online-checkout/payment-links") == 2
    assert len(square.links) == 1
    assert purchase.square_payment_link_id in square.links


def test_a_retry_after_square_did_the_work_replays_the_same_link(
    buyer_client, user, square
):
    # Square created the link but the answer was lost: the SDK's retry re-sends
    # the idempotency key and gets the same link back.
    square.fail_next(1, status=503, after=True)
    purchase = buy(buyer_client, 5)
    assert square.count("POST", "/v2/online-checkout/payment-links") == 2
    assert list(square.links) == [purchase.square_payment_link_id]


def test_square_down_gives_a_clear_message_and_no_credits(buyer_client, user, square):
    square.fail_next(3, status=500)
    response = buyer_client.post(reverse("billing:buy", args=[pack(5).pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("billing:credits")
    assert b"refused the request" in response.content
    assert b"You have not been charged" in response.content
    assert Purchase.objects.get().status == "failed"
    assert not square.links
    assert account_for_user(user).balance == 3


def test_a_timeout_gives_a_clear_message(buyer_client, user, square):
    square.hang_next(2.5)
    started = time.monotonic()
    response = buyer_client.post(reverse("billing:buy", args=[pack(5).pk]), follow=True)
    assert time.monotonic() - started < 2.4  # SQUARE_TIMEOUT_SECONDS, not retried
    assert b"did not answer" in response.content
    assert Purchase.objects.get().status == "failed"
    assert account_for_user(user).balance == 3


def test_a_refused_access_token_gives_a_clear_message(
    buyer_client, user, square, settings
):
    settings.SQUARE_ACCESS_TOKEN = "revoked"
    response = buyer_client.post(reverse("billing:buy", args=[pack(5).pk]), follow=True)
    assert b"refused the request" in response.content
    assert Purchase.objects.get().status == "failed"


def test_a_server_without_payments_sells_nothing_and_says_how_credits_come(
    buyer_client, user, settings
):
    settings.SITE_CONTACT_EMAIL = "ops@example.com"
    site_content.pages_ensure()
    for url in (reverse("billing:credits"), "/pricing/"):
        page = buyer_client.get(url).content.decode()
        assert "This server does not sell credits." in page, url
        assert "mailto:ops@example.com" in page, url
        assert "Buy " not in page.replace("Buy credits", ""), url
        assert "disabled" not in page, url
        assert "not configured" not in page, url  # no operator jargon
    dashboard = buyer_client.get(reverse("jobs:dashboard")).content.decode()
    assert ">Credits</a>" in dashboard and ">Buy credits</a>" not in dashboard
    response = buyer_client.post(reverse("billing:buy", args=[pack(5).pk]), follow=True)
    assert "This server does not sell credits." in response.content.decode()
    assert not Purchase.objects.exists()


def test_with_payments_the_pricing_page_and_the_credits_page_both_sell(
    buyer_client, square
):
    site_content.pages_ensure()
    for url in (reverse("billing:credits"), "/pricing/"):
        page = buyer_client.get(url).content.decode()
        assert "Buy 5 credits" in page and "Buy 100 credits" in page, url
        assert "does not sell credits" not in page, url


def test_the_credits_page_lists_active_packs_from_the_database(client, square):
    CreditPack.objects.filter(credits=100).update(active=False)
    CreditPack.objects.create(name="Studio", credits=250, price_cents=3000)
    page = client.get(reverse("billing:credits")).content.decode()
    assert "$1.00" in page and "20¢ per credit" in page
    assert "$4.00" in page and "16¢ per credit" in page
    assert "$15.00" not in page
    assert "$30.00" in page and "12¢ per credit" in page
    assert "Log in to buy" in page  # anonymous visitors sign in first


def test_only_active_packs_can_be_bought(buyer_client, square):
    CreditPack.objects.filter(credits=5).update(active=False)
    response = buyer_client.post(reverse("billing:buy", args=[pack_id(5)]))
    assert response.status_code == 404


def pack_id(credits: int) -> int:
    return CreditPack.objects.get(credits=credits).pk


def test_buying_needs_a_login_and_a_post(client, buyer_client, square):
    url = reverse("billing:buy", args=[pack(5).pk])
    anonymous = client.__class__().post(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert buyer_client.get(url).status_code == 405
    assert not Purchase.objects.exists()


def test_purchase_history_on_the_credits_page_and_as_a_tag(
    buyer_client, user, other_user, square
):
    purchase = buy(buyer_client, 25)
    for event in square.pay(purchase.square_order_id):
        deliver(buyer_client, square, event)
    page = buyer_client.get(reverse("billing:credits")).content.decode()
    assert "Purchase history" in page and "$4.00" in page and "Paid" in page

    template = Template("{% load billing_tags %}{% purchase_history person %}")
    mine = template.render(Context({"person": user}))
    assert "25 credits" in mine and "$4.00" in mine and "Paid" in mine
    theirs = template.render(Context({"person": other_user}))
    assert "No purchases yet." in theirs


def test_the_history_partial_costs_one_query(user, django_assert_num_queries):
    template = Template("{% load billing_tags %}{% purchase_history person %}")
    with django_assert_num_queries(1):
        template.render(Context({"person": user}))
