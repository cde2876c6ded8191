"""One signup bonus per mailbox: aliases, quoted forms and address changes of
live accounts pay nothing again, nor does signing up after closing."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from billing.services import account_for_user
from closure.services import account_close
from tests.helpers.accounts import PASSWORD, confirmation_link, signed_up_user

pytestmark = pytest.mark.django_db


def _sign_up(client, email: str) -> User:  # type: ignore[no-untyped-def]
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return User.objects.get(email__iexact=email)


@pytest.mark.parametrize(
    "alias", ["gina+music@example.com", '"gina"@example.com', "Gina+x@Example.com"]
)
def test_an_alias_of_a_live_account_gets_no_bonus(client, alias):
    signed_up_user(email="gina@example.com")
    again = _sign_up(client, alias)
    assert account_for_user(again).balance == 0


def test_changing_the_address_then_closing_never_pays_twice(client):
    first = _sign_up(client, "loop@example.com")
    assert account_for_user(first).balance == 3
    client.post(confirmation_link(to="loop@example.com"))  # verified, signed in
    mail.outbox.clear()
    client.post(
        reverse("account_email"), {"action_add": "", "email": "moved@example.com"}
    )
    client.post(confirmation_link(to="moved@example.com"))
    first.refresh_from_db()
    assert first.email == "moved@example.com"  # the first address is gone
    account_close(user=first)
    client.logout()
    for address in ("loop@example.com", "moved@example.com", "loop+2@example.com"):
        assert account_for_user(_sign_up(client, address)).balance == 0, address
        User.objects.filter(email=address).delete()


def test_a_fresh_mailbox_still_gets_its_credits(client):
    signed_up_user(email="gina@example.com")
    assert account_for_user(_sign_up(client, "ginny@example.com")).balance == 3


# --- Said before and after ----------------------------------------------------


@pytest.fixture
def payments(settings):  # type: ignore[no-untyped-def]
    """Square configured (nothing here calls it: only the buy link shows)."""
    settings.SQUARE_ACCESS_TOKEN = "sandbox-token-for-tests"
    settings.SQUARE_ENVIRONMENT = "sandbox"
    settings.SQUARE_LOCATION_ID = "LFAKELOCATION"
    settings.SQUARE_WEBHOOK_SIGNATURE_KEY = "webhook-key"
    settings.SQUARE_WEBHOOK_URL = "https://muxminus.test/billing/square/webhook/"


ALREADY_USED = "This email address already received its 3 free credits once"


def test_the_signup_page_promises_the_credits_once_per_address(client):
    page = client.get(reverse("account_signup")).content.decode()
    assert "A new email address gets 3 free credits" in page
    assert "Each address gets them once" in page
    assert "Every new account gets" not in page
    login = client.get(reverse("account_login")).content.decode()
    assert "a new email address gets 3 free credits" in login


def test_a_returning_address_is_told_after_confirming_with_a_buy_link(client, payments):
    signed_up_user(email="gina@example.com")
    again = _sign_up(client, "gina+again@example.com")
    # Not before the mailbox is shown to be theirs: that would tell anyone.
    page = client.get(reverse("account_email_verification_sent")).content.decode()
    assert ALREADY_USED not in page
    response = client.get(confirmation_link(to="gina+again@example.com"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("jobs:dashboard")
    page = response.content.decode()
    assert f"{ALREADY_USED}, so this account starts with none." in page
    assert f'<a href="{reverse("billing:credits")}">Buy credits</a>' in page
    assert account_for_user(again).balance == 0
    overview = client.get(reverse("accounts:overview")).content.decode()
    assert "your email address had already received them once" in overview


def test_without_payments_there_is_no_buy_link(client, settings):
    settings.SQUARE_ACCESS_TOKEN = ""
    signed_up_user(email="gina@example.com")
    _sign_up(client, "gina+again@example.com")
    page = client.get(
        confirmation_link(to="gina+again@example.com"), follow=True
    ).content.decode()
    assert ALREADY_USED in page
    assert "Buy credits</a> to separate songs" not in page


def test_a_fresh_address_is_not_told_anything_of_the_sort(client, payments):
    _sign_up(client, "fresh@example.com")
    page = client.get(
        confirmation_link(to="fresh@example.com"), follow=True
    ).content.decode()
    assert ALREADY_USED not in page
    overview = client.get(reverse("accounts:overview")).content.decode()
    assert "had already received them" not in overview
