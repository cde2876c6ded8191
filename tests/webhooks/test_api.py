"""/api/v1/webhooks/: register, list, change, rotate, test, log, resend;
your own endpoints only."""

import django_rq
import pytest
from rq.worker import SimpleWorker

from tests.helpers.api import token_client
from tests.helpers.webhook_receiver import receiving
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_receivers(settings):  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True


def create(client, url="https://hooks.example.com/mux", **fields):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/webhooks/", {"url": url, **fields}, format="json")


def test_the_secret_is_shown_when_created_and_never_again(user) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    answer = create(client, description="karaoke app")
    assert answer.status_code == 201
    body = answer.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == [
        "job.succeeded",
        "job.failed",
        "job.cancelled",
        "job.expired",
        "mix.succeeded",
    ]
    assert body["enabled"] is True and body["description"] == "karaoke app"
    listed = client.get("/api/v1/webhooks/").json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{body['id']}/").json()


def test_bad_urls_and_events_get_a_clear_400(user) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    for url, code in (
        ("ftp://example.com/", "invalid_webhook_url"),
        ("", "invalid"),
        ("http://169.254.169.254/latest/meta-data/", "invalid_webhook_url"),
    ):
        answer = create(client, url=url)
        assert answer.status_code == 400, (url, answer.json())
        assert answer.json()["code"] == code
        assert answer.json()["detail"]
    answer = create(client, events=["job.exploded"])
    assert answer.status_code == 400
    assert "job.exploded" in answer.json()["detail"]
    assert create(client, events=[]).json()["code"] == "invalid_webhook"
    assert not Endpoint.objects.exists()


def test_another_persons_endpoint_is_a_404_for_every_verb(user, other_user) -> None:  # type: ignore[no-untyped-def]
    theirs = create(token_client(other_user)).json()["id"]
    client = token_client(user)
    base = f"/api/v1/webhooks/{theirs}/"
    assert client.get(base).status_code == 404
    assert client.patch(base, {"enabled": False}, format="json").status_code == 404
    assert client.delete(base).status_code == 404
    for action in ("rotate-secret/", "test/", "deliveries/"):
        method = client.get if action == "deliveries/" else client.post
        assert method(base + action).status_code == 404, action
    assert client.get("/api/v1/webhooks/").json() == []
    assert Endpoint.objects.get(pk=theirs).enabled


def test_change_turn_off_and_on_and_delete(user) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    endpoint = create(client).json()
    url = f"/api/v1/webhooks/{endpoint['id']}/"
    changed = client.patch(
        url, {"events": ["job.failed"], "enabled": False}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["events"] == ["job.failed"]
    assert changed.json()["enabled"] is False
    assert client.patch(url, {"enabled": True}, format="json").json()["enabled"] is True
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_rotation_answers_the_new_secret_and_how_long_the_old_one_signs(user) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    endpoint = create(client).json()
    answer = client.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != endpoint["secret"]
    assert body["previous_secret_valid_until"]
    assert Endpoint.objects.get().previous_secret == endpoint["secret"]


def test_a_test_event_shows_in_the_log_and_can_be_resent(
    user, django_capture_on_commit_callbacks
):
    client = token_client(user)
    with receiving(answers=[500, 200]) as receiver:
        endpoint = create(client, url=receiver.url, events=["job.failed"]).json()
        base = f"/api/v1/webhooks/{endpoint['id']}/"
        with django_capture_on_commit_callbacks(execute=True):
            sent = client.post(base + "test/")
        assert sent.status_code == 202
        assert sent.json()["event_type"] == "webhook.test"
        django_rq.get_worker("webhooks", worker_class=SimpleWorker).work(burst=True)
        [attempt] = client.get(base + "deliveries/").json()
        assert attempt["status_code"] == 500 and attempt["delivered"] is False
        assert attempt["attempt"] == 1 and attempt["duration_ms"] >= 0
        resend = f"{base}deliveries/{attempt['delivery_id']}/resend/"
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(resend).status_code == 202
        django_rq.get_worker("webhooks", worker_class=SimpleWorker).work(burst=True)
    log = client.get(base + "deliveries/").json()
    assert [(a["status_code"], a["delivered"]) for a in log] == [
        (200, True),
        (500, False),
    ]
    assert log[0]["event_id"] == log[1]["event_id"]
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert again.verified(endpoint["secret"])["type"] == "webhook.test"


def test_the_callback_secret_is_stable_until_rotated(user) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    first = client.get("/api/v1/webhooks/callback-secret/").json()["secret"]
    assert first.startswith("whsec_")
    assert client.get("/api/v1/webhooks/callback-secret/").json()["secret"] == first
    rotated = client.post("/api/v1/webhooks/callback-secret/rotate/").json()
    assert rotated["secret"] != first and rotated["previous_secret_valid_until"]


def test_there_is_a_cap_on_endpoints(user) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    for n in range(10):
        assert create(client, url=f"https://hooks.example.com/{n}").status_code == 201
    answer = create(client, url="https://hooks.example.com/eleven")
    assert answer.status_code == 400 and answer.json()["code"] == "too_many_webhooks"


def test_anonymous_calls_get_401() -> None:
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/webhooks/").status_code == 401
