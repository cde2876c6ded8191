"""Social sign-in end to end against a fake GitHub (Enterprise paths) on 127.0.0.1."""

from urllib.parse import urlencode, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from accounts.models import User
from billing.services import account_for_user
from closure.services import account_close
from tests.helpers.fake_github import FakeGitHubUser

pytestmark = pytest.mark.django_db


def github_sign_in(client, github, **params):  # type: ignore[no-untyped-def]
    """POST to start, follow the fake's authorize redirect, then the callback."""
    start = reverse("github_login")
    if params:
        start += "?" + urlencode(params)
    assert client.get(start).status_code == 200  # a GET only shows a button
    response = client.post(start)
    assert response.status_code == 302
    authorize = response["Location"]
    assert authorize.startswith(f"{github.url}/login/oauth/authorize?")
    answer = requests.get(authorize, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == reverse("github_callback")
    return client.get(f"{callback.path}?{callback.query}")


def test_a_new_github_person_gets_an_account_with_three_credits(client, fake_github):
    response = github_sign_in(client, fake_github)
    assert response.status_code == 302
    user = User.objects.get(email="octo@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert account_for_user(user).balance == 3
    assert not user.has_usable_password()
    address = EmailAddress.objects.get(user=user)
    assert address.verified and address.primary  # GitHub said it is verified
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == ("github", "4242")
    assert fake_github.requests[-3:] == [
        "POST /login/oauth/access_token",
        "GET /api/v3/user",
        "GET /api/v3/user/emails",
    ]
    assert client.get(reverse("jobs:dashboard")).status_code == 200


def test_the_same_github_identity_gets_the_same_account(client, fake_github):
    github_sign_in(client, fake_github)
    client.post(reverse("account_logout"))
    response = github_sign_in(client, fake_github)
    assert response.status_code == 302
    user = User.objects.get()
    assert client.session["_auth_user_id"] == str(user.pk)
    assert SocialAccount.objects.count() == 1
    assert account_for_user(user).balance == 3  # no second bonus


def test_an_unverified_github_address_must_be_verified_first(
    client, fake_github, mailoutbox
):
    fake_github.person = FakeGitHubUser(id=99, email="new@example.com", verified=False)
    response = github_sign_in(client, fake_github)
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not EmailAddress.objects.get(email="new@example.com").verified
    assert mailoutbox[-1].to == ["new@example.com"]


def test_a_returning_github_address_gets_no_new_bonus(client, fake_github):
    github_sign_in(client, fake_github)
    account_close(user=User.objects.get())
    client.logout()
    github_sign_in(client, fake_github)
    assert account_for_user(User.objects.get()).balance == 0


def test_a_social_only_person_can_set_a_password(client, fake_github):
    github_sign_in(client, fake_github)
    response = client.get(reverse("account_change_password"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_set_password")
    new = "a-brand-new-pass-phrase"
    response = client.post(
        reverse("account_set_password"), {"password1": new, "password2": new}
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert user.check_password(new)
    client.logout()
    client.post(reverse("account_login"), {"login": user.email, "password": new})
    assert client.session["_auth_user_id"] == str(user.pk)


def test_an_email_account_can_connect_github(client, user, fake_github):
    fake_github.person = FakeGitHubUser(id=7, email="octo-other@example.com")
    client.force_login(user)
    response = github_sign_in(client, fake_github, process="connect")
    assert response.status_code == 302
    account = SocialAccount.objects.get()
    assert account.user == user and account.uid == "7"
    assert account_for_user(user).balance == 3
    page = client.get(reverse("socialaccount_connections")).content.decode()
    assert "GitHub" in page


def test_a_social_only_person_deletes_after_a_recent_sign_in(client, fake_github):
    github_sign_in(client, fake_github)
    user = User.objects.get()
    assert (
        client.get(reverse("closure:account_delete")).status_code == 200
    )  # just signed in
    # A session that signed in long ago must sign in with GitHub again.
    session = client.session
    for record in session["account_authentication_methods"]:
        record["at"] -= 3600
    session.save()
    page = client.get(reverse("closure:account_delete")).content.decode()
    assert "Log in again with GitHub" in page
    response = client.post(reverse("closure:account_delete"), {"confirm": "on"})
    assert response.status_code == 200
    assert User.objects.filter(pk=user.pk).exists()
    github_sign_in(client, fake_github, process="login", next="/accounts/delete/")
    response = client.post(reverse("closure:account_delete"), {"confirm": "on"})
    assert response.status_code == 302
    assert not User.objects.exists()


def test_unconfigured_providers_are_hidden(client, settings):
    page = client.get(reverse("account_login")).content.decode()
    assert "Continue with" not in page
    assert client.post(reverse("google_login")).status_code == 404
    assert client.post(reverse("github_login")).status_code == 404


def test_only_configured_providers_are_shown_and_start_with_a_post(client, fake_github):
    for name in ("account_login", "account_signup"):
        page = client.get(reverse(name)).content.decode()
        assert "Continue with GitHub" in page
        assert "Google" not in page and "Facebook" not in page
        assert f'<form method="post" action="{reverse("github_login")}' in page
