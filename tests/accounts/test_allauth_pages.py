"""Every allauth page the site exposes speaks the site's words: its layout,
sentence-case headings and buttons, "Log in" as the nav says, and no "contact
us" without a contact."""

import re
from html import unescape

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from tests.helpers.accounts import PASSWORD, mail_link, signed_up_user

pytestmark = pytest.mark.django_db

PROPER = {"GitHub", "Google", "Facebook", "Mux", "Minus", "API", "I"}


def _texts(page: str, tag: str) -> list[str]:
    found = re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", page, flags=re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", t)).split()) for t in found]


def assert_site_wording(response, name: str, status: int = 200) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, name
    page = response.content.decode()
    assert "css/site" in page, name  # the site's layout
    main = page.split('<main id="main-content"', 1)[1].split("</main>", 1)[0]
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", main)).split()).lower()
    assert "contact us" not in text, name
    assert "sign in" not in text and "sign out" not in text, name  # "Log in"
    assert "third-party" not in text, name
    headings = _texts(main, "h1") + _texts(main, "h2") + _texts(main, "button")
    assert _texts(main, "h1"), name
    for heading in headings:
        for word in heading.split()[1:]:
            bare = word.strip("(),.:;?!'\"")
            assert not bare[:1].isupper() or bare in PROPER or "@" in bare, (
                f"{name}: {heading!r} is not in sentence case"
            )


def test_the_pages_for_visitors(client):
    for name in [
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_reset_password_done",
        "account_email_verification_sent",
        "account_inactive",
        "socialaccount_login_cancelled",
    ]:
        assert_site_wording(client.get(reverse(name)), name)
    error = client.get(reverse("socialaccount_login_error"))
    assert_site_wording(error, "socialaccount_login_error", status=401)
    bad_link = reverse("account_confirm_email", args=["not-a-key"])
    response = client.get(bad_link)
    assert_site_wording(response, "account_confirm_email")
    assert "This link has expired or was already used." in response.content.decode()


def test_the_password_reset_pages(client):
    person = signed_up_user()
    client.post(reverse("account_reset_password"), {"email": person.email})
    link = mail_link(r"/accounts/password/reset/key/[^\s]+/", to=person.email)
    form_url = client.get(link)["Location"]
    assert_site_wording(client.get(form_url), "account_reset_password_from_key")
    response = client.post(form_url, {"password1": "n3w-phrase!", "password2": ""})
    assert_site_wording(response, "account_reset_password_from_key (errors)")
    assert_site_wording(
        client.get(reverse("account_reset_password_from_key_done")),
        "account_reset_password_from_key_done",
    )
    response = Client().get(
        reverse("account_reset_password_from_key", args=["1", "bad-key"])
    )
    assert_site_wording(response, "account_reset_password_from_key (bad token)")
    assert "Link expired" in response.content.decode()


def test_the_pages_for_signed_in_people(client):
    person = signed_up_user()
    person.set_password(PASSWORD)
    person.save()
    client.force_login(person)
    for name in [
        "account_logout",
        "account_email",
        "account_change_password",
        "account_reauthenticate",
        "socialaccount_connections",
        "accounts:overview",
        "accounts:tokens",
    ]:
        assert_site_wording(client.get(reverse(name)), name)


def test_setting_a_password(client):
    person = signed_up_user()
    person.set_unusable_password()
    person.save()
    client.force_login(person)
    assert_site_wording(client.get(reverse("account_set_password")), "set password")


def test_the_notice_for_an_unverified_person(client):
    person = signed_up_user()
    EmailAddress.objects.filter(user=person).update(verified=False)
    client.force_login(person)
    response = client.get(reverse("accounts:overview"))
    assert_site_wording(response, "overview, unverified")
    assert "Resend the link" in response.content.decode()


def test_the_social_pages(client, fake_github):
    response = client.get(reverse("github_login"))
    assert_site_wording(response, "github_login")
    assert "Log in with GitHub" in response.content.decode()
    response = client.get(reverse("github_login") + "?process=connect")
    assert_site_wording(response, "github_login (connect)")
