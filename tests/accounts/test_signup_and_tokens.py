"""Email sign-up, verification, login, logout, password and email management."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from billing.models import CreditEntry
from billing.services import account_for_user
from tests.helpers.accounts import PASSWORD, confirmation_link, mail_link

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-different-long-phrase"


def sign_up(client, email: str = "new@example.com"):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def log_in(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_email_signup_gives_three_free_credits_and_asks_for_verification(client):
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new@example.com")
    assert account_for_user(user).balance == 3
    assert CreditEntry.objects.get(account__user=user).kind == "signup_bonus"
    assert not EmailAddress.objects.get(user=user).verified
    # Mandatory verification: not signed in until the link is opened.
    assert client.get(reverse("jobs:dashboard")).status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Check your email" in page


def test_the_emailed_link_verifies_the_address_and_signs_in(client):
    sign_up(client)
    assert mail.outbox[-1].to == ["new@example.com"]
    link = confirmation_link(to="new@example.com")
    response = client.get(link)  # one click: no second button to press
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:dashboard")
    user = User.objects.get(email="new@example.com")
    assert EmailAddress.objects.get(user=user).verified
    assert client.get(reverse("jobs:dashboard")).status_code == 200
    assert account_for_user(user).balance == 3  # still exactly one bonus


def test_an_unverified_person_cannot_log_in_and_gets_a_new_link(client):
    sign_up(client)
    client.logout()
    mail.outbox.clear()
    cache.clear()  # past the resend cooldown (one mail per address per 3 minutes)
    response = log_in(client, "new@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert SESSION_KEY not in client.session
    assert confirmation_link(to="new@example.com")


def test_signup_form_errors_are_tied_to_their_fields(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-address", "password1": "x", "password2": "y"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert '<label for="id_email">' in page
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_email_error"' in page
    assert 'id="id_email_error"' in page
    assert not User.objects.exists()


def test_login_by_email_and_logout(client, user):
    response = log_in(client, user.email)
    assert response.status_code == 302
    assert client.get(reverse("jobs:dashboard")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert client.get(reverse("jobs:dashboard")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, user):
    response = log_in(client, user.email, "wrong password")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_password_change(client, user):
    log_in(client, user.email)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    client.logout()
    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302
    assert SESSION_KEY in client.session


def test_password_reset_by_emailed_link(client, user):
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    link = mail_link(r"/accounts/password/reset/key/[^\s]+/", to=user.email)
    response = client.get(link)
    assert response.status_code == 302  # allauth moves the key into the session
    form_url = response["Location"]
    assert client.get(form_url).status_code == 200
    response = client.post(
        form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # The link works once only.
    assert "has expired or was already used" in (
        client.get(link, follow=True).content.decode()
    )


def test_a_new_email_replaces_the_old_one_only_once_verified(client, user):
    old = user.email
    log_in(client, old)
    mail.outbox.clear()
    response = client.post(
        reverse("account_email"), {"action_add": "", "email": "moved@example.com"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == old  # not yet
    page = client.get(reverse("account_email")).content.decode()
    assert "moved@example.com" in page and "waiting for verification" in page
    link = confirmation_link(to="moved@example.com")
    assert client.post(link).status_code == 302
    user.refresh_from_db()
    assert user.email == "moved@example.com"
    addresses = EmailAddress.objects.filter(user=user)
    assert [(a.email, a.verified, a.primary) for a in addresses] == [
        ("moved@example.com", True, True)
    ]
    # The old address is told about the change.
    assert any(old in message.to for message in mail.outbox)
    client.logout()
    assert log_in(client, "moved@example.com").status_code == 302


def test_every_account_page_renders_in_the_site_layout(client, user):
    log_in(client, user.email)
    for name in [
        "accounts:overview",
        "account_email",
        "account_change_password",
        "socialaccount_connections",
        "accounts:tokens",
    ]:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        page = response.content.decode()
        assert 'class="account-nav"' in page, name
        assert "css/site" in page, name
    assert "auth-page" in client.get(reverse("account_reauthenticate")).content.decode()
    client.logout()
    for name in [
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_reset_password_done",
        "account_email_verification_sent",
    ]:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert "auth-page" in response.content.decode(), name


def test_create_api_token_creates_a_verified_account_and_prints_the_token(capsys):
    call_command("create_api_token", "script@example.com")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    user = User.objects.get(email="script@example.com")
    assert EmailAddress.objects.get(user=user).verified
    assert account_for_user(user).balance == 3
    stored = ApiToken.objects.get(user=user)
    assert token not in (stored.digest, stored.token_key)  # only a hash is kept

    client = APIClient()
    assert client.get("/api/v1/me/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json() == {
        "email": "script@example.com",
        "credits": 3,
        "active_jobs": 0,
        "max_active_jobs": 5,
    }
    stored.refresh_from_db()
    assert stored.last_used_at is not None

    call_command("create_api_token", "script@example.com")  # a second token
    assert User.objects.filter(email="script@example.com").count() == 1
    assert account_for_user(user).balance == 3

    stored.delete()
    assert client.get("/api/v1/me/").status_code == 401
