"""The `mix` of the API: its one JSON shape, for the API and its webhook event."""

from typing import Any

from jobs.representation import iso_time

from .models import Mix


def mix_representation(mix: Mix, *, base_url: str) -> dict[str, Any]:
    url = f"{base_url.rstrip('/')}/api/v1/jobs/{mix.job_id}/mixes/{mix.pk}/"
    expired = mix.job.expired
    parameters = mix.parameters
    return {
        "id": str(mix.pk),
        "job_id": str(mix.job_id),
        "status": mix.status,
        "progress": mix.progress,
        "preset": mix.preset or None,
        **parameters,
        "duration_seconds": mix.duration_seconds,
        "size": mix.size_bytes,
        "error": mix.error or None,
        "created_at": iso_time(mix.created_at),
        "finished_at": iso_time(mix.finished_at),
        "expired": expired,
        "url": url,
        "download_url": f"{url}download/"
        if mix.status == Mix.Status.SUCCEEDED and not expired
        else None,
    }
