"""Start-up checks: the time limits of a job, taken together (jobs/budget.py),
the decoder every upload goes through (jobs/decoding.py), the database and
the storage backend (jobs/store.py)."""

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from . import budget, decoding


def time_limits_check(**kwargs: Any) -> list[CheckMessage]:
    errors, warnings = budget.budget_problems()
    return [
        *(Error(text, id="jobs.E001") for text in errors),
        *(Warning(text, id="jobs.W001") for text in warnings),
    ]


def decoder_check(**kwargs: Any) -> list[CheckMessage]:
    if decoding.ffmpeg_binaries() is not None:
        return []
    return [
        Error(
            "ffmpeg and ffprobe are not on PATH: every upload is decoded with "
            "them, so none could be accepted.",
            hint="Install ffmpeg (apt-get install ffmpeg).",
            id="jobs.E002",
        )
    ]


def database_check(**kwargs: Any) -> list[CheckMessage]:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return []
    return [
        Warning(
            f"The database is {engine}: dispatch keeps the fairest queued job's "
            "row locked while it asks the stemworker (SELECT ... FOR UPDATE SKIP "
            "LOCKED), which only PostgreSQL does; elsewhere uploads and workers "
            "meet locked-database errors.",
            hint="Use PostgreSQL, or leave DATABASE_URL unset for the embedded one.",
            id="jobs.W002",
        )
    ]


def storage_check(**kwargs: Any) -> list[CheckMessage]:
    """STORAGE_BACKEND names a backend, and s3 names its bucket."""
    from django.conf import settings

    from .store import BACKENDS

    if settings.STORAGE_BACKEND not in BACKENDS:
        return [
            Error(
                f"STORAGE_BACKEND is {settings.STORAGE_BACKEND!r}.",
                hint=f"Set it to one of {', '.join(BACKENDS)}.",
                id="jobs.E003",
            )
        ]
    if settings.STORAGE_BACKEND == "s3" and not settings.AWS_STORAGE_BUCKET_NAME:
        return [
            Error(
                "STORAGE_BACKEND is s3 but no bucket is named.",
                hint="Set AWS_STORAGE_BUCKET_NAME (and AWS_S3_ENDPOINT_URL for a "
                "store other than AWS S3).",
                id="jobs.E004",
            )
        ]
    return []
