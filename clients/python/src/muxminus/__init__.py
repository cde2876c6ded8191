"""The official Python client of the Mux Minus API, and the `mux` command.

from muxminus import Client

with Client() as mux:  # MUXMINUS_TOKEN, MUXMINUS_URL
    [job] = mux.jobs.create(["song.mp3"], model="htdemucs", two_stems="vocals")
    job = mux.jobs.wait(job, on_progress=lambda j: print(j.progress))
    mux.jobs.download(job, "stems/")
"""

from ._http import RetryPolicy
from ._schema_models import Account, Error, Job, JobPage, ModelOutput, StemOutput
from ._version import __version__
from .client import Client, Jobs, Webhooks
from .errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    Expired,
    FileTooLarge,
    InvalidAudio,
    MuxMinusError,
    NoCredits,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    RateLimited,
    ServerError,
    TooManyActiveJobs,
    Unprocessable,
    UnsupportedMediaType,
    WaitTimeout,
    WebhookVerificationError,
)
from .webhooks import verify

#: GET /api/v1/models/ entries.
Model = ModelOutput
#: A job's stem, as listed in Job.stems.
Stem = StemOutput

__all__ = [
    "Account",
    "ApiError",
    "AuthenticationFailed",
    "BadRequest",
    "Client",
    "ConnectionFailed",
    "Error",
    "Expired",
    "FileTooLarge",
    "InvalidAudio",
    "Job",
    "JobPage",
    "Jobs",
    "Model",
    "ModelOutput",
    "MuxMinusError",
    "NoCredits",
    "NotFound",
    "NotSignedIn",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Stem",
    "StemOutput",
    "TooManyActiveJobs",
    "Unprocessable",
    "UnsupportedMediaType",
    "WaitTimeout",
    "Webhooks",
    "WebhookVerificationError",
    "__version__",
    "verify",
]
