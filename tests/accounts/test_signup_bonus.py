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
