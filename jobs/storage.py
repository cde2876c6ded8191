"""The shared volume: where each file lives, what may stay, how full it may get.

Layout under SHARED_ROOT (and, on STORAGE_BACKEND=s3, the keys in the bucket:
uploads, outputs and demo; see jobs/store.py):
    tmp/                 uploads while they arrive and are decoded
    uploads/<job id>/    the canonical decode of the upload (never the upload
                         itself), only while its job is active
    work/<separation>/   the stemworker's output folder, while it separates
    outputs/<job id>/    the stems (and the zip) until they expire
    demo/<song id>/      the landing page's sample song and its stems

On s3, SHARED_ROOT is the host's own scratch: an upload is decoded there and
stored, a worker fetches its job's input there (`input_local`), encodes the
stems there and stores them, and `scratch_clean` empties it after the job.

The sweeper (cron) removes whatever a crash or a lost race left behind, in the
store and in the scratch; the disk budget refuses new uploads while the volume
is too full, rather than letting it fill.
"""

import logging
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings

from core.errors import DomainError

from . import messages
from .models import Job, JobQuerySet
from .store import content_type_for, is_shared_folder, store

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


JobRef = Job | uuid.UUID | str  # a job, or the id it has (or will have)


def _job_id(job: JobRef) -> str:
    return str(job.pk if isinstance(job, Job) else job)


def upload_dir(job: JobRef) -> Path:
    return root() / "uploads" / _job_id(job)


def canonical_path(job: JobRef) -> Path:
    """Our decode of the upload, all the stemworker reads (jobs/decoding.py)."""
    return upload_dir(job) / "input.wav"


def canonical_key(job: JobRef) -> str:
    return relative(canonical_path(job))


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


def file_keep(path: Path, *, retain: bool = False) -> tuple[str, int]:
    """Store a file made under SHARED_ROOT under its own key (on the
    filesystem, where it is); returns (key, size in bytes). `retain`: on s3,
    the local file stays too (for a caller that may have to do it again)."""
    key, size = relative(path), path.stat().st_size
    store().keep(key, path, content_type=content_type_for(key), retain=retain)
    return key, size


def upload_keep(job: JobRef, canonical: Path) -> None:
    """Store a decoded upload as the input of the job (that will be) `job`."""
    store().keep(canonical_key(job), canonical, content_type="audio/wav")


def input_local(job: Job) -> Path:
    """The job's input as a local file for the stemworker: on s3, fetched into
    this host's scratch (once; a second start finds it there)."""
    path = canonical_path(job)
    if not path.is_file():
        store().fetch(canonical_key(job), path)
    return path


def scratch_clean(job: Job) -> None:
    """Empty this host's scratch of the job once it ended (s3 only: on the
    filesystem backend the scratch is where the files are kept)."""
    if not is_shared_folder():
        shutil.rmtree(upload_dir(job), ignore_errors=True)
        shutil.rmtree(output_dir(job), ignore_errors=True)


def upload_remove(job: JobRef) -> None:
    store().remove(f"uploads/{_job_id(job)}")
    shutil.rmtree(upload_dir(job), ignore_errors=True)


def outputs_remove(job: Job) -> None:
    store().remove(f"outputs/{job.pk}")
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
    files = store()
    for folder, keep in (("uploads", active), ("outputs", kept_outputs)):
        for stored in files.entries(folder):
            if stored.name not in keep and now - stored.modified > SWEEP_GRACE_SECONDS:
                files.remove(f"{folder}/{stored.name}")
                removed += 1
    scratch = [("work", active)]
    if not is_shared_folder():  # else these are the folders swept above
        scratch += [("uploads", active), ("outputs", active)]
    for folder, keep in scratch:
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
