"""Named API tokens: shown once, stored hashed, listed, revoked, expiring."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import MAX_API_TOKENS_PER_USER, api_token_create

pytestmark = pytest.mark.django_db


def token_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def create_on_the_page(client, name: str, expires: str = "") -> str:  # type: ignore[no-untyped-def]
    response = client.post(
        reverse("accounts:tokens"), {"name": name, "expires": expires}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "shown only once" in page
    assert (
        "no-store" in response["Cache-Control"]
        or "no-cache" in response["Cache-Control"]
    )
    found = re.search(r'id="token-secret"[^>]* value="([^"]+)"', page)
    assert found
    secret = found.group(1)
    assert f'curl -H "Authorization: Token {secret}"' in page
    assert "/api/v1/me/" in page
    return secret


def test_create_use_list_and_revoke_a_token(client, user):
    client.force_login(user)
    secret = create_on_the_page(client, "laptop script")
    stored = ApiToken.objects.get(user=user)
    assert stored.name == "laptop script"
    assert secret not in (stored.digest, stored.token_key)  # only a hash is kept
    assert stored.expiry is None

    # Shown once: the list has only the short prefix, never the secret.
    listing = client.get(reverse("accounts:tokens")).content.decode()
    assert "laptop script" in listing and stored.token_key in listing
    assert secret not in listing
    assert "Never" in listing  # not used yet

    api = token_client(secret)
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    listing = client.get(reverse("accounts:tokens")).content.decode()
    assert stored.last_used_at.strftime("%b %-d, %Y") in listing

    response = client.post(reverse("accounts:token_revoke"), {"token": stored.digest})
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=stored.pk).exists()
    assert api.get("/api/v1/me/").status_code == 401


def test_several_tokens_work_side_by_side(client, user):
    client.force_login(user)
    first = create_on_the_page(client, "one")
    second = create_on_the_page(client, "two")
    assert ApiToken.objects.filter(user=user).count() == 2
    assert token_client(first).get("/api/v1/me/").status_code == 200
    assert token_client(second).get("/api/v1/me/").status_code == 200


def test_a_token_with_an_expiry_shows_it(client, user):
    client.force_login(user)
    create_on_the_page(client, "ci", expires="30")
    stored = ApiToken.objects.get(user=user)
    assert stored.expiry is not None
    remaining = stored.expiry - timezone.now()
    assert timedelta(days=29) < remaining <= timedelta(days=30)


def test_an_expired_token_gets_401(user):
    token, secret = api_token_create(user=user, name="old")
    ApiToken.objects.filter(pk=token.pk).update(
        expiry=timezone.now() - timedelta(minutes=1)
    )
    assert token_client(secret).get("/api/v1/me/").status_code == 401


def test_revoking_needs_a_post(client, user):
    token, _ = api_token_create(user=user, name="keep")
    client.force_login(user)
    response = client.get(reverse("accounts:token_revoke"), {"token": token.digest})
    assert response.status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_nobody_can_revoke_or_see_another_persons_token(client, user, other_user):
    token, secret = api_token_create(user=other_user, name="theirs")
    client.force_login(user)
    assert "theirs" not in client.get(reverse("accounts:tokens")).content.decode()
    client.post(reverse("accounts:token_revoke"), {"token": token.digest})
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert token_client(secret).get("/api/v1/me/").status_code == 200


def test_a_name_is_required(client, user):
    client.force_login(user)
    response = client.post(reverse("accounts:tokens"), {"name": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'aria-describedby="id_name_helptext id_name_error"' in page
    assert not ApiToken.objects.exists()


def test_the_number_of_tokens_is_capped(client, user):
    for number in range(MAX_API_TOKENS_PER_USER):
        api_token_create(user=user, name=f"t{number}")
    client.force_login(user)
    response = client.post(reverse("accounts:tokens"), {"name": "one too many"})
    assert response.status_code == 400
    assert "Revoke one" in response.content.decode()
    assert ApiToken.objects.filter(user=user).count() == MAX_API_TOKENS_PER_USER
