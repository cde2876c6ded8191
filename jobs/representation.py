"""The `job` of the API contract (ARCHITECTURE 4), the one JSON shape of a job.

The API, the dashboard's polling and the webhook events all answer with it,
so they never drift. Below the lifecycle, which publishes it with each event.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from jobs import estimates, selectors
from jobs.models import Job

API_JOBS_PATH = "/api/v1/jobs/"


def iso_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as DRF writes it (TIME_ZONE is UTC)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def job_representation(
    job: Job,
    *,
    stems: Sequence[tuple[str, int]],
    jobs_url: str,
    estimate: estimates.Estimate | None = None,
) -> dict[str, Any]:
    """The `job` body: `stems` are its (name, size) pairs, `jobs_url` the
    absolute URL of the API's job list (links are built from it), `estimate`
    its place in line and times while active."""
    # Built by hand, not field by field: a page of 100 jobs with their stems is
    # the API's most frequent answer, and DRF's per-field path, model instances
    # for every stem and an absolute URL built per stem were most of its cost.
    job_url = f"{jobs_url}{job.pk}/"
    downloadable = job.downloadable
    return {
        "id": str(job.pk),
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "queue_position": estimate.queue_position if estimate else None,
        "estimated_start": iso_time(estimate.start) if estimate else None,
        "estimated_finish": iso_time(estimate.finish) if estimate else None,
        "model": job.model,
        "two_stems": job.two_stems or None,
        "output_format": job.output_format,
        "filename": job.original_filename,
        "duration_seconds": job.duration_seconds,
        "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at),
        "finished_at": iso_time(job.finished_at),
        "expires_at": iso_time(job.expires_at),
        "expired": job.expired,
        "error": job.error or None,
        "stems": [
            {
                "name": name,
                "url": f"{job_url}stems/{name}/" if downloadable else None,
                "size": size,
            }
            for name, size in stems
        ],
        "download_url": f"{job_url}download/" if downloadable else None,
        "webhook_url": job.webhook_url or None,
        "bpm": job.bpm,
        "bpm_confidence": job.bpm_confidence,
        "key": job.key or None,
        "key_confidence": job.key_confidence,
    }


StemsByJob = dict[uuid.UUID, list[tuple[str, int]]]
Times = dict[str, estimates.Estimate]


def jobs_representation(
    jobs: Sequence[Job],
    *,
    base_url: str,
    stems: StemsByJob | None = None,
    times: Times | None = None,
) -> list[dict[str, Any]]:
    """`job_representation` of each job, their stems read in one query.

    `base_url` is the site's scheme and host (request.build_absolute_uri("/"));
    `stems` and `times`, when the caller has read them already (the dashboard's
    poll shares them with its rows).
    """
    if stems is None:
        stems = selectors.stems_by_job(jobs)
    if times is None:
        times = estimates.estimates(jobs)
    jobs_url = base_url.rstrip("/") + API_JOBS_PATH
    return [
        job_representation(
            job,
            stems=stems.get(job.pk, ()),
            jobs_url=jobs_url,
            estimate=times.get(str(job.pk)),
        )
        for job in jobs
    ]
