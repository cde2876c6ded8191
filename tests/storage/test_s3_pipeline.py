"""The whole product on STORAGE_BACKEND=s3: a real S3-compatible server over
HTTP (moto's), the real RQ worker, stemworker and demucs CLI. Uploads end up in
the bucket, stems are stored there and downloaded through presigned URLs, and
the scratch folder (SHARED_ROOT) keeps nothing once a job has ended; expiry,
account closing and every refusal leave no object behind."""

import io
import zipfile
from datetime import timedelta

import django_rq
import httpx
import pytest
import soundfile as sf
from django.urls import reverse
from django.utils import timezone
from rq.worker import SimpleWorker

from billing.services import account_for_user, ledger_mismatches
from closure.services import account_close
from jobs import lifecycle, messages, storage
from jobs.models import Job
from jobs.runner.tempo_and_key import job_tempo_and_key_detect
from tests.helpers.api import token_client
from tests.helpers.audio import write_song
from tests.helpers.jobs import finished_job, local_files, run_queue

pytestmark = pytest.mark.django_db

SECONDS = 5.0
FOUR = ["bass", "drums", "other", "vocals"]


def upload(client, tmp_path, *, content: bytes | None = None, **options) -> object:
    if content is None:
        content = write_song(tmp_path / "input.wav", seconds=SECONDS).read_bytes()
    song = io.BytesIO(content)
    song.name = "Demo Song.wav"
    data = {"model": "htdemucs", "two_stems": "", "output_format": "mp3", **options}
    return client.post(reverse("jobs:upload"), {**data, "songs": [song]})


def presigned(response) -> httpx.Response:  # type: ignore[no-untyped-def]
    """Follow our redirect as a browser does: to the bucket, without our cookies."""
    assert response.status_code == 302, response.content[:300]
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200
    return fetched


def test_a_song_goes_through_the_bucket_and_leaves_no_local_file(
    client,
    user,
    tmp_path,
    live_stemworker,
    s3_bucket,
    s3_server,
    django_capture_on_commit_callbacks,
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = upload(client, tmp_path)
    assert answer.status_code == 302
    job = Job.objects.get()
    # The decode is in the bucket, not on this host.
    assert s3_server.keys(s3_bucket) == [f"uploads/{job.pk}/input.wav"]
    assert local_files() == []

    run_queue()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (job.error, job.error_log[-2000:])
    stems = {stem.name: stem for stem in job.stems.all()}
    assert sorted(stems) == FOUR
    assert s3_server.keys(s3_bucket) == sorted(
        f"outputs/{job.pk}/{name}.mp3" for name in FOUR
    )
    assert local_files() == []  # the worker's scratch is empty again
    assert account_for_user(user).balance == 2

    download = presigned(client.get(reverse("jobs:stem", args=[job.pk, "vocals"])))
    assert download.headers["content-type"] == "audio/mpeg"
    disposition = download.headers["content-disposition"]
    assert (
        disposition.startswith("attachment") and "Demo Song - vocals.mp3" in disposition
    )
    assert len(download.content) == stems["vocals"].size_bytes
    (tmp_path / "vocals.mp3").write_bytes(download.content)
    info = sf.info(str(tmp_path / "vocals.mp3"))
    assert abs(info.frames / info.samplerate - SECONDS) < 0.1 and info.channels == 2

    # What the player streams: inline, with Range.
    inline = client.get(reverse("jobs:stem", args=[job.pk, "drums"]) + "?inline=1")
    assert inline.status_code == 302
    part = httpx.get(inline["Location"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert (
        httpx.get(inline["Location"])
        .headers["content-disposition"]
        .startswith("inline")
    )

    archive = presigned(client.get(reverse("jobs:zip", args=[job.pk])))
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert sorted(names) == sorted(f"Demo Song - {name}.mp3" for name in FOUR)
    assert f"outputs/{job.pk}/stems.zip" in s3_server.keys(s3_bucket)
    assert local_files() == []  # the zip was built in scratch, then stored

    # Tempo and key read the stems from the bucket too.
    assert job_tempo_and_key_detect(job_id=str(job.pk))
    assert local_files() == []

    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(1))
    assert lifecycle.jobs_purge_expired() == 1
    assert s3_server.keys(s3_bucket) == []
    assert client.get(reverse("jobs:stem", args=[job.pk, "vocals"])).status_code == 410


def test_an_upload_refused_for_its_audio_or_for_credits_stores_nothing(
    client, user, tmp_path, s3_bucket, s3_server, django_capture_on_commit_callbacks
):
    client.force_login(user)
    answer = upload(client, tmp_path, content=b"RIFF\x00\x00\x00\x00WAVEnot audio")
    assert answer.status_code == 400
    account = account_for_user(user)
    account.balance = 0
    account.save(update_fields=["balance"])
    with django_capture_on_commit_callbacks(execute=True):
        refused = upload(client, tmp_path)
    assert refused.status_code in (400, 402)
    assert Job.objects.count() == 0
    assert s3_server.keys(s3_bucket) == []
    assert local_files() == []


@pytest.fixture
def admitted(client, user, tmp_path, s3_bucket, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """A job admitted through the dashboard, its input in the bucket."""
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tmp_path)
    return Job.objects.get()


def test_an_input_lost_from_the_bucket_fails_the_job_with_its_credit_back(
    admitted, user, live_stemworker, s3_bucket, s3_server
):
    job = admitted
    s3_server.client().delete_object(Bucket=s3_bucket, Key=storage.canonical_key(job))
    run_queue()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error == messages.INPUT_LOST
    assert account_for_user(user).balance == 3 and not ledger_mismatches()
    assert s3_server.keys(s3_bucket) == [] and local_files() == []


def test_a_corrupted_input_fails_readably_and_leaves_no_object(
    admitted, user, live_stemworker, s3_bucket, s3_server
):
    job = admitted
    s3_server.client().put_object(
        Bucket=s3_bucket,
        Key=storage.canonical_key(job),
        Body=b"RIFF\x00\x00\x00\x00WAVEgarbage" * 100,
    )
    run_queue()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "could not be read as audio" in job.error
    assert account_for_user(user).balance == 3
    assert s3_server.keys(s3_bucket) == [] and local_files() == []


def test_closing_an_account_deletes_its_objects(user, s3_bucket, s3_server):
    job = finished_job(user, stems=("vocals", "no_vocals"))
    assert s3_server.keys(s3_bucket) == sorted(
        f"outputs/{job.pk}/{name}.wav" for name in ("no_vocals", "vocals")
    )
    account_close(user=user)
    assert s3_server.keys(s3_bucket) == []


def test_a_mix_is_rendered_from_the_bucket_and_stored_there(
    user, tmp_path, s3_bucket, s3_server, django_capture_on_commit_callbacks
):
    job = finished_job(
        user,
        stems=("vocals", "drums", "bass", "other"),
        two_stems="",
        output_format="wav",
    )
    client = token_client(user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/api/v1/jobs/{job.pk}/mixes/", {"preset": "without_vocals"}, format="json"
        )
    assert answer.status_code == 202
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
    ready = client.get(answer.json()["url"]).json()
    assert ready["status"] == "succeeded", ready
    assert f"outputs/{job.pk}/mixes/{ready['id']}.wav" in s3_server.keys(s3_bucket)
    fetched = presigned(client.get(ready["download_url"]))
    assert "without vocals" in fetched.headers["content-disposition"]
    path = tmp_path / "mix.wav"
    path.write_bytes(fetched.content)
    info = sf.info(str(path))
    assert info.channels == 2 and abs(info.duration - 1.0) < 0.02
    assert local_files() == []


def test_the_sweeper_removes_objects_no_job_needs(user, s3_bucket, s3_server):
    job = finished_job(user, stems=("vocals", "no_vocals"))
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="uploads/gone-job/input.wav", Body=b"x")
    client.put_object(Bucket=s3_bucket, Key="outputs/gone-job/vocals.mp3", Body=b"x")
    later = timezone.now().timestamp() + storage.SWEEP_GRACE_SECONDS + 60
    assert storage.shared_volume_sweep(now=later) >= 2  # and local leftovers
    assert s3_server.keys(s3_bucket) == sorted(
        f"outputs/{job.pk}/{name}.wav" for name in ("no_vocals", "vocals")
    )


def test_the_landing_page_demo_is_stored_and_served_from_the_bucket(
    client, live_stemworker, s3_bucket, s3_server
):
    from django.core.management import call_command

    from cms.models import SampleSong

    call_command("load_demo_content", wait=30)
    song = SampleSong.objects.get()
    assert song.status == SampleSong.Status.READY, song.error
    keys = s3_server.keys(s3_bucket)
    assert sorted(track.relative_path for track in song.tracks.all()) == keys
    assert len(keys) == 1 + 2 + 6 and all(
        k.startswith(f"demo/{song.pk}/") for k in keys
    )
    assert local_files() == []
    mix = song.tracks.get(stem_set="original")
    answer = client.get(f"/demo/audio/{mix.pk}/")
    assert answer.status_code == 302
    part = httpx.get(answer["Location"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-disposition"].startswith("inline")
