"""Helpers shared by test modules (fixtures live in conftest.py)."""

from django.conf import settings

from jobs import services
from jobs.models import Job
from tests.audio import write_song


def finished_job(user, stems=("vocals", "no_vocals"), **fields) -> Job:  # type: ignore[no-untyped-def]
    """A job taken through admission-free creation and the real success path,
    with real stem files on the shared volume."""
    values = {
        "original_filename": "Song.wav",
        "input_extension": "wav",
        "model": "htdemucs",
        "two_stems": "vocals",
        "output_format": "wav",
        "duration_seconds": 1.0,
        **fields,
    }
    job = Job.objects.create(user=user, status=Job.Status.RUNNING, **values)
    work = settings.SHARED_ROOT / "work" / str(job.pk)
    work.mkdir(parents=True)
    paths = [(name, write_song(work / f"{name}.wav", seconds=1.0)) for name in stems]
    assert services.job_mark_succeeded(job=job, stems=paths)
    job.refresh_from_db()
    return job
