"""The account's webhook pages: add an endpoint (its secret shown once), see
its log, resend, test, rotate, turn off, delete; nobody else's."""

import django_rq
import pytest
from rq.worker import SimpleWorker

from tests.helpers.webhook_receiver import receiving
from webhooks import services
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

EVENTS = ["job.succeeded", "job.failed"]


@pytest.fixture(autouse=True)
def _private_receivers(settings):  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True


def test_adding_an_endpoint_shows_its_secret_once(client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    page = client.get("/accounts/webhooks/")
    assert page.status_code == 200
    assert b"No endpoints yet." in page.content
    answer = client.post(
        "/accounts/webhooks/",
        {
            "url": "https://hooks.example.com/mux",
            "events": EVENTS,
            "description": "app",
        },
    )
    assert answer.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.events == EVENTS and endpoint.user == user
    assert endpoint.secret.encode() in answer.content
    assert b"shown only once" in answer.content
    again = client.get(f"/accounts/webhooks/{endpoint.pk}/")
    assert again.status_code == 200
    assert endpoint.secret.encode() not in again.content
    listed = client.get("/accounts/webhooks/")
    assert b"https://hooks.example.com/mux" in listed.content
    assert endpoint.secret.encode() not in listed.content


def test_a_bad_url_is_explained_on_the_form(client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    answer = client.post(
        "/accounts/webhooks/", {"url": "ftp://x.example/", "events": EVENTS}
    )
    assert answer.status_code == 400
    assert b"must start with http:// or https://" in answer.content
    answer = client.post("/accounts/webhooks/", {"url": "https://x.example/"})
    assert answer.status_code == 400
    assert b"Choose at least one event." in answer.content
    assert not Endpoint.objects.exists()


def test_someone_elses_endpoint_is_a_404(client, user, other_user) -> None:  # type: ignore[no-untyped-def]
    theirs = services.endpoint_create(
        user=other_user, url="https://hooks.example.com/x", events=EVENTS
    )
    client.force_login(user)
    assert client.get(f"/accounts/webhooks/{theirs.pk}/").status_code == 404
    for action in ("rotate", "test", "toggle", "delete"):
        assert (
            client.post(f"/accounts/webhooks/{theirs.pk}/{action}/").status_code == 404
        )
    assert Endpoint.objects.filter(pk=theirs.pk, disabled_at=None).exists()


def test_the_log_shows_each_attempt_and_resend_sends_it_again(
    client, user, django_capture_on_commit_callbacks
):
    client.force_login(user)
    with receiving(answers=[503, 200]) as receiver:
        endpoint = services.endpoint_create(user=user, url=receiver.url, events=EVENTS)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(f"/accounts/webhooks/{endpoint.pk}/test/", follow=True)
        assert b"A test event is on its way" in answer.content
        django_rq.get_worker("webhooks", worker_class=SimpleWorker).work(burst=True)
        page = client.get(f"/accounts/webhooks/{endpoint.pk}/").content.decode()
        assert "HTTP 503" in page and "webhook.test" in page
        delivery = endpoint.deliveries.get()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                f"/accounts/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/"
            )
        django_rq.get_worker("webhooks", worker_class=SimpleWorker).work(burst=True)
    page = client.get(f"/accounts/webhooks/{endpoint.pk}/").content.decode()
    assert "HTTP 200" in page
    assert len(receiver.received) == 2


def test_rotate_turn_off_and_delete(client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    endpoint = services.endpoint_create(
        user=user, url="https://hooks.example.com/x", events=EVENTS
    )
    old = endpoint.secret
    rotated = client.post(f"/accounts/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.encode() in rotated.content
    assert b"two signatures" in rotated.content
    client.post(f"/accounts/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    client.post(f"/accounts/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert endpoint.enabled
    answer = client.post(f"/accounts/webhooks/{endpoint.pk}/delete/", follow=True)
    assert b"was deleted" in answer.content
    assert not Endpoint.objects.exists()


def test_the_callback_secret_is_shown_on_request(client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    page = client.get("/accounts/webhooks/")
    assert b"Show the callback secret" in page.content
    shown = client.post("/accounts/webhooks/callback-secret/")
    secret = services.callback_secret_for_user(user=user).secret
    assert secret.encode() in shown.content
    rotated = client.post("/accounts/webhooks/callback-secret/rotate/")
    new = services.callback_secret_for_user(user=user).secret
    assert new != secret and new.encode() in rotated.content


def test_signed_out_people_are_sent_to_log_in(client) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/accounts/webhooks/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
