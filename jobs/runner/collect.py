"""Collecting a finished separation: its stems move to outputs/ and are measured."""

import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jobs import lifecycle, messages, storage
from jobs.audio import compute_peaks
from jobs.models import Job

from .client import SeparationFailed

PEAK_THREADS = 4


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
    """Move the stems to `outputs/<job id>/`, measure them, and mark the job
    succeeded (lifecycle.job_succeed). Safe to repeat: a retry finds the files
    already moved. False when the job was no longer running.
    """
    folder = storage.output_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    targets = []
    for name, source in stems:
        target = folder / f"{name}.{job.output_format}"
        if source.exists() or not target.exists():  # a retry finds it moved
            shutil.move(source, target)
        targets.append((name, target))
    # Decoding each stem for its peaks is most of the time between demucs
    # finishing and the job being done; libsndfile releases the GIL.
    with ThreadPoolExecutor(max_workers=PEAK_THREADS) as pool:
        measured = list(pool.map(compute_peaks, (target for _, target in targets)))
    files = [
        lifecycle.StemFile(
            name=name,
            relative_path=storage.relative(target),
            size_bytes=target.stat().st_size,
            duration_seconds=duration,
            peaks=peaks,
        )
        for (name, target), (peaks, duration) in zip(targets, measured, strict=True)
    ]
    return lifecycle.job_succeed(job=job, stems=files)
