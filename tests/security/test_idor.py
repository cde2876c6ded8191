"""Isolation: another person's job, stems, zip, API token and purchase do not
exist for you (404, never 403, never their data), on the site and in the API,
and nothing you send changes them.

tests/api/test_jobs_api.py covers every HTTP verb on the API's job URLs; this
module is the one list of every object type across both surfaces.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from billing.models import CreditEntry, CreditPack, Purchase
from billing.services import account_for_user
from jobs import storage
from jobs.models import Job
from tests.helpers.jobs import finished_job
from tests.helpers.stored import is_stored

pytestmark = pytest.mark.django_db

SECRET_NAME = "Their Private Demo Take 7.wav"


@pytest.fixture
def theirs(other_user: User) -> Job:
    return finished_job(other_user, original_filename=SECRET_NAME)


@pytest.fixture
def their_running_job(other_user: User) -> Job:
    return Job.objects.create(
        user=other_user,
        status=Job.Status.RUNNING,
        original_filename=SECRET_NAME,
        input_extension="wav",
        model="htdemucs",
        output_format="mp3",
        duration_seconds=1.0,
    )


@pytest.fixture
def me(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def my_api(user: User) -> APIClient:
    _, secret = api_token_create(user=user, name="mine")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return api


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404
    body = b"".join(response) if response.streaming else response.content
    assert SECRET_NAME.encode() not in body
    assert b"RIFF" not in body  # no audio


def site_urls(job: Job) -> list[str]:
    return [
        f"/jobs/{job.pk}/",
        f"/jobs/{job.pk}/download/",
        f"/jobs/{job.pk}/stems/vocals/",
        f"/jobs/{job.pk}/stems/vocals/?inline=1",
    ]


def api_urls(job: Job) -> list[str]:
    return [
        f"/api/v1/jobs/{job.pk}/",
        f"/api/v1/jobs/{job.pk}/download/",
        f"/api/v1/jobs/{job.pk}/stems/vocals/",
    ]


def test_their_job_stems_and_zip_are_404_on_the_site(me: Client, theirs: Job) -> None:
    for url in site_urls(theirs):
        assert_not_found(me.get(url))


def test_their_job_stems_and_zip_are_404_in_the_api(
    my_api: APIClient, me: Client, theirs: Job
) -> None:
    for url in api_urls(theirs):
        assert_not_found(my_api.get(url))  # with a token
        assert_not_found(me.get(url))  # with the site's session


def test_a_job_that_does_not_exist_answers_the_same(
    me: Client, my_api: APIClient
) -> None:
    ghost = Job(pk=uuid.uuid4())
    for url in site_urls(ghost):
        assert me.get(url).status_code == 404
    for url in api_urls(ghost):
        assert my_api.get(url).status_code == 404


def test_their_lists_never_show_their_jobs(
    me: Client, my_api: APIClient, theirs: Job
) -> None:
    status = f"/jobs/status/?ids={theirs.pk}&new={theirs.pk}&newest=1"
    for url in ("/jobs/", status, "/accounts/", "/api/v1/jobs/"):
        response = me.get(url)
        assert response.status_code == 200
        assert SECRET_NAME.encode() not in response.content
        assert str(theirs.pk).encode() not in response.content
    assert my_api.get("/api/v1/jobs/").json()["count"] == 0


def test_deleting_their_finished_job_changes_nothing(
    me: Client, my_api: APIClient, theirs: Job
) -> None:
    assert_not_found(me.post(f"/jobs/{theirs.pk}/delete/"))
    assert_not_found(my_api.delete(f"/api/v1/jobs/{theirs.pk}/"))
    theirs.refresh_from_db()
    assert theirs.status == Job.Status.SUCCEEDED
    assert is_stored(storage.output_dir(theirs) / "vocals.wav")


def test_cancelling_their_running_job_changes_nothing(
    me: Client, my_api: APIClient, their_running_job: Job, other_user: User
) -> None:
    balance = account_for_user(other_user).balance
    ledger = CreditEntry.objects.count()
    assert_not_found(me.post(f"/jobs/{their_running_job.pk}/delete/"))
    assert_not_found(my_api.delete(f"/api/v1/jobs/{their_running_job.pk}/"))
    their_running_job.refresh_from_db()
    assert their_running_job.status == Job.Status.RUNNING
    assert account_for_user(other_user).balance == balance
    assert CreditEntry.objects.count() == ledger


def test_their_api_token_cannot_be_seen_or_revoked(
    me: Client, other_user: User
) -> None:
    token, secret = api_token_create(user=other_user, name="their laptop script")
    page = me.get("/accounts/tokens/")
    assert b"their laptop script" not in page.content
    assert token.token_key.encode() not in page.content
    # The answer is the one for a token that does not exist: nothing to learn.
    theirs = me.post("/accounts/tokens/revoke/", {"token": token.digest}, follow=True)
    ghost = me.post("/accounts/tokens/revoke/", {"token": "0" * 128}, follow=True)
    assert theirs.status_code == ghost.status_code == 200
    assert [str(m) for m in theirs.context["messages"]] == [
        str(m) for m in ghost.context["messages"]
    ]
    assert ApiToken.objects.filter(digest=token.digest).exists()
    their_api = APIClient()
    their_api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert their_api.get("/api/v1/me/").status_code == 200


def test_their_purchase_is_404(me: Client, other_user: User) -> None:
    pack = CreditPack.objects.filter(active=True).first()
    assert pack is not None
    purchase = Purchase.objects.create(
        user=other_user,
        pack=pack,
        credits=pack.credits,
        amount_cents=pack.price_cents,
        currency=pack.currency,
        status=Purchase.Status.COMPLETED,
        idempotency_key=uuid.uuid4().hex,
        square_order_id="their-order",
    )
    assert_not_found(me.get(f"/billing/return/{purchase.pk}/"))
    history = me.get("/billing/credits/")
    assert history.status_code == 200
    assert b"their-order" not in history.content
    assert f"#{purchase.pk}".encode() not in history.content
