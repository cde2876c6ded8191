"""Mixes through the API, end to end: a real RQ worker renders from real stems.

POST /api/v1/jobs/<id>/mixes/ checks everything before queueing; the same
parameters give the same mix, rendered once; the file goes with the job's.
"""

import io
from datetime import timedelta

import django_rq
import pytest
import soundfile
from django.utils import timezone
from rq.worker import SimpleWorker

from billing.services import account_for_user
from jobs import lifecycle
from jobs.models import Job
from mixes.models import Mix
from tests.helpers.api import token_client
from tests.helpers.jobs import finished_job
from tests.helpers.stored import download, is_stored, shared_files, stored_bytes

pytestmark = pytest.mark.django_db

FOUR = ("vocals", "drums", "bass", "other")


def render_queued() -> None:
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


def post_mix(client, job, body, **headers):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/jobs/{job.pk}/mixes/", body, format="json", **headers)


@pytest.fixture
def four_stems(user):  # type: ignore[no-untyped-def]
    return finished_job(user, stems=FOUR, two_stems="", output_format="wav")


def test_a_minus_one_preset_renders_once_and_downloads(
    user, four_stems, django_capture_on_commit_callbacks
):
    client = token_client(user)
    credits = account_for_user(user).balance
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_mix(client, four_stems, {"preset": "without_vocals"})
    assert answer.status_code == 202, answer.json()
    mix = answer.json()
    assert mix["status"] == "queued" and mix["download_url"] is None
    assert mix["gains"] == {"bass": 1.0, "drums": 1.0, "other": 1.0}
    assert mix["preset"] == "without_vocals"
    render_queued()
    ready = client.get(mix["url"]).json()
    assert ready["status"] == "succeeded" and ready["progress"] == 100
    fetched = download(client, ready["download_url"])
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "audio/wav"
    assert "without vocals" in fetched.headers["Content-Disposition"]
    rendered = Mix.objects.get().relative_path
    assert rendered.startswith(f"outputs/{Mix.objects.get().job_id}/mixes/")
    assert stored_bytes(rendered) == fetched.content
    info = soundfile.info(io.BytesIO(fetched.content))
    assert info.channels == 2 and abs(info.duration - 1.0) < 0.02
    # The same parameters: the same mix, at once, nothing queued again.
    again = post_mix(client, four_stems, {"gains": {"drums": 1, "bass": 1, "other": 1}})
    assert again.status_code == 200 and again.json()["id"] == mix["id"]
    assert django_rq.get_queue("default").count == 0
    assert account_for_user(user).balance == credits  # mixes are free


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"gains": {"vocals": 2.5}}, "gain"),
        ({"gains": {"kazoo": 1}}, "kazoo"),
        ({"gains": {}}, "stem"),
        ({"gains": {"vocals": 0, "drums": 0}}, "stem"),
        ({"gains": {"vocals": 1}, "start": 0.5, "end": 0.2}, "start"),
        ({"gains": {"vocals": 1}, "start": 30}, "song"),
        ({"gains": {"vocals": 1}, "tempo": 2}, "tempo"),
        ({"gains": {"vocals": 1}, "semitones": 9}, "semitone"),
        ({"preset": "without_kazoo"}, "kazoo"),
    ],
)
def test_bad_input_gets_a_clear_400_and_nothing_is_queued(
    user, four_stems, body, words
):  # type: ignore[no-untyped-def]
    answer = post_mix(token_client(user), four_stems, body)
    assert answer.status_code == 400, answer.json()
    assert answer.json()["code"] in ("invalid_mix", "invalid")
    assert words in answer.json()["detail"].lower() + str(
        answer.json().get("errors", "")
    )
    assert not Mix.objects.exists()
    assert django_rq.get_queue("default").count == 0


def test_a_gain_out_of_range_is_the_one_thing_said(user, four_stems) -> None:  # type: ignore[no-untyped-def]
    answer = post_mix(token_client(user), four_stems, {"gains": {"drums": -0.5}})
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "between 0 (muted) and 2" in detail and "Choose" not in detail


def test_an_unfinished_job_is_a_409_and_an_expired_one_a_410(user) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    running = Job.objects.create(
        user=user,
        status=Job.Status.RUNNING,
        original_filename="Later.wav",
        input_extension="wav",
        model="htdemucs",
        duration_seconds=1,
    )
    answer = post_mix(client, running, {"gains": {"vocals": 1}})
    assert answer.status_code == 409 and answer.json()["code"] == "job_not_finished"
    done = finished_job(user)
    lifecycle.jobs_purge_expired(now=timezone.now() + timedelta(days=2))
    answer = post_mix(client, done, {"gains": {"vocals": 1}})
    assert answer.status_code == 410 and answer.json()["code"] == "files_expired"


def test_another_persons_job_and_mixes_are_404(
    user, other_user, four_stems, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mix = post_mix(
            token_client(user), four_stems, {"preset": "without_drums"}
        ).json()
    render_queued()
    stranger = token_client(other_user)
    assert (
        post_mix(stranger, four_stems, {"preset": "without_drums"}).status_code == 404
    )
    assert stranger.get(f"/api/v1/jobs/{four_stems.pk}/mixes/").status_code == 404
    assert stranger.get(mix["url"]).status_code == 404
    assert stranger.get(mix["url"] + "download/").status_code == 404


def test_an_idempotency_key_with_other_parameters_is_a_422(user, four_stems) -> None:  # type: ignore[no-untyped-def]
    client = token_client(user)
    first = post_mix(
        client, four_stems, {"preset": "without_bass"}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = post_mix(
        client, four_stems, {"preset": "without_bass"}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert again.json()["id"] == first.json()["id"]
    other = post_mix(
        client, four_stems, {"preset": "without_drums"}, HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_a_mix_goes_with_the_jobs_files(
    user, four_stems, django_capture_on_commit_callbacks
):
    client = token_client(user)
    with django_capture_on_commit_callbacks(execute=True):
        mix = post_mix(client, four_stems, {"preset": "without_other"}).json()
    render_queued()
    rendered = Mix.objects.get()
    assert rendered.relative_path.startswith(f"outputs/{rendered.job_id}/mixes/")
    assert is_stored(rendered.relative_path)
    lifecycle.jobs_purge_expired(now=timezone.now() + timedelta(days=2))
    gone = client.get(mix["url"]).json()
    assert gone["expired"] is True and gone["download_url"] is None
    refused = client.get(mix["url"] + "download/")
    assert refused.status_code == 410 and refused.json()["code"] == "files_expired"
    assert not is_stored(rendered.relative_path)
    assert shared_files() == []


def test_the_job_page_offers_the_practice_tools(client, user, four_stems) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    page = client.get(f"/jobs/{four_stems.pk}/").content.decode()
    for control in ("data-tempo", "data-loop-a", "data-key", "data-download-mix"):
        assert control in page, control
    for label in ("Without vocals", "Without drums", "Without bass", "Without other"):
        assert label in page, label
    assert f"/api/v1/jobs/{four_stems.pk}/mixes/" in page


def test_a_ready_mix_is_told_to_the_webhooks(
    user, four_stems, settings, django_capture_on_commit_callbacks
):
    from tests.helpers.webhook_receiver import receiving
    from webhooks.services import endpoint_create

    settings.WEBHOOK_ALLOW_PRIVATE = True
    client = token_client(user)
    with receiving() as receiver:
        endpoint = endpoint_create(
            user=user, url=receiver.url, events=["mix.succeeded"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            mix = post_mix(client, four_stems, {"preset": "without_vocals"}).json()
        with django_capture_on_commit_callbacks(execute=True):
            render_queued()
        django_rq.get_worker("webhooks", worker_class=SimpleWorker).work(burst=True)
    [event] = receiver.received
    body = event.verified(endpoint.secret)
    assert body["type"] == "mix.succeeded"
    assert body["data"]["id"] == mix["id"] and body["data"]["status"] == "succeeded"
    assert body["data"]["download_url"].endswith(f"/mixes/{mix['id']}/download/")
