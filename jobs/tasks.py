"""RQ entry points: take ids, call one service, return."""

from .pipeline import job_process
from .services import jobs_purge_expired, jobs_reap


def job_process_task(job_id: str) -> None:
    job_process(job_id=job_id)


def jobs_purge_expired_task() -> int:
    return jobs_purge_expired()


def jobs_reap_task() -> dict[str, int]:
    return jobs_reap()
