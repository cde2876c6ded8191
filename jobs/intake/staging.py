"""Uploads into the shared volume: stored under our own name, then probed."""

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from jobs import messages, storage
from jobs.audio import (
    ACCEPTED_EXTENSIONS,
    MIN_DURATION_SECONDS,
    UnreadableAudio,
    probe_duration,
)

from .errors import InvalidAudio
from .filenames import clean_filename, extension_of


@dataclass
class StagedUpload:
    path: Path
    original_filename: str
    extension: str
    duration: float


def upload_stage(upload: UploadedFile) -> StagedUpload:
    """Move an upload into the shared volume under a name we choose, and probe it.

    The name is the user's for display only; the file is stored as a UUID. Raises
    InvalidAudio when it is not usable audio, and leaves nothing behind whenever
    it raises.
    """
    original = clean_filename(upload.name or "")
    extension = extension_of(original)
    if extension not in ACCEPTED_EXTENSIONS:
        raise InvalidAudio(messages.unsupported_file(original, ACCEPTED_EXTENSIONS))
    staging = storage.staging_dir()
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
        raise InvalidAudio(messages.empty_file(original))
    try:
        # Decodes the start (and the end, where the format counts its length),
        # so a truncated or lying file is refused here, not by demucs later.
        duration = probe_duration(path)
    except UnreadableAudio as error:
        raise InvalidAudio(messages.unreadable_file(original, error.reason)) from error
    if duration < MIN_DURATION_SECONDS:
        raise InvalidAudio(messages.too_short(original, duration, MIN_DURATION_SECONDS))
    if duration > settings.MAX_AUDIO_MINUTES * 60:
        raise InvalidAudio(
            messages.too_long(original, duration, settings.MAX_AUDIO_MINUTES)
        )
    return duration


def uploads_discard(staged: Sequence[StagedUpload]) -> None:
    for item in staged:
        item.path.unlink(missing_ok=True)
