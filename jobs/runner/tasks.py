"""RQ entry points: take ids, call one function, return."""

from jobs.lifecycle import jobs_purge_expired
from jobs.storage import shared_volume_sweep

from .pipeline import job_process_next
from .reaper import jobs_reap
from .tempo_and_key import job_tempo_and_key_detect


def job_process_next_task() -> None:
    job_process_next()


def jobs_purge_expired_task() -> int:
    return jobs_purge_expired()


def jobs_reap_task() -> dict[str, int]:
    return jobs_reap()


def shared_volume_sweep_task() -> int:
    return shared_volume_sweep()


def job_tempo_and_key_task(job_id: str) -> bool:
    return job_tempo_and_key_detect(job_id=job_id)
