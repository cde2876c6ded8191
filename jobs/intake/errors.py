"""Why an upload was refused: each a DomainError with its API code and status."""

from core.errors import DomainError


class InvalidJobRequest(DomainError):
    code = "invalid"


class ModelUnavailable(InvalidJobRequest):
    """The model is offered but the stemworker cannot load it (no weights)."""

    code = "model_unavailable"


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
