"""CSRF: every POST the site's pages make is refused (403) without the token,
and changes nothing. The template scan (every <form method="post"> has
{% csrf_token %}) is in test_repository.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from billing.models import CreditEntry, CreditPack, Purchase
from billing.services import account_for_user
from jobs.models import Job
from tests.helpers.api import upload
from tests.helpers.audio import song_bytes
from tests.helpers.jobs import finished_job

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # UserFactory's
NEW_PASSWORD = "n3w-Passw0rd!x"


def snapshot(user: User) -> dict[str, Any]:
    """Everything a forged POST could change."""
    return {
        "users": sorted(User.objects.values_list("email", "is_active")),
        "password": User.objects.get(pk=user.pk).password,
        "emails": sorted(EmailAddress.objects.values_list("email", "verified")),
        "tokens": sorted(ApiToken.objects.values_list("digest", flat=True)),
        "jobs": sorted(
            (str(pk), s) for pk, s in Job.objects.values_list("pk", "status")
        ),
        "purchases": Purchase.objects.count(),
        "ledger": CreditEntry.objects.count(),
        "balance": account_for_user(user).balance,
        "mail": len(mail.outbox),
    }


def csrf_client(user: User | None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def is_csrf_refusal(response: Any) -> bool:
    if response.status_code != 403:
        return False
    body = response.content.decode()
    return "CSRF" in body


# (name, signed in?, method, path(user, job, token digest, pack), data)
Case = tuple[str, bool, str, Callable[..., str], dict[str, Any]]
CASES: list[Case] = [
    ("signup", False, "post", lambda **_: "/accounts/signup/",
     {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD}),
    ("login", False, "post", lambda **_: "/accounts/login/",
     {"login": "{email}", "password": PASSWORD}),
    ("password reset", False, "post", lambda **_: "/accounts/password/reset/",
     {"email": "{email}"}),
    ("social login", False, "post", lambda **_: "/accounts/github/login/", {}),
    ("logout", True, "post", lambda **_: "/accounts/logout/", {}),
    ("password change", True, "post", lambda **_: "/accounts/password/change/",
     {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}),
    ("email add", True, "post", lambda **_: "/accounts/email/",
     {"action_add": "", "email": "second@example.com"}),
    ("resend verification", True, "post", lambda **_: "/accounts/email/",
     {"action_send": "", "email": "{email}"}),
    ("resend verification link", True, "post",
     lambda **_: "/accounts/verify/resend/", {}),
    ("reauthenticate", True, "post", lambda **_: "/accounts/reauthenticate/",
     {"password": PASSWORD}),
    ("account delete", True, "post", lambda **_: "/accounts/delete/",
     {"confirm": "on", "email": "{email}"}),
    ("token create", True, "post", lambda **_: "/accounts/tokens/",
     {"name": "forged", "expires": ""}),
    ("token revoke", True, "post", lambda **_: "/accounts/tokens/revoke/",
     {"token": "{digest}"}),
    ("job upload form", True, "post", lambda **_: "/jobs/upload/",
     {"model": "htdemucs", "output_format": "mp3", "songs": "{song}"}),
    ("job delete", True, "post", lambda job, **_: f"/jobs/{job.pk}/delete/", {}),
    ("buy credits", True, "post", lambda pack, **_: f"/billing/buy/{pack.pk}/", {}),
    ("API job create (session)", True, "post", lambda **_: "/api/v1/jobs/",
     {"model": "htdemucs", "output_format": "mp3", "file": "{song}"}),
    ("API job delete (session)", True, "delete",
     lambda job, **_: f"/api/v1/jobs/{job.pk}/", {}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_a_post_without_the_csrf_token_is_403_and_changes_nothing(
    case: Case, user: User, tmp_path: Any, settings: Any
) -> None:
    name, signed_in, method, path, data = case
    settings.SQUARE_ACCESS_TOKEN = "configured"  # noqa: S105 - never used
    settings.SQUARE_LOCATION_ID = "L1"
    job = finished_job(user)
    token, _ = api_token_create(user=user, name="mine")
    pack = CreditPack.objects.filter(active=True).first()
    values = {"email": user.email, "digest": token.digest}
    body: dict[str, Any] = {}
    for key, value in data.items():
        if value == "{song}":
            body[key] = upload(song_bytes(tmp_path, seconds=1.0))
        else:
            body[key] = value.format(**values) if isinstance(value, str) else value
    before = snapshot(user)
    client = csrf_client(user if signed_in else None)
    url = path(user=user, job=job, pack=pack)
    if method == "delete":
        response = client.delete(url)
    else:
        response = client.post(url, body)
    assert is_csrf_refusal(response), (name, response.status_code)
    assert snapshot(user) == before
    if signed_in:
        assert int(client.session[SESSION_KEY]) == user.pk  # still signed in
    else:
        assert SESSION_KEY not in client.session


def test_the_same_post_with_the_token_goes_through(user: User) -> None:
    """The check above is not vacuous: with the token, the form works."""
    client = csrf_client(user)
    client.get("/accounts/tokens/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/tokens/",
        {"name": "real", "expires": "", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 200
    assert ApiToken.objects.filter(user=user, name="real").exists()
