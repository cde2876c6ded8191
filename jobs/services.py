"""Job rules: admission, state changes, files. Every write with a rule lives here."""

import logging
import math
import shutil
import unicodedata
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_rq import get_queue

from accounts.services import user_ensure_can_submit_jobs
from billing.services import (
    InsufficientCredits,
    account_lock,
    credits_debit,
    credits_refund,
)
from config.exceptions import DomainError

from . import catalog, worker_client
from .audio import (
    ACCEPTED_EXTENSIONS,
    MIN_DURATION_SECONDS,
    UnreadableAudio,
    compute_peaks,
    probe_duration,
)
from .idempotency import IdempotentRequest, idempotent_record, idempotent_replay
from .models import Job, Stem
from .volume import shared_volume_ensure_room

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# Seconds of compute per second of audio on a CPU, measured (ARCHITECTURE 6).
MODEL_COST = {"htdemucs_ft": 5.2, "htdemucs_6s": 1.5}
DEFAULT_MODEL_COST = 1.3
PEAK_THREADS = 4


class InvalidJobRequest(DomainError):
    code = "invalid"


class InvalidAudio(DomainError):
    code = "invalid_audio"


class FileTooLarge(DomainError):
    code = "file_too_large"
    status_code = 413


class TooManyActiveJobs(DomainError):
    code = "too_many_active_jobs"
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class JobOptions:
    model: str
    two_stems: str
    output_format: str


@dataclass
class StagedUpload:
    path: Path
    original_filename: str
    extension: str
    duration: float


def job_options_validate(
    *, model: str, two_stems: str = "", output_format: str = "mp3"
) -> JobOptions:
    """Check the model, two-stem choice and format; the message lists valid choices."""
    models = catalog.models_available()
    chosen = next((m for m in models if m["name"] == model), None)
    if chosen is None:
        names = ", ".join(m["name"] for m in models)
        if not model:
            raise InvalidJobRequest(f"Choose a model: {names}.")
        raise InvalidJobRequest(f"Unknown model “{model}”. Choose one of: {names}.")
    if two_stems and two_stems not in chosen["stems"]:
        stems = ", ".join(chosen["stems"])
        raise InvalidJobRequest(
            f"{model} has no stem named “{two_stems}”. Choose one of: {stems}."
        )
    formats = [choice.value for choice in Job.OutputFormat]
    if output_format not in formats:
        raise InvalidJobRequest(
            f"Unknown output format “{output_format}”. Choose one of: "
            f"{', '.join(formats)}."
        )
    return JobOptions(
        model=model, two_stems=two_stems or "", output_format=output_format
    )


# Bidi controls reorder how a name is shown: "a\u202e3pm.exe" shows as "aexe.mp3".
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Joiners shape emoji sequences and several scripts: kept.
JOINERS = frozenset("\u200c\u200d")
WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)]
)
MAX_FILENAME_CHARS = 200
# Browsers send these three as escapes in a multipart file name (HTML spec).
BROWSER_ESCAPES = {"%22": '"', "%0D": " ", "%0A": " "}
MAX_EXTENSION_CHARS = 16


def clean_filename(name: str) -> str:
    """A display name only (stored files get our names): the last path part, in
    NFC, without control or bidi characters, leading or trailing dots and spaces,
    or a Windows device name; at most 200 characters, the extension kept.
    """
    for escape, char in BROWSER_ESCAPES.items():
        name = name.replace(escape, char)
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join("".join(_display_char(ch) for ch in name).split())
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > MAX_EXTENSION_CHARS or " " in extension:
        stem, extension = name, ""
    stem = stem.strip(" .")
    if stem.split(".", 1)[0].upper() in WINDOWS_RESERVED:
        stem = f"_{stem}"
    stem = (stem or "song")[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(" .")
    return f"{stem}.{extension}" if extension else stem


def _display_char(ch: str) -> str:
    if ch.isspace():
        return " "
    if ch in JOINERS or (ch.isprintable() and ch not in BIDI_CONTROLS):
        return ch
    return ""


def upload_stage(upload: UploadedFile) -> StagedUpload:
    """Move an upload into the shared volume under a name we choose, and probe it.

    The name is the user's for display only; the file is stored as a UUID. Raises
    InvalidAudio when it is not usable audio, and leaves nothing behind whenever
    it raises.
    """
    original = clean_filename(upload.name or "")
    extension = original.rsplit(".", 1)[-1].lower() if "." in original else ""
    if extension not in ACCEPTED_EXTENSIONS:
        raise InvalidAudio(
            f"“{original}” is not a supported audio file. Use one of: "
            f"{', '.join(ACCEPTED_EXTENSIONS)}."
        )
    staging = settings.SHARED_ROOT / "tmp"
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"{uuid.uuid4().hex}.{extension}"
    try:
        _store(upload, path)
        duration = _probe(path, original)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedUpload(path, original, extension, duration)


def _store(upload: UploadedFile, path: Path) -> None:
    if hasattr(upload, "temporary_file_path"):
        shutil.move(upload.temporary_file_path(), path)
        return
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)


def _probe(path: Path, original: str) -> float:
    if path.stat().st_size == 0:
        raise InvalidAudio(f"“{original}” is empty.")
    try:
        # Decodes the start (and the end, where the format counts its length),
        # so a truncated or lying file is refused here, not by demucs later.
        duration = probe_duration(path)
    except UnreadableAudio as error:
        raise InvalidAudio(f"“{original}” {error.reason}.") from error
    if duration < MIN_DURATION_SECONDS:
        raise InvalidAudio(
            f"“{original}” is too short to separate: it holds {duration:.2f} s of "
            f"audio, and at least {MIN_DURATION_SECONDS} s is needed."
        )
    if duration > settings.MAX_AUDIO_MINUTES * 60:
        length = (
            f"{duration / 60:.1f} minutes" if duration >= 60 else f"{duration:.0f} s"
        )
        raise InvalidAudio(
            f"“{original}” is {length} long; the limit is "
            f"{settings.MAX_AUDIO_MINUTES} minutes."
        )
    return duration


def uploads_discard(staged: Sequence[StagedUpload]) -> None:
    for item in staged:
        item.path.unlink(missing_ok=True)


def jobs_create(
    *,
    user: "User",
    staged: Sequence[StagedUpload],
    options: JobOptions,
    idempotency: IdempotentRequest | None = None,
) -> list[Job]:
    """Admit one job per staged upload, all or nothing.

    Atomic, with the user's credit account locked: checks the active-job cap and
    the balance for the whole batch, debits one credit per job, moves each
    upload to `uploads/<job id>/`, and enqueues the jobs once committed.
    Raises TooManyActiveJobs or InsufficientCredits, having created nothing;
    the staged files are then the caller's to discard. With `idempotency`, a
    key already used returns the jobs it created (staged files discarded) and a
    new key is recorded with the jobs, under the same lock.
    """
    created: list[Job] = []
    try:
        with transaction.atomic():
            account = account_lock(user)
            if idempotency is not None:
                # Under the lock: a concurrent retry with this key has committed.
                earlier = idempotent_replay(user=user, request=idempotency)
                if earlier is not None:
                    uploads_discard(staged)
                    return earlier
            _check_admission(user, account.balance, len(staged))
            for item in staged:
                job = _job_admit(user, item, options)
                created.append(job)
            if idempotency is not None:
                idempotent_record(user=user, request=idempotency, jobs=created)
            transaction.on_commit(lambda: _enqueue_all(created))
    except BaseException:
        for job in created:
            shutil.rmtree(job.upload_dir, ignore_errors=True)
        raise
    return created


def _enqueue_all(jobs: Sequence[Job]) -> None:
    dispatch_turns_add(len(jobs))


def _check_admission(user: "User", balance: int, wanted: int) -> None:
    active = Job.objects.for_user(user).active().count()
    free = max(0, settings.MAX_ACTIVE_JOBS_PER_USER - active)
    credits = f"{balance} credit{'s' if balance != 1 else ''}"
    refusal: TooManyActiveJobs | InsufficientCredits
    if wanted > free:
        refusal = TooManyActiveJobs(
            f"You have {active} of {settings.MAX_ACTIVE_JOBS_PER_USER} jobs in "
            f"progress, so {free} more can start now; {wanted} were sent. "
            f"You have {credits}. Try again when a job finishes.",
            retry_after=retry_after_estimate(user=user),
        )
    elif balance < wanted:
        refusal = InsufficientCredits(
            f"You have {credits} and {wanted} song{'s' if wanted != 1 else ''} "
            f"need {wanted}; {free} more job{'s' if free != 1 else ''} can start "
            "now. Buy a credit pack to separate more songs."
        )
    else:
        return
    refusal.extra.update(slots_free=free, credits=balance)
    raise refusal


def _job_admit(user: "User", item: StagedUpload, options: JobOptions) -> Job:
    job = Job.objects.create(
        user=user,
        original_filename=item.original_filename,
        input_extension=item.extension,
        model=options.model,
        two_stems=options.two_stems,
        output_format=options.output_format,
        duration_seconds=item.duration,
    )
    credits_debit(user=user, amount=1, job=job)
    job.upload_dir.mkdir(parents=True, exist_ok=True)
    item.path.replace(job.upload_path)
    return job


def dispatch_turns_add(count: int = 1) -> None:
    """Give the dispatcher `count` more turns, one per admitted job.

    A turn names no job: whoever takes it starts the fairest queued job then
    (jobs/dispatch.py), which is how users take turns.
    """
    queue = get_queue("stems")
    for _ in range(count):
        queue.enqueue(
            "jobs.tasks.job_process_next_task",
            job_timeout=dispatch_timeout_seconds(),
            result_ttl=600,
            failure_ttl=7 * 86400,
        )


def dispatch_timeout_seconds() -> int:
    """RQ's limit for one turn: the longest wait for a slot plus the longest
    separation, so RQ never kills a turn that our own limits still allow."""
    longest = Job(model="htdemucs_ft", duration_seconds=settings.MAX_AUDIO_MINUTES * 60)
    return (
        settings.STEMWORKER_WAIT_SECONDS + separation_timeout_seconds(job=longest) + 600
    )


def estimated_seconds(*, job: Job) -> float:
    """An honest guess at how long the separation takes on this server's CPUs."""
    cost = MODEL_COST.get(job.model, DEFAULT_MODEL_COST)
    return 5 + (job.duration_seconds or 180) * cost


def separation_timeout_seconds(*, job: Job) -> int:
    """The hard limit for one separation: generous, but a stuck job always ends."""
    return int(max(600, 4 * estimated_seconds(job=job)))


def retry_after_estimate(*, user: "User") -> int:
    """Seconds until one of the user's active jobs is likely to finish."""
    remaining = [
        estimated_seconds(job=job) * (1 - job.progress / 100)
        for job in Job.objects.for_user(user).active()
    ]
    return max(5, math.ceil(min(remaining))) if remaining else 5


def job_start(*, job_id: str) -> Job | None:
    """queued -> running. A conditional UPDATE: None when it was not queued."""
    now = timezone.now()
    updated = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        progress=0,
        attempts=F("attempts") + 1,
    )
    return Job.objects.get(pk=job_id) if updated else None


def job_check_in(*, job: Job) -> bool:
    """The worker following a job says it is alive (the reaper watches this).

    False once the job is no longer running: cancelled, deleted or reaped.
    """
    return bool(
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


def job_progress_update(*, job: Job, progress: float) -> None:
    """Record progress while running; never moves backwards, never reaches 100 early."""
    value = max(0, min(99, int(progress)))
    if value > job.progress:
        Job.objects.filter(
            pk=job.pk, status=Job.Status.RUNNING, progress__lt=value
        ).update(progress=value)
        job.progress = value


def job_mark_failed(*, job: Job, message: str, log: str = "") -> bool:
    """active -> failed, with a message for people and the credit refunded.

    Idempotent: False when the job had already ended. Deletes the upload and
    any partial output.
    """
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE_STATUSES).update(
            status=Job.Status.FAILED,
            error=message[:500],
            error_log=log[-20000:],
            finished_at=timezone.now(),
        )
        if updated:
            credits_refund(job=job)
    job_files_remove(job=job, outputs=True)
    if updated:
        logger.info("job %s failed: %s", job.pk, message)
    return bool(updated)


def job_mark_succeeded(*, job: Job, stems: Sequence[tuple[str, Path]]) -> bool:
    """running -> succeeded: moves the stems to `outputs/<job id>/`, records each
    with its size and peaks, and sets the expiry. False (files discarded) when
    the job was cancelled meanwhile.
    """
    job.output_dir.mkdir(parents=True, exist_ok=True)
    targets = []
    for name, source in stems:
        target = job.output_dir / f"{name}.{job.output_format}"
        if source.exists() or not target.exists():  # a retry finds it moved
            shutil.move(source, target)
        targets.append((name, target))
    # Decoding each stem for its peaks is most of the time between demucs
    # finishing and the job being done; libsndfile releases the GIL.
    with ThreadPoolExecutor(max_workers=PEAK_THREADS) as pool:
        measured = list(pool.map(compute_peaks, (target for _, target in targets)))
    records = [
        Stem(
            job=job,
            name=name,
            relative_path=str(target.relative_to(settings.SHARED_ROOT)),
            size_bytes=target.stat().st_size,
            duration_seconds=duration,
            peaks=peaks,
        )
        for (name, target), (peaks, duration) in zip(targets, measured, strict=True)
    ]
    now = timezone.now()
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.SUCCEEDED,
            progress=100,
            finished_at=now,
            expires_at=now + timedelta(hours=settings.OUTPUT_RETENTION_HOURS),
        )
        if updated:
            Stem.objects.bulk_create(records)
    # Not updated: cancelled meanwhile, so the stems go; but never those of a
    # job another collector (the reaper adopting it) has already completed.
    discard = (
        not updated
        and not Job.objects.filter(pk=job.pk, status=Job.Status.SUCCEEDED).exists()
    )
    job_files_remove(job=job, outputs=discard)
    if updated:
        logger.info("job %s succeeded with %d stems", job.pk, len(records))
    return bool(updated)


def job_files_remove(*, job: Job, outputs: bool) -> None:
    """Originals never outlive their job; outputs only when asked."""
    shutil.rmtree(job.upload_dir, ignore_errors=True)
    if outputs:
        shutil.rmtree(job.output_dir, ignore_errors=True)


def job_cancel(*, job: Job) -> bool:
    """Stop a queued or running job and refund it. False when it had already ended."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE_STATUSES).update(
            status=Job.Status.CANCELLED,
            error="Cancelled.",
            finished_at=timezone.now(),
        )
        if updated:
            credits_refund(job=job)
    if updated:
        try:
            worker_client.separation_delete(str(job.pk))
        except worker_client.StemworkerUnavailable:
            logger.warning("could not reach the stemworker to stop job %s", job.pk)
        job_files_remove(job=job, outputs=True)
    return bool(updated)


def job_delete(*, job: Job) -> None:
    """Cancel if still active, then remove the job, its stems and its files."""
    job_cancel(job=job)
    job_files_remove(job=job, outputs=True)
    job.delete()


def jobs_purge_expired(*, now: datetime | None = None) -> int:
    """Delete the stems of jobs past their expiry; the jobs stay listed.

    Idempotent; returns how many jobs were purged. Run by the cron.
    """
    now = now or timezone.now()
    expired = Job.objects.filter(
        status=Job.Status.SUCCEEDED, expires_at__lte=now, files_purged_at__isnull=True
    )
    count = 0
    for job in expired.iterator():
        job_files_remove(job=job, outputs=True)
        Job.objects.filter(pk=job.pk).update(files_purged_at=now)
        count += 1
    if count:
        logger.info("purged the files of %d expired jobs", count)
    return count


def jobs_submit(
    *,
    user: "User",
    uploads: Sequence[UploadedFile],
    model: str,
    two_stems: str = "",
    output_format: str = "mp3",
    idempotency: IdempotentRequest | None = None,
) -> list[Job]:
    """Validate, stage and admit a batch of uploads, all or nothing.

    The entry point for the site and the API. Raises a DomainError with a
    message for people (EmailNotVerified before the address is verified);
    nothing is left on disk when it does. With `idempotency`, a retry returns
    what the first request created (jobs_create) and charges nothing.
    """
    user_ensure_can_submit_jobs(user=user)
    shared_volume_ensure_room()
    if idempotency is not None:
        earlier = idempotent_replay(user=user, request=idempotency)
        if earlier is not None:
            return earlier
    options = job_options_validate(
        model=model, two_stems=two_stems, output_format=output_format
    )
    if not uploads:
        raise InvalidJobRequest("Choose at least one audio file.")
    staged: list[StagedUpload] = []
    try:
        for upload in uploads:
            staged.append(upload_stage(upload))
        return jobs_create(
            user=user, staged=staged, options=options, idempotency=idempotency
        )
    except BaseException:
        uploads_discard(staged)
        raise
