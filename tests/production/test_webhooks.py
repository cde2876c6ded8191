"""Webhooks on the production topology: compose's `webhooks` workers and cron
deliver signed events for each job to a receiver, as a developer would see."""

from typing import Any

import pytest

from devtools.audio import write_song
from tests.helpers.browser import wait_for
from tests.helpers.production import wait_for_job
from tests.helpers.webhook_receiver import receiving

pytestmark = pytest.mark.timeout(600)


def test_each_job_sends_its_signed_event_and_retries_reach_a_receiver(
    production, make_people, tmp_path
):
    [person] = make_people(1)
    song = write_song(tmp_path / "song.wav", 2.0)
    # 503 first: the second attempt comes from the cron's due sweep.
    with (
        receiving(answers=[503, 200]) as receiver,
        production.client(headers=person.auth) as client,
    ):
        registered = client.post(
            "/api/v1/webhooks/",
            json={"url": receiver.url, "events": ["job.succeeded", "job.cancelled"]},
        )
        assert registered.status_code == 201, registered.text
        secret = registered.json()["secret"]
        with song.open("rb") as file:
            created = client.post(
                "/api/v1/jobs/",
                data={
                    "model": "htdemucs",
                    "two_stems": "vocals",
                    "output_format": "wav",
                },
                files={"file": ("First.wav", file, "audio/wav")},
            )
        assert created.status_code == 201, created.text
        job = wait_for_job(client, f"/api/v1/jobs/{created.json()[0]['id']}/")
        assert job["status"] == "succeeded", job
        wait_for(lambda: len(receiver.received) >= 2, timeout=120)
        first, second = receiver.received[:2]
        event: dict[str, Any] = second.verified(secret)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert event["type"] == "job.succeeded"
        assert event["data"]["id"] == job["id"]
        assert event["data"]["stems"] == job["stems"]
        log = client.get(f"/api/v1/webhooks/{registered.json()['id']}/deliveries/")
        assert [a["status_code"] for a in log.json()] == [200, 503]
