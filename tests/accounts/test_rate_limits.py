"""allauth's rate limits (counted in Redis) on login, signup and password reset."""

import pytest
from django.urls import reverse

from tests.helpers.accounts import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):  # type: ignore[no-untyped-def]
    def set_limits(**rates: str) -> None:
        settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, **rates}

    return set_limits


def assert_429_page(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many attempts" in page
    assert "Wait a minute, then try again." in page
    assert "css/site" in page  # the site's own page, not a bare one


def test_too_many_logins_from_one_address_get_a_clear_429(client, user, limits):
    limits(login="3/m/ip")
    for _ in range(3):
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": "nope"}
        )
        assert response.status_code == 200
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}
    )
    assert_429_page(response)


def test_repeated_failures_for_one_account_lock_it_for_a_while(client, user, limits):
    limits(login_failed="10/m/ip,2/5m/key")
    for _ in range(2):
        client.post(reverse("account_login"), {"login": user.email, "password": "no"})
    # Even the right password is refused now, with a message saying why.
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "Too many failed log-in attempts for this address" in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_signups_are_limited(client, limits):
    limits(signup="2/m/ip")
    for number in range(2):
        client.post(
            reverse("account_signup"),
            {"email": f"p{number}@example.com", "password1": "x", "password2": "y"},
        )
    response = client.post(
        reverse("account_signup"),
        {"email": "p9@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert_429_page(response)


def test_password_reset_requests_are_limited(client, user, limits, mailoutbox):
    limits(reset_password="10/m/ip,1/m/key")
    assert (
        client.post(reverse("account_reset_password"), {"email": user.email})
    ).status_code == 302
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert_429_page(response)
    assert len(mailoutbox) == 1  # no second mail to the same address
    limits(reset_password="1/m/ip")
    client.post(reverse("account_reset_password"), {"email": "a@example.com"})
    assert_429_page(
        client.post(reverse("account_reset_password"), {"email": "b@example.com"})
    )
