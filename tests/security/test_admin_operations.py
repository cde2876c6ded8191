"""Operations: the Django admin lists jobs, purchases and the credit ledger, and
reaches django-rq's queue pages; nobody but staff reaches any of it."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from billing.models import CreditEntry
from tests.helpers.accounts import signed_up_user
from tests.helpers.jobs import finished_job

pytestmark = pytest.mark.django_db

QUEUE_PAGES = [
    "/django-admin/django_rq/dashboard/",  # django-rq's entry in the admin index
    "/django-admin/rq/",
    "/django-admin/rq/queues/0/details/",
    "/django-admin/rq/queues/1/",
]
ADMIN_PAGES = [
    "/django-admin/",
    "/django-admin/jobs/job/",
    "/django-admin/billing/purchase/",
    "/django-admin/billing/creditentry/",
    "/django-admin/billing/creditaccount/",
]


@pytest.fixture
def superuser() -> User:
    return signed_up_user(is_staff=True, is_superuser=True)


def test_the_admin_index_links_to_the_queues(client: Client, superuser: User) -> None:
    client.force_login(superuser)
    index = client.get("/django-admin/").content.decode()
    assert 'href="/django-admin/django_rq/dashboard/"' in index
    for model in ("jobs/job", "billing/purchase", "billing/creditentry"):
        assert f'href="/django-admin/{model}/"' in index


def test_a_superuser_sees_the_queues(client: Client, superuser: User) -> None:
    client.force_login(superuser)
    for url in QUEUE_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
    stats = client.get("/django-admin/rq/").content.decode()
    assert "stems" in stats and "default" in stats


def test_a_superuser_sees_jobs_purchases_and_the_ledger(
    client: Client, superuser: User, user: User
) -> None:
    job = finished_job(user, original_filename="Ledger Song.wav")
    client.force_login(superuser)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 200, url
    assert "Ledger Song.wav" in client.get("/django-admin/jobs/job/").content.decode()
    entry = CreditEntry.objects.filter(account__user=user).first()
    assert entry is not None
    ledger = client.get("/django-admin/billing/creditentry/").content.decode()
    assert user.email in ledger
    assert client.get(f"/django-admin/jobs/job/{job.pk}/change/").status_code == 200


@pytest.mark.parametrize("signed_in", [True, False], ids=["member", "anonymous"])
def test_nobody_else_reaches_the_admin_or_the_queues(
    client: Client, user: User, signed_in: bool
) -> None:
    if signed_in:
        client.force_login(user)
    for url in QUEUE_PAGES + ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/django-admin/login/"), url
    response = client.get("/django-admin/rq/stats.json")
    assert response.status_code == 401
    assert b"stems" not in response.content
