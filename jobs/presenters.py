"""Plain-dict views of jobs, shared by the dashboard's polling endpoint."""

from typing import Any

from django.urls import reverse

from .models import Job


def job_summary(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.pk),
        "filename": job.original_filename,
        "model": job.model,
        "two_stems": job.two_stems or None,
        "output_format": job.output_format,
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job.progress,
        "error": job.error or None,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "expires_at": job.expires_at.isoformat() if job.expires_at else None,
        "expired": job.expired,
        "url": reverse("jobs:detail", args=[job.pk]),
        "download_url": reverse("jobs:zip", args=[job.pk])
        if job.downloadable
        else None,
        "stems": [stem.name for stem in job.stems.all()],
    }


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
    stems = list(job.stems.all())
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
