"""Rate limits count the real client: behind our nginx, the address it sets in
X-Real-IP; without a proxy, REMOTE_ADDR, whatever forwarding headers say."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers.accounts import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_login(settings):  # type: ignore[no-untyped-def]
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}


def _login(client: Client, email: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("account_login"), {"login": email, "password": password}, **headers
    )


def test_behind_the_proxy_one_clients_failures_do_not_lock_out_another(
    settings, strict_login, user, other_user
):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    # Both arrive from the proxy's address (REMOTE_ADDR 127.0.0.1).
    attacker, person = Client(), Client()
    for _ in range(3):
        _login(attacker, user.email, "guess", HTTP_X_REAL_IP="203.0.113.7")
    assert (
        _login(attacker, user.email, "guess", HTTP_X_REAL_IP="203.0.113.7").status_code
        == 429
    )
    answer = _login(person, other_user.email, PASSWORD, HTTP_X_REAL_IP="198.51.100.9")
    assert answer.status_code == 302
    assert "_auth_user_id" in person.session


def test_without_a_proxy_forged_forwarding_headers_change_nothing(
    settings, strict_login, user
):
    settings.CLIENT_IP_HEADER = None
    client = Client()
    for n in range(3):
        _login(
            client,
            user.email,
            "guess",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
            HTTP_X_REAL_IP=f"10.1.0.{n}",
        )
    forged = _login(
        client,
        user.email,
        PASSWORD,
        HTTP_X_FORWARDED_FOR="10.9.9.9",
        HTTP_X_REAL_IP="10.9.9.8",
    )
    assert forged.status_code == 429


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_the_apis_limit_for_anonymous_calls_counts_the_real_client(
    settings, behind_proxy
):
    settings.CLIENT_IP_HEADER = "X-Real-IP" if behind_proxy else None
    settings.API_THROTTLE_RATES = {"api": "2/minute", "job_create": None}
    client = Client()
    statuses = [
        client.get(
            "/api/schema/",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",  # forged: never counted
            HTTP_X_REAL_IP="203.0.113.7",  # what our nginx would set
        ).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    other = client.get("/api/schema/", HTTP_X_REAL_IP="198.51.100.9").status_code
    assert other == (200 if behind_proxy else 429)
