"""Job events reach people's endpoints: signed, at least once, never in a job's way.

Each test runs the real path: the job change publishes in its transaction, a
real RQ worker runs the `webhooks` queue, and a real HTTP receiver on 127.0.0.1
verifies the signature with the `standardwebhooks` package.
"""

import threading
from datetime import timedelta

import django_rq
import pytest
from django.core import mail
from django.utils import timezone
from rq.worker import SimpleWorker

from jobs import lifecycle
from jobs.models import Job
from tests.helpers.api import token_client
from tests.helpers.jobs import finished_job, run_queue, submit, upload
from tests.helpers.webhook_receiver import receiving
from webhooks import sending, services, transport
from webhooks.models import Delivery, Endpoint, Message

pytestmark = pytest.mark.django_db

ALL_EVENTS = ["job.succeeded", "job.failed", "job.cancelled", "job.expired"]


@pytest.fixture(autouse=True)
def _private_receivers(settings):  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receivers listen on 127.0.0.1
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_RETRY_DELAYS = [0, 0, 0]


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Run the webhooks queue with a real RQ worker, in this process, until it
    is empty (django-rq enqueues on commit: a retry is queued as the attempt's
    callbacks run)."""

    def run() -> None:
        queue = django_rq.get_queue("webhooks")
        for _ in range(20):
            with django_capture_on_commit_callbacks(execute=True):
                django_rq.get_worker("webhooks", worker_class=SimpleWorker).work(
                    burst=True
                )
            if not queue.count:
                return
        raise AssertionError("the webhooks queue never emptied")

    return run


def endpoint_for(user, url, events=ALL_EVENTS):  # type: ignore[no-untyped-def]
    return services.endpoint_create(user=user, url=url, events=events)


def running_job(user, **fields) -> Job:  # type: ignore[no-untyped-def]
    values = {
        "original_filename": "Song.wav",
        "input_extension": "wav",
        "model": "htdemucs",
        "output_format": "mp3",
        "duration_seconds": 3.0,
        **fields,
    }
    return Job.objects.create(user=user, status=Job.Status.RUNNING, **values)


def test_a_finished_job_is_delivered_signed_with_the_job_as_the_api_returns_it(
    deliver, user, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://testserver"  # the test client's host: same links
    with receiving() as receiver:
        endpoint = endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            job = finished_job(user)
        deliver()
    [event] = receiver.received
    body = event.verified(endpoint.secret)
    api_job = token_client(user).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["type"] == "job.succeeded"
    assert body["data"] == api_job
    assert body["data"]["stems"] and body["data"]["download_url"]
    assert event.headers["webhook-id"].startswith("msg_")
    assert event.headers["content-type"] == "application/json"
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 1


def test_failure_cancellation_and_expiry_are_told_once_each(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        endpoint = endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            failing = running_job(user)
            lifecycle.job_fail(job=failing, message="The file could not be read.")
            lifecycle.job_fail(job=failing, message="again: no second event")
            cancelled = running_job(user, original_filename="Other.wav")
            lifecycle.job_delete(job=cancelled)  # cancel, then the row goes
            done = finished_job(user)
            Job.objects.filter(pk=done.pk).update(expires_at=timezone.now())
            lifecycle.jobs_purge_expired()
        deliver()
    events = {
        body["type"]: body["data"]
        for body in (event.verified(endpoint.secret) for event in receiver.received)
    }
    assert sorted(events) == sorted(ALL_EVENTS)
    assert len(receiver.received) == 4
    assert events["job.failed"]["error"] == "The file could not be read."
    assert events["job.cancelled"]["status"] == "cancelled"
    assert events["job.cancelled"]["filename"] == "Other.wav"
    assert events["job.expired"]["expired"] is True
    assert events["job.expired"]["download_url"] is None


def test_an_endpoint_gets_only_the_events_it_asked_for(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        endpoint_for(user, receiver.url, events=["job.failed"])
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
    assert receiver.received == []
    assert not Message.objects.exists()  # nobody listened: nothing kept


def test_another_persons_job_is_never_sent_to_my_endpoint(
    deliver, user, other_user, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(other_user)
        deliver()
    assert receiver.received == []


def test_a_500_then_200_gets_the_same_event_again(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving(answers=[500, 200]) as receiver:
        endpoint = endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    second.verified(endpoint.secret)  # signed afresh, with its own timestamp
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2
    log = [(a.number, a.status_code) for a in delivery.attempt_log.order_by("number")]
    assert log == [(1, 500), (2, 200)]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None  # a success ends the run of failures


def test_other_4xx_answers_are_not_retried(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving(answers=[410]) as receiver:
        endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
    assert len(receiver.received) == 1
    assert Delivery.objects.get().status == Delivery.Status.FAILED


def test_retry_after_is_honoured_and_the_cron_sends_it_when_due(
    deliver, user, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_DELAYS = [5, 300]
    answers = {503: {"Retry-After": "600"}}
    with receiving(answers=[503, 200], headers=answers) as receiver:
        endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
        delivery = Delivery.objects.get()
        tried_at = delivery.attempt_log.get().at
        wait = (delivery.next_attempt_at - tried_at).total_seconds()
        assert delivery.status == Delivery.Status.PENDING
        assert 599 <= wait <= 601  # Retry-After's 600 s, not the schedule's 5
        assert sending.deliveries_due_enqueue() == 0  # not due yet
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert sending.deliveries_due_enqueue() == 1
        assert sending.deliveries_due_enqueue() == 0  # queued once
        deliver()
    assert len(receiver.received) == 2
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_backoff_grows_with_jitter_and_stops_after_the_window(user, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_RETRY_DELAYS = [5, 300, 1800]
    answer = transport.Answer(status_code=502, duration_ms=3)
    delivery = Delivery(created_at=timezone.now(), attempts=1)
    first = sending._next_delay(delivery, answer)
    delivery.attempts = 2
    second = sending._next_delay(delivery, answer)
    assert first is not None and 4 <= first <= 6
    assert second is not None and 240 <= second <= 360
    delivery.attempts = 4
    assert sending._next_delay(delivery, answer) is None  # schedule spent
    delivery = Delivery(created_at=timezone.now() - timedelta(hours=25), attempts=1)
    assert sending._next_delay(delivery, answer) is None  # 24 hours spent


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_owner_told(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving(answers=[503]) as receiver:
        endpoint = endpoint_for(user, receiver.url)
        Endpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(hours=24, minutes=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
        endpoint.refresh_from_db()
        assert not endpoint.enabled
        assert "failed for 24 hours" in endpoint.disabled_reason
        assert len(receiver.received) == 1  # the attempt that found it dead
        assert Delivery.objects.get().status == Delivery.Status.FAILED
        [message] = mail.outbox
        assert message.to == [user.email]
        assert receiver.url in message.body
        # Disabled: new events no longer go there.
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
        assert len(receiver.received) == 1


def test_during_a_rotation_both_secrets_sign(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        endpoint = endpoint_for(user, receiver.url)
        old = endpoint.secret
        new = services.endpoint_secret_rotate(endpoint=endpoint)
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
        Endpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_until=timezone.now() - timedelta(seconds=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.test_event_send(endpoint=Endpoint.objects.get(pk=endpoint.pk))
        deliver()
    during, after = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    during.verified(old)
    during.verified(new)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    after.verified(new)
    with pytest.raises(Exception, match="No matching signature"):
        after.verified(old)


def test_a_jobs_own_webhook_url_is_signed_with_the_callback_secret(
    deliver, user, settings, wav, live_stemworker, django_capture_on_commit_callbacks
):
    client = token_client(user)
    with receiving() as receiver:
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(
                "/api/v1/jobs/",
                {"file": upload(wav), "model": "htdemucs", "webhook_url": receiver.url},
                format="multipart",
            )
        assert answer.status_code == 201, answer.json()
        [job] = answer.json()
        assert job["webhook_url"] == receiver.url
        with django_capture_on_commit_callbacks(execute=True):
            run_queue()
        deliver()
    secret = client.get("/api/v1/webhooks/callback-secret/").json()["secret"]
    [event] = receiver.received
    body = event.verified(secret)
    assert body["type"] == "job.succeeded" and body["data"]["id"] == job["id"]


def test_a_webhook_url_that_is_also_an_endpoint_gets_each_event_once(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user, webhook_url=receiver.url)
        deliver()
    assert len(receiver.received) == 1


def test_a_bad_webhook_url_is_refused_before_anything_is_charged(user, wav) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    credits = client.get("/api/v1/me/").json()["credits"]
    for url in ("ftp://example.com/hook", "https://", "javascript:alert(1)"):
        answer = client.post(
            "/api/v1/jobs/",
            {"file": upload(wav), "model": "htdemucs", "webhook_url": url},
            format="multipart",
        )
        assert answer.status_code == 400, url
        assert answer.json()["code"] == "invalid_webhook_url"
    assert client.get("/api/v1/me/").json()["credits"] == credits
    assert not Job.objects.exists()


def test_resend_sends_the_same_event_again(
    deliver, user, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        endpoint = endpoint_for(user, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            finished_job(user)
        deliver()
        with django_capture_on_commit_callbacks(execute=True):
            services.delivery_resend(delivery=Delivery.objects.get())
        deliver()
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert again.verified(endpoint.secret)["type"] == "job.succeeded"


def test_the_log_keeps_the_last_100_attempts(
    deliver, user, monkeypatch, django_capture_on_commit_callbacks
):
    with receiving() as receiver:
        endpoint = endpoint_for(user, receiver.url)
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                services.test_event_send(endpoint=endpoint)
        deliver()
    assert endpoint.attempts.count() == 3
    monkeypatch.setattr(sending, "LOG_LENGTH", 2)
    with receiving() as receiver:
        Endpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)
        endpoint.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            services.test_event_send(endpoint=endpoint)
        deliver()
    assert endpoint.attempts.count() == 2  # the oldest went


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_hangs_does_not_delay_the_next_job(
    user, wav, settings, live_stemworker
):
    """Job 1's event is held open by its receiver; job 2 is separated and
    finished meanwhile, because deliveries run on workers of their own."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 300  # held until released, however slow job 2
    with receiving(hold=True) as receiver:
        endpoint_for(user, receiver.url)
        [first] = submit(user, upload(wav, "one.wav"))
        run_queue()
        delivery = Delivery.objects.get()
        held = threading.Thread(
            target=sending.delivery_attempt, kwargs={"delivery_id": str(delivery.pk)}
        )
        held.start()
        assert receiver.arrived.wait(timeout=60)
        [second] = submit(user, upload(wav, "two.wav"))
        run_queue()
        second.refresh_from_db()
        assert second.status == Job.Status.SUCCEEDED
        assert not receiver.released.is_set() and held.is_alive()
        receiver.released.set()
        held.join(timeout=60)
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 1
    assert {m.subject_id for m in Message.objects.all()} == {first.pk, second.pk}
