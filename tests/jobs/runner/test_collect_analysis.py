"""Collecting a separation detects its tempo and key once, beside the encoding,
and the API, the job page and the webhook event show them."""

import pytest

from jobs import storage
from jobs.models import Job
from jobs.runner.collect import job_collect
from tests.helpers.api import token_client
from tests.helpers.music import SongSpec, song_stems, stems_write

pytestmark = pytest.mark.django_db


def test_a_collected_job_carries_its_tempo_and_key(client, user) -> None:  # type: ignore[no-untyped-def]
    job = Job.objects.create(
        user=user,
        status=Job.Status.RUNNING,
        original_filename="Groove.wav",
        input_extension="wav",
        model="htdemucs",
        output_format="mp3",
        duration_seconds=24.0,
    )
    spec = SongSpec(124, "D", "minor", ("i", "iv", "V", "i"), "rock", seed=11)
    stems = stems_write(storage.work_dir(str(job.pk)), song_stems(spec))
    assert job_collect(job=job, stems=stems)
    body = token_client(user).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["bpm"] == pytest.approx(124, rel=0.02)
    assert body["key"] == "D minor"
    assert 0 < body["bpm_confidence"] <= 1 and 0 < body["key_confidence"] <= 1
    client.force_login(user)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "124 BPM" in page and "D minor" in page
