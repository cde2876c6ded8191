"""Rate limits per token (per user with the session): 429 `throttled`."""

import pytest
from rest_framework.test import APIClient

from jobs.models import Job
from tests.helpers.api import JOBS, post_jobs, token_client, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):  # type: ignore[no-untyped-def]
    settings.API_THROTTLE_RATES = {"api": "5/minute", "job_create": "2/minute"}
    return settings.API_THROTTLE_RATES


def test_requests_past_the_general_rate_are_429_with_retry_after(api, rates):
    for _ in range(5):
        assert api.get("/api/v1/me/").status_code == 200
    response = api.get("/api/v1/models/")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_token_has_its_own_budget(user, rates):
    first, second = token_client(user), token_client(user)
    for _ in range(5):
        first.get("/api/v1/me/")
    assert first.get("/api/v1/me/").status_code == 429
    assert second.get("/api/v1/me/").status_code == 200


def test_the_session_is_counted_per_user(client, user, other_user, rates):
    client.force_login(user)
    for _ in range(5):
        client.get("/api/v1/me/")
    assert client.get("/api/v1/me/").status_code == 429
    other = APIClient()
    other.force_login(other_user)
    assert other.get("/api/v1/me/").status_code == 200


def test_job_creation_has_a_tighter_rate(api, user, wav, rates):
    assert post_jobs(api, upload(wav)).status_code == 201
    assert post_jobs(api, upload(wav)).status_code == 201
    response = post_jobs(api, upload(wav))
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert Job.objects.count() == 2
    # Reading is still allowed (the general budget has room).
    assert api.get(JOBS).status_code == 200


def test_an_empty_rate_turns_the_limit_off(api, settings):
    settings.API_THROTTLE_RATES = {"api": None, "job_create": None}
    for _ in range(30):
        assert api.get("/api/v1/me/").status_code == 200
