"""Tempo and key of a succeeded job, detected once from its stems (an RQ task
after success: never on the job's path)."""

import contextlib
import logging
import time

from jobs.analysis import song_analyse
from jobs.models import Job
from jobs.store import store

logger = logging.getLogger(__name__)


def job_tempo_and_key_detect(*, job_id: str) -> bool:
    """Detect and record the job's tempo and key. False when the job is gone,
    not succeeded, purged, or the detection failed (the fields stay null)."""
    job = Job.objects.filter(
        pk=job_id, status=Job.Status.SUCCEEDED, files_purged_at=None
    ).first()
    if job is None:
        return False
    started = time.monotonic()
    try:
        with contextlib.ExitStack() as copies:
            files = store()
            stems = [
                (stem.name, copies.enter_context(files.local_copy(stem.relative_path)))
                for stem in job.stems.defer("peaks")
            ]
            analysis = song_analyse(stems)
    except Exception:
        logger.exception("job %s: tempo and key detection failed", job.pk)
        return False
    logger.info(
        "job %s: tempo %s, key %s, detected in %.2f s",
        job.pk,
        analysis.bpm,
        analysis.key,
        time.monotonic() - started,
    )
    return bool(
        Job.objects.filter(pk=job.pk, status=Job.Status.SUCCEEDED).update(
            bpm=analysis.bpm,
            bpm_confidence=analysis.bpm_confidence,
            key=analysis.key or "",
            key_confidence=analysis.key_confidence,
        )
    )
