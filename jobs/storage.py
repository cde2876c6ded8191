"""The shared volume: where each file lives, what may stay, how full it may get.

Layout under SHARED_ROOT:
    tmp/                 uploads while they arrive and are decoded
    uploads/<job id>/    the canonical decode of the upload (never the upload
                         itself), only while its job is active
    work/<separation>/   the stemworker's output folder, while it separates
    outputs/<job id>/    the stems (and the zip) until they expire
    demo/<song id>/      the landing page's sample song and its stems

The sweeper (cron) removes whatever a crash or a lost race left behind; the disk
budget refuses new uploads while the volume is too full, rather than letting
it fill.
"""

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings

from core.errors import DomainError

from . import messages
from .models import Job, JobQuerySet

logger = logging.getLogger(__name__)

# A folder this young may belong to a job whose admission has not committed yet.
SWEEP_GRACE_SECONDS = 15 * 60
# An upload still arriving keeps writing its file; an hour untouched is abandoned.
STALE_UPLOAD_SECONDS = 60 * 60
DISK_FULL_RETRY_AFTER = 300
ZIP_NAME = "stems.zip"


class SharedVolumeFull(DomainError):
    code = "storage_full"
    status_code = 503
    retry_after = DISK_FULL_RETRY_AFTER


# --- Layout ----------------------------------------------------------------------


def root() -> Path:
    return Path(settings.SHARED_ROOT)


def staging_dir() -> Path:
    return root() / "tmp"


def upload_dir(job: Job) -> Path:
    return root() / "uploads" / str(job.pk)


def canonical_path(job: Job) -> Path:
    """Our decode of the upload, all the stemworker reads (jobs/decoding.py)."""
    return upload_dir(job) / "input.wav"


def work_dir(separation_id: str) -> Path:
    return root() / "work" / separation_id


def output_dir(job: Job) -> Path:
    return root() / "outputs" / str(job.pk)


def zip_path(job: Job) -> Path:
    return output_dir(job) / ZIP_NAME


def demo_dir(song_id: int) -> Path:
    return root() / "demo" / str(song_id)


def relative(path: Path) -> str:
    """How a file is recorded: relative to SHARED_ROOT, so the volume can move."""
    return str(path.relative_to(root()))


def upload_remove(job: Job) -> None:
    shutil.rmtree(upload_dir(job), ignore_errors=True)


def outputs_remove(job: Job) -> None:
    shutil.rmtree(output_dir(job), ignore_errors=True)


# --- Disk budget -----------------------------------------------------------------


def shared_volume_fill_percent() -> float:
    usage = shutil.disk_usage(root())
    return 100.0 * usage.used / usage.total


def shared_volume_has_room() -> bool:
    return shared_volume_fill_percent() < settings.SHARED_VOLUME_MAX_FILL_PERCENT


def shared_volume_ensure_room() -> None:
    """Refuse new uploads while the shared volume is fuller than the budget."""
    fill = shared_volume_fill_percent()
    if fill >= settings.SHARED_VOLUME_MAX_FILL_PERCENT:
        logger.error(
            "shared volume %.1f%% full (budget %s%%): refusing uploads",
            fill,
            settings.SHARED_VOLUME_MAX_FILL_PERCENT,
        )
        raise SharedVolumeFull(messages.STORAGE_FULL)


# --- Sweeper ---------------------------------------------------------------------


def shared_volume_sweep(*, now: float | None = None) -> int:
    """Remove files that belong to no job that needs them. Returns how many."""
    now = now if now is not None else time.time()
    active = _ids(Job.objects.active())
    kept_outputs = _ids(
        Job.objects.filter(status=Job.Status.SUCCEEDED, files_purged_at__isnull=True)
    )
    removed = 0
    for folder, keep in (
        ("uploads", active),
        ("work", active),
        ("outputs", kept_outputs),
    ):
        for entry in _entries(root() / folder):
            if entry.name not in keep and _age(entry, now) > SWEEP_GRACE_SECONDS:
                _remove(entry)
                removed += 1
    for entry in _entries(staging_dir()):
        if _age(entry, now) > STALE_UPLOAD_SECONDS:
            _remove(entry)
            removed += 1
    if removed:
        logger.warning("sweeper removed %d orphaned entries", removed)
    return removed


def _ids(jobs: JobQuerySet) -> set[str]:
    return {str(pk) for pk in jobs.values_list("pk", flat=True)}


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        return []


def _age(entry: Path, now: float) -> float:
    try:
        return now - entry.lstat().st_mtime
    except FileNotFoundError:
        return 0.0


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)
