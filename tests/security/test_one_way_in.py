"""One way to sign in: every page that takes a password is allauth's, with its
rate limits, lockout and verification gate (tests/accounts/test_rate_limits.py
and test_verification_gate.py test those on it)."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import views as auth_views
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from wagtail.admin.views import account as wagtail_account

from accounts.views import sign_in_on_the_site
from billing.services import account_for_user
from tests.helpers.accounts import PASSWORD, signed_up_user

pytestmark = pytest.mark.django_db

# Django's and Wagtail's own pages that take a password or send a reset link.
FOREIGN_PASSWORD_VIEWS = (
    auth_views.LoginView,
    auth_views.PasswordResetView,
    auth_views.PasswordChangeView,
    wagtail_account.LoginView,
    wagtail_account.PasswordResetView,
)
OTHER_WAYS_IN = {
    "/cms/login/": "account_login",
    "/_util/login/": "account_login",
    "/django-admin/login/": "account_login",
    "/cms/password_reset/": "account_reset_password",
    "/django-admin/password_change/": "account_change_password",
}


def _patterns(patterns, prefix=""):  # type: ignore[no-untyped-def]
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_every_foreign_password_page_is_shadowed_by_the_way_in():
    found = []
    for route, view in _patterns(get_resolver().url_patterns):
        cls = getattr(view, "view_class", None)
        admin_login = getattr(view, "__name__", "") in ("login", "password_change")
        if (cls and issubclass(cls, FOREIGN_PASSWORD_VIEWS)) or (
            admin_login and route.startswith("django-admin/")
        ):
            path = "/" + route.replace("^", "").split("<", 1)[0].split("(", 1)[0]
            found.append(path)
            assert resolve(path).func is sign_in_on_the_site, path
    assert set(OTHER_WAYS_IN) <= set(found)


@pytest.mark.parametrize(("path", "target"), sorted(OTHER_WAYS_IN.items()))
def test_posting_a_password_elsewhere_signs_nobody_in(path, target):
    staff = signed_up_user(is_staff=True, is_superuser=True)
    client = Client()
    credentials = {"username": staff.email, "password": PASSWORD, "email": staff.email}
    for response in (
        client.get(f"{path}?next=/cms/"),
        client.post(f"{path}?next=/cms/", credentials),
    ):
        assert response.status_code == 302, path
        assert response["Location"] == f"{reverse(target)}?next=%2Fcms%2F"
    assert "_auth_user_id" not in client.session


def test_an_unverified_staff_member_cannot_reach_the_admins():
    staff = signed_up_user(is_staff=True, is_superuser=True)
    EmailAddress.objects.filter(user=staff).update(verified=False)
    client = Client()
    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert client.get("/cms/").status_code == 302
    assert client.get("/django-admin/").status_code == 302


def test_a_foreign_next_is_dropped():
    response = Client().get("/cms/login/?next=https://evil.example/")
    assert response["Location"] == reverse("account_login")


def test_createsuperuser_makes_an_account_that_can_sign_in(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", email="ops@muxminus.test")
    client = Client()
    answer = client.post(
        reverse("account_login"), {"login": "ops@muxminus.test", "password": PASSWORD}
    )
    assert answer.status_code == 302
    assert "_auth_user_id" in client.session
    user = EmailAddress.objects.get(email="ops@muxminus.test").user
    assert account_for_user(user).balance == 3  # the signup bonus, in the ledger
    assert client.get("/cms/").status_code == 200
