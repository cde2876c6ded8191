"""Every API answer is JSON in the API's error shape, whatever refused it:
DRF, a domain rule, Django before any view, or a failure of ours."""

import pytest
from django.test import Client

from billing.services import account_for_user
from jobs.models import Job
from tests.helpers.api import JOBS, post_jobs, upload
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db


def _shape(response) -> dict:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("application/json"), response.content[
        :200
    ]
    body = response.json()
    assert set(body) >= {"detail", "code"}
    return body


def test_more_file_parts_than_allowed_is_a_json_400(api, user, wav, settings):
    files = [
        upload(wav, f"{n}.wav")
        for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]
    response = post_jobs(api, *files)
    assert response.status_code == 400
    body = _shape(response)
    assert body["code"] == "invalid"
    assert f"at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}" in body["detail"]
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_a_request_django_refuses_before_any_view_is_json_under_the_api():
    client = Client(HTTP_HOST="not-our-site.example")
    response = client.get(JOBS)
    assert response.status_code == 400
    assert _shape(response)["code"] == "invalid"
    page = client.get("/")  # the site keeps its own page
    assert page.status_code == 400
    assert not page["Content-Type"].startswith("application/json")


def test_a_failure_of_ours_is_a_json_500(api, settings):
    # Redis (the cache the rate limits count in) goes away mid-flight.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }
    api.raise_request_exception = False
    response = api.get("/api/v1/models/")
    assert response.status_code == 500
    body = _shape(response)
    assert body["code"] == "server_error"
    assert "Traceback" not in body["detail"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/jobs/a%0Ab%0Dc/mixes/", "/api/v1/jobs/x%E2%80%A8y/", "/api/v1/%0A"],
)
def test_an_api_path_with_line_breaks_is_a_json_404(api, path):
    answer = api.post(path, {}, format="json")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "not_found"
