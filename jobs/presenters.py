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
