"""API bodies for the scripted server, shaped as the schema says."""

import dataclasses
from typing import Any

from muxminus import Job


def job_json(
    job_id: str = "6f1c0000-0000-0000-0000-000000000001", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": job_id,
        "status": "queued",
        "progress": 0,
        "stage": "waiting",
        "queue_position": 1,
        "estimated_start": "2026-11-25T15:40:00Z",
        "estimated_finish": None,
        "model": "htdemucs",
        "two_stems": None,
        "output_format": "mp3",
        "filename": "song.wav",
        "duration_seconds": 2.0,
        "created_at": "2026-11-25T15:39:00.123456Z",
        "started_at": None,
        "finished_at": None,
        "expires_at": None,
        "expired": False,
        "error": None,
        "stems": [],
        "download_url": None,
    }
    # Fields the schema has gained since (all nullable so far): null.
    for field in dataclasses.fields(Job):
        body.setdefault(field.name, None)
    body.update(fields)
    return body


ACCOUNT = {
    "email": "you@example.com",
    "credits": 3,
    "active_jobs": 0,
    "max_active_jobs": 5,
}
