import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from billing.models import CreditEntry
from billing.services import account_for_user

pytestmark = pytest.mark.django_db


def test_email_signup_gives_three_free_credits(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert account_for_user(user).balance == 3
    assert CreditEntry.objects.get(account__user=user).kind == "signup_bonus"
    assert client.get(reverse("jobs:dashboard")).status_code == 200


def test_login_by_email(client, user):
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert client.get(reverse("jobs:dashboard")).status_code == 200


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

    call_command(
        "create_api_token", "script@example.com"
    )  # a second token, same account
    assert User.objects.filter(email="script@example.com").count() == 1
    assert account_for_user(user).balance == 3

    stored.delete()
    assert client.get("/api/v1/me/").status_code == 401
