"""Uploads into the shared volume: stored under our own name, decoded, dropped.

What is kept of an upload is our canonical decode of it (jobs/decoding.py);
the file as it came is deleted as soon as it is decoded, admitted or not.
"""

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from jobs import messages, storage
from jobs.audio import ACCEPTED_EXTENSIONS, MIN_DURATION_SECONDS
from jobs.decoding import AudioTooLong, UnreadableAudio, canonical_decode

from .errors import InvalidAudio
from .filenames import clean_filename, extension_of


@dataclass
class StagedUpload:
    path: Path  # the canonical decode; the upload itself is gone
    original_filename: str
    extension: str
    duration: float  # what decoding counted, never what a header claimed
    # The id its job will have: the decode is stored under it before the job
    # exists (on s3 an upload that must not happen while the account is locked).
    job_id: uuid.UUID = field(default_factory=uuid.uuid4)
    kept: bool = False

    def keep(self) -> None:
        """Store the decode as its job's input; `path` is gone afterwards."""
        storage.upload_keep(self.job_id, self.path)
        self.kept = True


def upload_stage(upload: UploadedFile) -> StagedUpload:
    """Move an upload into the shared volume under a name we choose, decode it
    into its canonical file and delete it.

    The name is the user's for display only; files are stored as UUIDs. Raises
    InvalidAudio when it is not usable audio, and leaves nothing behind whenever
    it raises.
    """
    original = clean_filename(upload.name or "")
    extension = extension_of(original)
    if extension not in ACCEPTED_EXTENSIONS:
        raise InvalidAudio(messages.unsupported_file(original, ACCEPTED_EXTENSIONS))
    staging = storage.staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    received = staging / f"{name}.upload"
    canonical = staging / f"{name}.wav"
    try:
        _store(upload, received)
        duration = _decode(received, canonical, original)
    except BaseException:
        canonical.unlink(missing_ok=True)
        raise
    finally:
        received.unlink(missing_ok=True)
    return StagedUpload(canonical, original, extension, duration)


def _store(upload: UploadedFile, path: Path) -> None:
    if hasattr(upload, "temporary_file_path"):
        shutil.move(upload.temporary_file_path(), path)
        return
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)


def _decode(received: Path, canonical: Path, original: str) -> float:
    if received.stat().st_size == 0:
        raise InvalidAudio(messages.empty_file(original))
    limit_minutes = settings.MAX_AUDIO_MINUTES
    try:
        decoded = canonical_decode(
            received, canonical, limit_seconds=limit_minutes * 60.0
        )
    except UnreadableAudio as error:
        raise InvalidAudio(messages.unreadable_file(original, error.reason)) from error
    except AudioTooLong as error:
        raise InvalidAudio(
            messages.too_long(original, error.announced, limit_minutes)
        ) from error
    if decoded.seconds < MIN_DURATION_SECONDS:
        canonical.unlink(missing_ok=True)
        raise InvalidAudio(
            messages.too_short(original, decoded.seconds, MIN_DURATION_SECONDS)
        )
    return decoded.seconds


def uploads_discard(staged: Sequence[StagedUpload]) -> None:
    for item in staged:
        item.path.unlink(missing_ok=True)
        if item.kept:
            storage.upload_remove(item.job_id)
            item.kept = False
