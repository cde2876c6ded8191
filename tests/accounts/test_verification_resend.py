"""The Resend button: a new link when allauth's cooldown allows one; inside it,
the truth about when the last link went out and when a new one can. And one
click on the emailed link verifies the address."""

import time
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.verification import describe_ago, describe_wait
from tests.factories import UserFactory
from tests.helpers.accounts import PASSWORD, confirmation_link, signed_up_user

pytestmark = pytest.mark.django_db

EMAIL = "new@example.com"
RESEND = "accounts:verification_resend"


@pytest.fixture
def short_cooldown(settings):  # type: ignore[no-untyped-def]
    """A one-second cooldown instead of three minutes, to see it run out."""
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "confirm_email": "1/1s/key",
    }


def sign_up(client: Client, email: str = EMAIL):  # type: ignore[no-untyped-def]
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    return response


def links_to(outbox, email: str = EMAIL) -> int:  # type: ignore[no-untyped-def]
    return sum(
        1
        for message in outbox
        if email in message.to and "/accounts/confirm-email/" in message.body
    )


def test_after_signing_up_the_page_says_when_the_link_went_out(client, mailoutbox):
    sign_up(client)
    assert links_to(mailoutbox) == 1
    page = client.get(reverse("account_email_verification_sent")).content.decode()
    assert f"We sent a link to <strong>{EMAIL}</strong>" in page
    assert "less than a minute ago" in page
    assert "You can ask for a new link in 3 minutes." in page
    assert f'action="{reverse(RESEND)}"' in page
    assert "log in to have a new link sent" not in page.lower()


def test_resend_inside_the_cooldown_sends_nothing_and_says_when(client, mailoutbox):
    sign_up(client)
    response = client.post(reverse(RESEND), follow=True)
    assert response.redirect_chain[-1][0] == reverse("account_email_verification_sent")
    assert links_to(mailoutbox) == 1  # allauth's cooldown: no second mail
    page = response.content.decode()
    assert (
        f"We sent a link to {EMAIL} less than a minute ago; the same link still "
        "works. You can ask for a new one in 3 minutes."
    ) in page


def test_resend_after_the_cooldown_mails_a_new_link(client, mailoutbox, short_cooldown):
    sign_up(client)
    time.sleep(1.1)
    page = client.get(reverse("account_email_verification_sent")).content.decode()
    assert "Nothing yet? Check your spam folder, or ask for a new link." in page
    response = client.post(reverse(RESEND), follow=True)
    assert links_to(mailoutbox) == 2
    assert f"We sent a verification link to {EMAIL}." in response.content.decode()
    # Both links work: the newest one verifies and logs in, in one click.
    response = client.get(confirmation_link(to=EMAIL))
    assert response["Location"] == reverse("jobs:dashboard")
    assert EmailAddress.objects.get(email=EMAIL).verified


def test_logging_in_unverified_inside_the_cooldown_says_when_the_link_went_out(
    client, mailoutbox
):
    sign_up(client)
    elsewhere = Client()
    response = elsewhere.post(
        reverse("account_login"), {"login": EMAIL, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("account_email_verification_sent")
    assert links_to(mailoutbox) == 1  # not re-sent inside the cooldown...
    page = response.content.decode()
    assert f"We sent a link to <strong>{EMAIL}</strong>" in page  # ...and said so
    assert "less than a minute ago" in page
    assert "You can ask for a new link in 3 minutes." in page


def test_logging_in_unverified_after_the_cooldown_sends_a_new_link(
    client, mailoutbox, short_cooldown
):
    sign_up(client)
    time.sleep(1.1)
    response = Client().post(
        reverse("account_login"), {"login": EMAIL, "password": PASSWORD}, follow=True
    )
    assert links_to(mailoutbox) == 2
    assert f"We sent a verification link to {EMAIL}." in response.content.decode()


def test_a_signed_in_unverified_person_resends_from_the_notice(client, mailoutbox):
    person = UserFactory()
    EmailAddress.objects.create(
        user=person, email=person.email, primary=True, verified=False
    )
    client.force_login(person)
    dashboard = reverse("jobs:dashboard")
    page = client.get(dashboard).content.decode()
    assert "Verify your email address" in page
    assert f'action="{reverse(RESEND)}"' in page

    response = client.post(reverse(RESEND), {"next": dashboard})
    assert response["Location"] == dashboard
    assert links_to(mailoutbox, person.email) == 1

    response = client.post(reverse(RESEND), {"next": dashboard}, follow=True)
    assert links_to(mailoutbox, person.email) == 1
    page = response.content.decode()
    assert f"We sent a link to {person.email} less than a minute ago" in page
    assert "You can ask for a new one in 3 minutes." in page


def test_resend_goes_nowhere_but_this_site(client, mailoutbox):
    person = UserFactory()
    EmailAddress.objects.create(
        user=person, email=person.email, primary=True, verified=False
    )
    client.force_login(person)
    response = client.post(reverse(RESEND), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("accounts:overview")


def test_a_taken_address_gets_the_same_page_and_answers(client, mailoutbox):
    signed_up_user(email="taken@example.com")
    sign_up(client, "taken@example.com")  # allauth's guard: a mail, not an error
    assert mailoutbox[-1].to == ["taken@example.com"]
    page = client.get(reverse("account_email_verification_sent")).content.decode()
    assert "We sent a link to <strong>taken@example.com</strong>" in page
    assert "You can ask for a new link in 3 minutes." in page
    sent = len(mailoutbox)
    response = client.post(reverse(RESEND), follow=True)
    assert len(mailoutbox) == sent
    assert "We sent a link to taken@example.com less than a minute ago" in (
        response.content.decode()
    )


def test_resend_with_nothing_pending_asks_to_log_in(client, mailoutbox):
    response = client.post(reverse(RESEND), follow=True)
    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert "Log in to ask for a new verification link." in response.content.decode()
    assert not mailoutbox


def test_a_verified_person_is_told_so(client, user, mailoutbox):
    client.force_login(user)
    response = client.post(reverse(RESEND), follow=True)
    assert "Your email address is already verified." in response.content.decode()
    assert not mailoutbox


def test_one_click_in_another_browser_verifies_without_logging_in(client):
    sign_up(client)
    other = Client()
    response = other.get(confirmation_link(to=EMAIL), follow=True)
    assert EmailAddress.objects.get(email=EMAIL).verified
    assert response.redirect_chain[-1][0] == reverse("account_login")
    assert f"Your email address {EMAIL} is verified." in response.content.decode()
    assert "_auth_user_id" not in other.session


def test_one_click_in_the_same_browser_logs_in_on_the_dashboard(client):
    sign_up(client)
    response = client.get(confirmation_link(to=EMAIL), follow=True)
    assert response.redirect_chain[-1][0] == reverse("jobs:dashboard")
    page = response.content.decode()
    assert f"Your email address {EMAIL} is verified." in page
    assert f"You are logged in as {EMAIL}." in page
    assert client.session["_auth_user_id"] == str(User.objects.get(email=EMAIL).pk)


def test_the_wording_of_times():
    now = timezone.now()
    assert describe_ago(now - timedelta(seconds=20)) == "less than a minute ago"
    assert describe_ago(now - timedelta(seconds=70)) == "1 minute ago"
    assert describe_ago(now - timedelta(minutes=5, seconds=5)) == "5 minutes ago"
    assert describe_wait(now + timedelta(seconds=40)) in (
        "in 40 seconds",
        "in 39 seconds",
    )
    assert describe_wait(now + timedelta(seconds=110)) == "in 2 minutes"
    assert describe_wait(now + timedelta(seconds=61)) == "in 2 minutes"  # never sooner


def test_resend_needs_the_csrf_token(client, mailoutbox):
    sign_up(client)
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = client.cookies  # the same session, its pending sign-up
    assert browser.post(reverse(RESEND)).status_code == 403
    assert links_to(mailoutbox) == 1


def test_a_pending_new_address_says_when_its_link_went_out(client, user):
    client.force_login(user)
    client.post(reverse("account_email"), {"action_add": "", "email": "moved@x.org"})
    page = client.get(reverse("account_email")).content.decode()
    assert "We sent the link less than a minute ago." in page
    assert "You can ask for a new one in 3 minutes." in page
