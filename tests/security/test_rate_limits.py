"""Job creation is rate limited on the site's upload form as in the API, with
one budget per person for both. Login and signup limits (allauth) are tested
in tests/accounts/test_rate_limits.py, the API's in tests/api/test_throttling.py.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from billing.services import credits_adjust
from jobs.models import Job
from tests.helpers.audio import song_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(settings: Any) -> None:
    settings.API_THROTTLE_RATES = {"api": None, "job_create": "2/minute"}


def form_upload(client: Client, tmp_path: Any, name: str = "Song.wav") -> Any:
    song = io.BytesIO(song_bytes(tmp_path, seconds=1.0))
    song.name = name
    return client.post(
        "/jobs/upload/",
        {"songs": [song], "model": "htdemucs", "two_stems": "", "output_format": "mp3"},
    )


def api_upload(client: Client, tmp_path: Any) -> Any:
    song = io.BytesIO(song_bytes(tmp_path, seconds=1.0))
    song.name = "Api.wav"
    return client.post(
        "/api/v1/jobs/", {"file": [song], "model": "htdemucs", "output_format": "mp3"}
    )


@pytest.fixture
def member(client: Client, user: User) -> Client:
    credits_adjust(user=user, delta=10, note="tests")
    client.force_login(user)
    return client


def test_the_upload_form_is_rate_limited(
    member: Client, tmp_path: Any, limited
) -> None:  # type: ignore[no-untyped-def]
    assert form_upload(member, tmp_path).status_code == 302
    assert form_upload(member, tmp_path).status_code == 302
    response = form_upload(member, tmp_path, name="Third.wav")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Too many uploads" in response.content.decode()
    assert Job.objects.count() == 2
    assert not Job.objects.filter(original_filename="Third.wav").exists()


def test_the_form_and_the_api_share_one_budget(
    member: Client, tmp_path: Any, limited
) -> None:  # type: ignore[no-untyped-def]
    assert api_upload(member, tmp_path).status_code == 201
    assert form_upload(member, tmp_path).status_code == 302
    assert form_upload(member, tmp_path).status_code == 429
    assert api_upload(member, tmp_path).status_code == 429
    assert Job.objects.count() == 2


def test_each_person_has_their_own_budget(
    member: Client, other_user: User, tmp_path: Any, limited: None
) -> None:
    for _ in range(2):
        form_upload(member, tmp_path)
    assert form_upload(member, tmp_path).status_code == 429
    other = Client()
    other.force_login(other_user)
    assert form_upload(other, tmp_path).status_code == 302


def test_login_signup_and_job_creation_have_limits_by_default() -> None:
    limits = settings.ACCOUNT_RATE_LIMITS
    assert {"login", "login_failed", "signup", "reset_password"} <= set(limits)
    assert all(limits[key] for key in ("login", "login_failed", "signup"))
    assert settings.API_THROTTLE_RATES["job_create"]
