"""What people and programs see of a job: its one JSON shape, and the players.

`job_representation` is the `job` of the API contract (ARCHITECTURE 4); the
API and the dashboard's polling both answer with it, so the two never drift.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.urls import reverse

from jobs import catalog, estimates, selectors
from jobs.models import Job

API_JOBS_PATH = "/api/v1/jobs/"


def _when(value: datetime | None) -> str | None:
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
        "estimated_start": _when(estimate.start) if estimate else None,
        "estimated_finish": _when(estimate.finish) if estimate else None,
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
    full_mix: bool = False,
) -> dict[str, Any]:
    """What templates/includes/player.html and static/js/player.js need;
    `full_mix` adds the A/B row: every stem at full volume, as the song was."""
    return {
        "full_mix": full_mix,
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
        # We keep no original: the stems together, untouched, are the song.
        full_mix=len(stems) > 1,
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


STAGES = [
    ("waiting", "Waiting"),
    ("separating", "Separating"),
    ("encoding", "Encoding"),
    ("ready", "Ready"),
]


def ordinal(number: int) -> str:
    """1 -> "1st", 12 -> "12th", 23 -> "23rd"."""
    if 11 <= number % 100 <= 13:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def about(seconds: float) -> str:
    """A wait in a person's words: "less than a minute", "about 3 min",
    "about 2 h"."""
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {round(minutes / 60)} h"


def job_state_text(
    job: Job, estimate: estimates.Estimate | None, *, now: datetime
) -> str:
    """Where an active job stands, as its page and the job list say it
    (static/js/job-state.js says the same from the API's fields)."""
    if job.stage == "waiting":
        if estimate is None or estimate.queue_position is None:
            return "Waiting for a free slot."
        place = (
            "Next in line"
            if estimate.queue_position == 1
            else f"{ordinal(estimate.queue_position)} in line"
        )
        if estimate.start is not None and estimate.finish is not None:
            starts = (estimate.start - now).total_seconds()
            ready = (estimate.finish - now).total_seconds()
            start_text = "starts in " + about(starts) if starts >= 30 else "starts soon"
            return f"{place}, {start_text}; stems ready in {about(ready)}."
        return f"{place}."
    if job.stage == "separating":
        text = f"Separating: {job.progress}%"
        if estimate is not None and estimate.finish is not None:
            text += f", {about((estimate.finish - now).total_seconds())} left"
        return text + "."
    if job.stage == "encoding":
        return "Encoding the stems: almost ready."
    return ""


def model_label(name: str) -> str:
    """ "Four stems, fast (htdemucs)": for musicians first, engineers second."""
    model = catalog.model_get(name)
    description = model.get("description") if model else ""
    return f"{description} ({name})" if description else name


def _stems_label(job: Job, stems: Sequence[str]) -> str:
    if job.two_stems:
        return f"{stem_label(job.two_stems)} + everything else"
    if not stems:
        model = catalog.model_get(job.model)
        stems = sorted(model["stems"], key=catalog.stem_sort_key) if model else []
    return ", ".join(stem_label(name).lower() for name in stems).capitalize()


def expires_label(job: Job, *, now: datetime) -> str:
    """ "Expires in 23 h", "Expires in 40 min", "Expired: ..."."""
    if job.expired:
        return "Expired: stems deleted after 24 hours"
    if job.expires_at is None:
        return ""
    left = (job.expires_at - now).total_seconds()
    if left >= 3600:
        return f"Expires in {int(left // 3600)} h"
    return f"Expires in {max(1, int(left // 60))} min"


def job_rows(
    jobs: Sequence[Job],
    *,
    now: datetime,
    stems: StemsByJob | None = None,
    times: Times | None = None,
) -> list[dict[str, Any]]:
    """What each row of the job list shows (templates jobs/_job_row*.html);
    `stems` and `times` as for jobs_representation."""
    names = selectors.stems_by_job(jobs) if stems is None else stems
    if times is None:
        times = estimates.estimates(jobs, now=now)
    rows = []
    for job in jobs:
        estimate = times.get(str(job.pk))
        rows.append(
            {
                "job": job,
                "model_label": model_label(job.model),
                "stems_label": _stems_label(job, [n for n, _ in names.get(job.pk, ())]),
                "length": duration_label(job.duration_seconds)
                if job.duration_seconds
                else "",
                "state_text": job_state_text(job, estimate, now=now)
                if job.is_active
                else "",
                "expires": expires_label(job, now=now)
                if job.status == Job.Status.SUCCEEDED
                else "",
            }
        )
    return rows
