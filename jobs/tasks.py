"""RQ entry points: take ids, call one service, return."""

from .pipeline import job_process_next
from .recovery import jobs_reap
from .services import jobs_purge_expired
from .volume import shared_volume_sweep


def job_process_next_task() -> None:
    job_process_next()


def jobs_purge_expired_task() -> int:
    return jobs_purge_expired()


def jobs_reap_task() -> dict[str, int]:
    return jobs_reap()


def shared_volume_sweep_task() -> int:
    return shared_volume_sweep()
