"""The shared volume: the disk budget refuses uploads before reading them, and
the sweeper removes what no job needs."""

import os
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from billing.services import account_for_user
from jobs import storage
from jobs.models import Job
from tests.helpers.audio import song_bytes
from tests.helpers.jobs import finished_job
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_volume(settings):  # type: ignore[no-untyped-def]
    """Any fill level is over a budget of 0%."""
    settings.SHARED_VOLUME_MAX_FILL_PERCENT = 0


def test_the_api_refuses_uploads_while_the_volume_is_full(
    api_client, user, tmp_path, full_volume
):
    audio = tmp_path / "song.wav"
    audio.write_bytes(song_bytes(tmp_path, seconds=1.0))
    with audio.open("rb") as handle:
        response = api_client.post(
            "/api/v1/jobs/", {"file": handle, "model": "htdemucs"}, format="multipart"
        )
    assert response.status_code == 503
    assert response.json()["code"] == "storage_full"
    assert "Nothing was charged" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    assert account_for_user(user).balance == 3
    assert not Job.objects.exists()
    assert shared_files() == []


def test_the_site_refuses_uploads_while_the_volume_is_full(
    client, user, tmp_path, full_volume
):
    client.force_login(user)
    audio = tmp_path / "song.wav"
    audio.write_bytes(song_bytes(tmp_path, seconds=1.0))
    with audio.open("rb") as handle:
        response = client.post(
            reverse("jobs:upload"), {"songs": [handle], "model": "htdemucs"}
        )
    assert response.status_code == 503
    assert "short of storage space" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_the_fill_level_is_measured_on_the_shared_volume():
    assert 0 < storage.shared_volume_fill_percent() < 100


def _folder(*parts: str, files: int = 1) -> Path:
    folder = Path(settings.SHARED_ROOT, *parts)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        (folder / f"file{n}").write_bytes(b"x")
    return folder


# The bucket's sweep: tests/storage/test_s3_pipeline.py.
@pytest.mark.filesystem_only
def test_the_sweeper_keeps_what_jobs_need_and_removes_the_rest(user):
    active = Job.objects.create(user=user, original_filename="a.wav", model="htdemucs")
    done = finished_job(user)
    purged = finished_job(user)
    Job.objects.filter(pk=purged.pk).update(files_purged_at=timezone.now())
    failed = Job.objects.create(
        user=user, original_filename="f.wav", model="htdemucs", status="failed"
    )
    keep = [
        _folder("uploads", str(active.pk)),
        _folder("work", str(active.pk)),
        storage.output_dir(done),
    ]
    orphans = [
        _folder("uploads", str(failed.pk)),
        _folder("uploads", str(uuid.uuid4())),
        _folder("work", str(failed.pk)),
        _folder("work", "not-a-job"),
        _folder("outputs", str(purged.pk)),
        _folder("outputs", str(uuid.uuid4())),
        # finished_job leaves its (empty) work folders, as a crash would
        Path(settings.SHARED_ROOT, "work", str(done.pk)),
        Path(settings.SHARED_ROOT, "work", str(purged.pk)),
    ]
    stale_upload = Path(settings.SHARED_ROOT, "tmp", "abandoned.upload")
    stale_upload.write_bytes(b"half a song")
    later = time.time() + storage.STALE_UPLOAD_SECONDS + 1
    # Too young to judge: its job's admission may not have committed yet.
    young = _folder("uploads", str(uuid.uuid4()))
    os.utime(young, (later, later))

    assert storage.shared_volume_sweep(now=later) == len(orphans) + 1

    assert all(path.exists() for path in [*keep, young])
    assert not any(path.exists() for path in [*orphans, stale_upload])
    assert storage.shared_volume_sweep(now=later) == 0
