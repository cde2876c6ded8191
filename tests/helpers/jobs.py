"""Jobs for the tests: admitted through the real services, run by a real RQ
worker, finished through the real success path."""

from pathlib import Path
from typing import Any

import django_rq
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rq.worker import SimpleWorker

from jobs import storage
from jobs.intake.admission import jobs_submit
from jobs.models import Job
from jobs.runner.collect import job_collect
from tests.helpers.audio import write_song

# What the test stemworker offers (tiny models under the real names).
STEMWORKER_MODELS = "htdemucs,htdemucs_ft,htdemucs_6s,mdx_extra"


def upload(content: bytes, name: str = "My Song.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="audio/wav")


def submit(user: Any, *uploads: SimpleUploadedFile, **options: Any) -> list[Job]:
    """Admit these uploads as the site and the API do (htdemucs unless told)."""
    options.setdefault("model", "htdemucs")
    return jobs_submit(user=user, uploads=list(uploads), **options)


def finished_job(user, stems=("vocals", "no_vocals"), seconds=1.0, **fields) -> Job:  # type: ignore[no-untyped-def]
    """A job taken through admission-free creation and the real success path,
    with real stem files (`seconds` long) on the shared storage."""
    values = {
        "original_filename": "Song.wav",
        "input_extension": "wav",
        "model": "htdemucs",
        "two_stems": "vocals",
        "output_format": "wav",
        "duration_seconds": seconds,
        **fields,
    }
    job = Job.objects.create(user=user, status=Job.Status.RUNNING, **values)
    work = storage.work_dir(str(job.pk))
    work.mkdir(parents=True)
    paths = [
        (name, write_song(work / f"{name}.wav", seconds=seconds)) for name in stems
    ]
    assert job_collect(job=job, stems=paths)
    storage.scratch_clean(job)  # as the pipeline does once the job has ended
    job.refresh_from_db()
    return job


def local_files() -> list[Path]:
    """Every file on this process's SHARED_ROOT (on s3: the web's scratch)."""
    return sorted(p for p in Path(settings.SHARED_ROOT).rglob("*") if p.is_file())


def run_queue() -> None:
    """Run every queued separation with a real RQ worker, in this process."""
    django_rq.get_worker("stems", worker_class=SimpleWorker).work(burst=True)
