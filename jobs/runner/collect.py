"""Collecting a finished separation: its stems, encoded and measured, in outputs/
(on s3, encoded in this host's scratch and stored in the bucket)."""

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jobs import lifecycle, messages, storage
from jobs.encoding import StemUnreadable, stems_finish
from jobs.models import Job

from .client import SeparationFailed

logger = logging.getLogger(__name__)


def reported_stems(state: dict[str, Any], separation_id: str) -> list[tuple[str, Path]]:
    """The stem files the stemworker reported, each inside its work folder.

    Raises SeparationFailed when there are none, or one lies outside it.
    """
    work = storage.work_dir(separation_id).resolve()
    stems = []
    for stem in state.get("stems", []):
        path = Path(stem["path"]).resolve()
        if not path.is_relative_to(work) or not path.is_file():
            raise SeparationFailed(
                messages.SEPARATION_FAILED, f"unexpected stem path {path}"
            )
        stems.append((str(stem["name"]), path))
    if not stems:
        raise SeparationFailed(messages.NOTHING_SEPARATED, "no stems reported")
    return stems


def job_collect(*, job: Job, stems: Sequence[tuple[str, Path]]) -> bool:
    """Put the stems in `outputs/<job id>/` in the format asked for (encoded
    from the stemworker's WAVs all at once, measured in the same pass, then
    stored), and mark the job succeeded (lifecycle.job_succeed). Safe to
    repeat. False when the job was no longer running.

    Raises SeparationFailed when a stem cannot be read or encoded.
    """
    started = time.monotonic()
    try:
        finished = stems_finish(stems, storage.output_dir(job), job.output_format)
    except StemUnreadable as error:
        raise SeparationFailed(messages.SEPARATION_FAILED, str(error)) from error
    # bench/pipeline.py reads this line: the encode phase of a job.
    logger.info(
        "job %s: %d stem(s) as %s, encoded and measured in %.2f s",
        job.pk,
        len(finished),
        job.output_format,
        time.monotonic() - started,
    )
    files = []
    for stem in finished:
        # On s3 an upload from this host's scratch; on the filesystem, nothing.
        # The encoded stem stays in the scratch until the job ends
        # (storage.scratch_clean): a repeat after a failed job_succeed (the
        # database away for a moment) finds it there, as on the filesystem.
        key, size = storage.file_keep(stem.path, retain=True)
        files.append(
            lifecycle.StemFile(
                name=stem.name,
                relative_path=key,
                size_bytes=size,
                duration_seconds=stem.duration_seconds,
                peaks=stem.peaks,
            )
        )
    return lifecycle.job_succeed(job=job, stems=files)
