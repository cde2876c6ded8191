"""A succeeded job's tempo and key are detected once, by an RQ task after the
success (never while the job waits), and the API and the job page show them."""

import django_rq
import pytest
from rq.worker import SimpleWorker

from jobs import storage
from jobs.models import Job
from jobs.runner.collect import job_collect
from jobs.runner.tempo_and_key import job_tempo_and_key_detect
from tests.helpers.api import token_client
from tests.helpers.music import SongSpec, song_stems, stems_write

pytestmark = pytest.mark.django_db


def running_job(user) -> Job:  # type: ignore[no-untyped-def]
    return Job.objects.create(
        user=user,
        status=Job.Status.RUNNING,
        original_filename="Groove.wav",
        input_extension="wav",
        model="htdemucs",
        output_format="mp3",
        duration_seconds=24.0,
    )


def test_a_succeeded_job_gets_its_tempo_and_key_from_a_task(
    client, user, django_capture_on_commit_callbacks
):
    job = running_job(user)
    spec = SongSpec(124, "D", "minor", ("i", "iv", "V", "i"), "rock", seed=11)
    stems = stems_write(storage.work_dir(str(job.pk)), song_stems(spec))
    with django_capture_on_commit_callbacks(execute=True):
        assert job_collect(job=job, stems=stems)
    api = token_client(user)
    assert api.get(f"/api/v1/jobs/{job.pk}/").json()["bpm"] is None  # not yet
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
    body = api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["bpm"] == pytest.approx(124, rel=0.02)  # from the encoded mp3s
    assert body["key"] == "D minor"
    assert 0 < body["bpm_confidence"] <= 1 and 0 < body["key_confidence"] <= 1
    client.force_login(user)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "124 BPM" in page and "D minor" in page


def test_a_job_that_is_not_succeeded_is_left_alone(user) -> None:  # type: ignore[no-untyped-def]
    job = running_job(user)
    assert not job_tempo_and_key_detect(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.bpm is None and job.key == ""
