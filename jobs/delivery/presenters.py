"""What people and programs see of a job: its one JSON shape, and the players.

`job_representation` is the `job` of the API contract (ARCHITECTURE 4); the
API and the dashboard's polling both answer with it, so the two never drift.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.urls import reverse

from jobs import catalog, selectors
from jobs.models import Job

API_JOBS_PATH = "/api/v1/jobs/"


def _when(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as DRF writes it (TIME_ZONE is UTC)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def job_representation(
    job: Job, *, stems: Sequence[tuple[str, int]], jobs_url: str
) -> dict[str, Any]:
    """The `job` body: `stems` are its (name, size) pairs, `jobs_url` the
    absolute URL of the API's job list (links are built from it)."""
    # Built by hand, not field by field: a page of 100 jobs with their stems is
    # the API's most frequent answer, and DRF's per-field path, model instances
    # for every stem and an absolute URL built per stem were most of its cost.
    job_url = f"{jobs_url}{job.pk}/"
    downloadable = job.downloadable
    return {
        "id": str(job.pk),
        "status": job.status,
        "progress": job.progress,
        "model": job.model,
        "two_stems": job.two_stems or None,
        "output_format": job.output_format,
        "filename": job.original_filename,
        "duration_seconds": job.duration_seconds,
        "created_at": _when(job.created_at),
        "started_at": _when(job.started_at),
        "finished_at": _when(job.finished_at),
        "expires_at": _when(job.expires_at),
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
    }


def jobs_representation(jobs: Sequence[Job], *, base_url: str) -> list[dict[str, Any]]:
    """`job_representation` of each job, their stems read in one query.

    `base_url` is the site's scheme and host (request.build_absolute_uri("/")).
    """
    stems: dict[uuid.UUID, list[tuple[str, int]]] = selectors.stems_by_job(jobs)
    jobs_url = base_url.rstrip("/") + API_JOBS_PATH
    return [
        job_representation(job, stems=stems.get(job.pk, ()), jobs_url=jobs_url)
        for job in jobs
    ]


STEM_LABELS = {"other": "Other", "no_vocals": "Everything else"}


def stem_label(name: str) -> str:
    """ "no_drums" -> "Everything but drums", "vocals" -> "Vocals"."""
    if name in STEM_LABELS:
        return STEM_LABELS[name]
    if name.startswith("no_"):
        return f"Everything but {name[3:].replace('_', ' ')}"
    return name.replace("_", " ").capitalize()


def duration_label(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def player_context(
    *,
    player_id: str,
    label: str,
    stems: list[dict[str, Any]],
    duration: float,
    disabled: bool = False,
    downloads: bool = False,
) -> dict[str, Any]:
    """What templates/includes/player.html and static/js/player.js need."""
    return {
        "id": player_id,
        "data_id": f"{player_id}-data",
        "label": label,
        "duration": duration,
        "duration_label": duration_label(duration),
        "disabled": disabled,
        "downloads": downloads,
        "stems": stems,
        "data": {
            "duration": duration,
            "stems": [{"name": s["name"], "peaks": s["peaks"]} for s in stems],
        },
    }


def job_player(job: Job) -> dict[str, Any]:
    """The job page's player: every stem, grayed out once the stems expired."""
    stems = sorted(job.stems.all(), key=lambda stem: catalog.stem_sort_key(stem.name))
    durations = [s.duration_seconds for s in stems if s.duration_seconds]
    duration = max(durations) if durations else (job.duration_seconds or 0.0)
    return player_context(
        player_id=f"job-{job.pk}",
        label=f"Stems of {job.original_filename}",
        duration=duration,
        disabled=not job.downloadable,
        downloads=True,
        stems=[
            {
                "name": stem.name,
                "label": stem_label(stem.name),
                "url": reverse("jobs:stem", args=[job.pk, stem.name]) + "?inline=1",
                "download_url": reverse("jobs:stem", args=[job.pk, stem.name]),
                "size": stem.size_bytes,
                "peaks": stem.peaks,
            }
            for stem in stems
        ],
    )
