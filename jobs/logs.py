"""Every log line written while a job is handled names that job.

`job_logging_context` sets the job id for the code it wraps; `JobIdFilter`
(installed on the console handler in settings.LOGGING) puts it on each record
as `job_id`, "-" outside a job.
"""

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_current_job: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_job", default="-"
)


@contextlib.contextmanager
def job_logging_context(job_id: str) -> Iterator[None]:
    token = _current_job.set(job_id)
    try:
        yield
    finally:
        _current_job.reset(token)


class JobIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "job_id"):
            record.job_id = _current_job.get()
        return True
