"""The API's bodies as typed dataclasses, generated from its OpenAPI schema.

Do not edit: after changing the API, run (from the repository root)

    .venv/bin/python clients/python/scripts/generate_models.py

Unknown fields in an answer are ignored, so an older client keeps working
when the server adds some.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

_T = TypeVar("_T")


def _datetime(value: Any) -> datetime:
    # fromisoformat reads a trailing Z only from Python 3.11 on.
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _iso(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _read(codec: str, value: Any) -> Any:
    if value is None or not codec:
        return value
    if codec == "datetime":
        return _datetime(value)
    if codec.startswith("list:"):
        return [_read(codec[5:], item) for item in value]
    return globals()[codec].from_dict(value)


def _write(codec: str, value: Any) -> Any:
    if value is None or not codec:
        return value
    if codec == "datetime":
        return _iso(value)
    if codec.startswith("list:"):
        return [_write(codec[5:], item) for item in value]
    return value.to_dict()


def _decode(cls: type[_T], data: Mapping[str, Any]) -> _T:
    # A key the answer lacks takes the field's default (or fails when required).
    values = {
        name: _read(codec, data[key])
        for name, key, codec in _FIELDS[cls.__name__]
        if key in data
    }
    return cls(**values)


def _encode(instance: object) -> dict[str, Any]:
    return {
        key: _write(codec, getattr(instance, name))
        for name, key, codec in _FIELDS[type(instance).__name__]
    }


EventsEnum = Literal[
    "job.succeeded",
    "job.failed",
    "job.cancelled",
    "job.expired",
    "mix.succeeded",
]


JobStatusEnum = Literal["queued", "running", "succeeded", "failed", "cancelled"]


MixStatusEnum = Literal["queued", "running", "succeeded", "failed"]


OutputFormatEnum = Literal["mp3", "wav", "flac"]


StageEnum = Literal[
    "waiting",
    "separating",
    "encoding",
    "ready",
    "expired",
    "failed",
    "cancelled",
]


WebhookDeliveryStatusEnum = Literal["pending", "delivered", "failed"]


@dataclass
class Account:
    """`Account` in the API's schema."""

    email: str
    credits: int
    active_jobs: int
    max_active_jobs: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Account:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class CallbackSecret:
    """`CallbackSecret` in the API's schema."""

    #: `whsec_…`: signs the events sent to your jobs' `webhook_url`.
    secret: str
    previous_secret_valid_until: datetime | None
    created_at: datetime

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallbackSecret:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class EndpointInputRequest:
    """`EndpointInputRequest` in the API's schema."""

    url: str
    #: Any of job.succeeded, job.failed, job.cancelled, job.expired, mix.succeeded;
    #: absent: all of them.
    events: list[str] | None = None
    description: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointInputRequest:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class Error:
    """The body of every 4xx answer."""

    #: What went wrong, in a sentence.
    detail: str
    #: A stable machine-readable code.
    code: str
    #: Per-field messages (only with code `invalid`).
    errors: dict[str, Any] | None = None
    #: Jobs you may still start now (402 and 429 on job creation).
    slots_free: int | None = None
    #: Your credit balance (402 and 429 on job creation).
    credits: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Error:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class Job:
    """`Job` in the API's schema."""

    id: str
    status: JobStatusEnum
    progress: int
    #: What the job is doing now, in a person's words.
    stage: StageEnum
    #: While queued: 1 when it starts next, in the server's fair order across people
    #: (uploads by others may take a place ahead); null once started.
    queue_position: int | None
    #: While queued: when it should start; an estimate.
    estimated_start: datetime | None
    #: While queued or running: when its stems should be ready; an estimate from this
    #: server's recent jobs.
    estimated_finish: datetime | None
    model: str
    #: The stem split from the rest, or null: all.
    two_stems: str | None
    output_format: OutputFormatEnum
    filename: str
    duration_seconds: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    expired: bool
    error: str | None
    stems: list[StemOutput]
    #: The zip of all stems; null until succeeded and once expired.
    download_url: str | None
    #: Where this job's events go too (given at upload), or null.
    webhook_url: str | None
    #: Tempo in beats per minute, detected after separation (from the drums where there
    #: are some); null until then, or when unsure.
    bpm: float | None
    bpm_confidence: float | None
    #: The key, e.g. `A minor` or `F# major`, from the harmonic stems; null until
    #: detected, or when unsure.
    key: str | None
    key_confidence: float | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class JobCreateFormRequest:
    """The upload form: files and the separation options for all of them."""

    #: One or more audio files (mp3, wav, flac, ogg, m4a, aac, aiff, opus); one job, and
    #: one credit, each.
    file: list[Any]
    #: A model from GET /api/v1/models/.
    model: str
    #: One of the model's stems (e.g. `vocals`) to split from the rest; empty or absent:
    #: every stem.
    two_stems: str | None = None
    output_format: OutputFormatEnum = "mp3"
    #: An http(s) URL that receives this job's events (`job.succeeded`, `job.failed`,
    #: `job.cancelled`, `job.expired`), signed by the Standard Webhooks scheme with your
    #: callback secret (GET /api/v1/webhooks/callback-secret/), besides your registered
    #: endpoints.
    webhook_url: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobCreateFormRequest:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class JobPage:
    """Documents the paginated list (ApiPagination's envelope)."""

    count: int
    next: str | None
    previous: str | None
    results: list[Job]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobPage:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class Mix:
    """`Mix` in the API's schema."""

    id: str
    job_id: str
    status: MixStatusEnum
    progress: int
    preset: str | None
    gains: dict[str, Any]
    start: float | None
    end: float | None
    tempo: float
    semitones: int
    output_format: OutputFormatEnum
    duration_seconds: float | None
    #: Bytes, once ready.
    size: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    #: The job's files (and this mix) are gone.
    expired: bool
    url: str
    #: Once ready, until the job's files expire.
    download_url: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Mix:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class MixInputRequest:
    """`MixInputRequest` in the API's schema."""

    #: Stem name -> gain from 0 to 2 (1 as separated, 2 is +6 dB); stems left out are
    #: silent.
    gains: dict[str, Any] | None = None
    #: `without_<stem>` (e.g. `without_vocals`): every other stem at 1; `gains` given
    #: too override it.
    preset: str = ""
    start: float | None = None
    end: float | None = None
    #: 0.5 to 1.5; the pitch is kept.
    tempo: float = 1.0
    #: -6 to +6; the tempo is kept.
    semitones: int = 0
    #: The job's own unless given.
    output_format: OutputFormatEnum | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MixInputRequest:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class ModelOutput:
    """`ModelOutput` in the API's schema."""

    name: str
    stems: list[str]
    description: str
    #: Whether this server can run it now; a job for a model that cannot is refused (400
    #: `model_unavailable`) and charges nothing.
    available: bool = True
    #: Why it cannot run (e.g. its weights are not installed); empty when available.
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelOutput:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class PatchedEndpointUpdateRequest:
    """`PatchedEndpointUpdateRequest` in the API's schema."""

    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    #: true turns a disabled endpoint back on.
    enabled: bool | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatchedEndpointUpdateRequest:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class StemOutput:
    """`StemOutput` in the API's schema."""

    name: str
    #: Download link; null once the stems have expired.
    url: str | None
    #: Bytes.
    size: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StemOutput:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class WebhookDelivery:
    """`WebhookDelivery` in the API's schema."""

    id: str
    event_id: str
    event_type: str
    url: str
    status: WebhookDeliveryStatusEnum
    attempts: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookDelivery:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class WebhookDeliveryAttempt:
    """`WebhookDeliveryAttempt` in the API's schema."""

    #: Resend it with this id.
    delivery_id: str
    #: The `webhook-id` header sent.
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str
    delivered: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookDeliveryAttempt:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class WebhookEndpoint:
    """`WebhookEndpoint` in the API's schema."""

    id: str
    url: str
    description: str
    events: list[EventsEnum]
    enabled: bool
    #: Why it was disabled (by you, or after failing for 24 hours).
    disabled_reason: str
    #: When its current run of failed deliveries began; null while it answers.
    failing_since: datetime | None
    created_at: datetime
    #: After a rotation: until when the old secret signs too.
    secret_rotated_until: datetime | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookEndpoint:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class WebhookEndpointCreated:
    """`WebhookEndpointCreated` in the API's schema."""

    id: str
    url: str
    description: str
    events: list[EventsEnum]
    enabled: bool
    #: Why it was disabled (by you, or after failing for 24 hours).
    disabled_reason: str
    #: When its current run of failed deliveries began; null while it answers.
    failing_since: datetime | None
    created_at: datetime
    #: After a rotation: until when the old secret signs too.
    secret_rotated_until: datetime | None
    #: `whsec_…`: verify signatures with it. Shown only now.
    secret: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookEndpointCreated:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


@dataclass
class WebhookSecret:
    """`WebhookSecret` in the API's schema."""

    #: `whsec_…`, the new signing secret.
    secret: str
    #: The old secret signs too (a second signature) until then.
    previous_secret_valid_until: datetime | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WebhookSecret:
        return _decode(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)


#: How each class reads and writes its fields:
#: (attribute, JSON key, codec), codecs as in _read().
_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "Account": [
        ("email", "email", ""),
        ("credits", "credits", ""),
        ("active_jobs", "active_jobs", ""),
        ("max_active_jobs", "max_active_jobs", ""),
    ],
    "CallbackSecret": [
        ("secret", "secret", ""),
        ("previous_secret_valid_until", "previous_secret_valid_until", "datetime"),
        ("created_at", "created_at", "datetime"),
    ],
    "EndpointInputRequest": [
        ("url", "url", ""),
        ("events", "events", ""),
        ("description", "description", ""),
    ],
    "Error": [
        ("detail", "detail", ""),
        ("code", "code", ""),
        ("errors", "errors", ""),
        ("slots_free", "slots_free", ""),
        ("credits", "credits", ""),
    ],
    "Job": [
        ("id", "id", ""),
        ("status", "status", ""),
        ("progress", "progress", ""),
        ("stage", "stage", ""),
        ("queue_position", "queue_position", ""),
        ("estimated_start", "estimated_start", "datetime"),
        ("estimated_finish", "estimated_finish", "datetime"),
        ("model", "model", ""),
        ("two_stems", "two_stems", ""),
        ("output_format", "output_format", ""),
        ("filename", "filename", ""),
        ("duration_seconds", "duration_seconds", ""),
        ("created_at", "created_at", "datetime"),
        ("started_at", "started_at", "datetime"),
        ("finished_at", "finished_at", "datetime"),
        ("expires_at", "expires_at", "datetime"),
        ("expired", "expired", ""),
        ("error", "error", ""),
        ("stems", "stems", "list:StemOutput"),
        ("download_url", "download_url", ""),
        ("webhook_url", "webhook_url", ""),
        ("bpm", "bpm", ""),
        ("bpm_confidence", "bpm_confidence", ""),
        ("key", "key", ""),
        ("key_confidence", "key_confidence", ""),
    ],
    "JobCreateFormRequest": [
        ("file", "file", ""),
        ("model", "model", ""),
        ("two_stems", "two_stems", ""),
        ("output_format", "output_format", ""),
        ("webhook_url", "webhook_url", ""),
    ],
    "JobPage": [
        ("count", "count", ""),
        ("next", "next", ""),
        ("previous", "previous", ""),
        ("results", "results", "list:Job"),
    ],
    "Mix": [
        ("id", "id", ""),
        ("job_id", "job_id", ""),
        ("status", "status", ""),
        ("progress", "progress", ""),
        ("preset", "preset", ""),
        ("gains", "gains", ""),
        ("start", "start", ""),
        ("end", "end", ""),
        ("tempo", "tempo", ""),
        ("semitones", "semitones", ""),
        ("output_format", "output_format", ""),
        ("duration_seconds", "duration_seconds", ""),
        ("size", "size", ""),
        ("error", "error", ""),
        ("created_at", "created_at", "datetime"),
        ("finished_at", "finished_at", "datetime"),
        ("expired", "expired", ""),
        ("url", "url", ""),
        ("download_url", "download_url", ""),
    ],
    "MixInputRequest": [
        ("gains", "gains", ""),
        ("preset", "preset", ""),
        ("start", "start", ""),
        ("end", "end", ""),
        ("tempo", "tempo", ""),
        ("semitones", "semitones", ""),
        ("output_format", "output_format", ""),
    ],
    "ModelOutput": [
        ("name", "name", ""),
        ("stems", "stems", ""),
        ("description", "description", ""),
        ("available", "available", ""),
        ("reason", "reason", ""),
    ],
    "PatchedEndpointUpdateRequest": [
        ("url", "url", ""),
        ("events", "events", ""),
        ("description", "description", ""),
        ("enabled", "enabled", ""),
    ],
    "StemOutput": [
        ("name", "name", ""),
        ("url", "url", ""),
        ("size", "size", ""),
    ],
    "WebhookDelivery": [
        ("id", "id", ""),
        ("event_id", "event_id", ""),
        ("event_type", "event_type", ""),
        ("url", "url", ""),
        ("status", "status", ""),
        ("attempts", "attempts", ""),
    ],
    "WebhookDeliveryAttempt": [
        ("delivery_id", "delivery_id", ""),
        ("event_id", "event_id", ""),
        ("event_type", "event_type", ""),
        ("attempt", "attempt", ""),
        ("at", "at", "datetime"),
        ("status_code", "status_code", ""),
        ("duration_ms", "duration_ms", ""),
        ("error", "error", ""),
        ("delivered", "delivered", ""),
    ],
    "WebhookEndpoint": [
        ("id", "id", ""),
        ("url", "url", ""),
        ("description", "description", ""),
        ("events", "events", ""),
        ("enabled", "enabled", ""),
        ("disabled_reason", "disabled_reason", ""),
        ("failing_since", "failing_since", "datetime"),
        ("created_at", "created_at", "datetime"),
        ("secret_rotated_until", "secret_rotated_until", "datetime"),
    ],
    "WebhookEndpointCreated": [
        ("id", "id", ""),
        ("url", "url", ""),
        ("description", "description", ""),
        ("events", "events", ""),
        ("enabled", "enabled", ""),
        ("disabled_reason", "disabled_reason", ""),
        ("failing_since", "failing_since", "datetime"),
        ("created_at", "created_at", "datetime"),
        ("secret_rotated_until", "secret_rotated_until", "datetime"),
        ("secret", "secret", ""),
    ],
    "WebhookSecret": [
        ("secret", "secret", ""),
        ("previous_secret_valid_until", "previous_secret_valid_until", "datetime"),
    ],
}


#: (method, path, operationId) of every operation in the API.
OPERATIONS: list[tuple[str, str, str]] = [
    ("GET", "/api/v1/jobs/", "jobs_list"),
    ("POST", "/api/v1/jobs/", "jobs_create"),
    ("GET", "/api/v1/jobs/{id}/", "jobs_retrieve"),
    ("DELETE", "/api/v1/jobs/{id}/", "jobs_destroy"),
    ("GET", "/api/v1/jobs/{id}/download/", "jobs_download"),
    ("GET", "/api/v1/jobs/{id}/mixes/", "mixes_list"),
    ("POST", "/api/v1/jobs/{id}/mixes/", "mixes_create"),
    ("GET", "/api/v1/jobs/{id}/mixes/{mix_id}/", "mixes_retrieve"),
    ("GET", "/api/v1/jobs/{id}/mixes/{mix_id}/download/", "mixes_download"),
    ("GET", "/api/v1/jobs/{id}/stems/{name}/", "jobs_stem_download"),
    ("GET", "/api/v1/me/", "me_retrieve"),
    ("GET", "/api/v1/models/", "models_list"),
    ("GET", "/api/v1/webhooks/", "webhooks_list"),
    ("POST", "/api/v1/webhooks/", "webhooks_create"),
    ("GET", "/api/v1/webhooks/callback-secret/", "webhooks_callback_secret"),
    (
        "POST",
        "/api/v1/webhooks/callback-secret/rotate/",
        "webhooks_callback_secret_rotate",
    ),
    ("GET", "/api/v1/webhooks/{id}/", "webhooks_retrieve"),
    ("DELETE", "/api/v1/webhooks/{id}/", "webhooks_destroy"),
    ("PATCH", "/api/v1/webhooks/{id}/", "webhooks_update"),
    ("GET", "/api/v1/webhooks/{id}/deliveries/", "webhooks_deliveries"),
    (
        "POST",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend/",
        "webhooks_resend",
    ),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret/", "webhooks_rotate_secret"),
    ("POST", "/api/v1/webhooks/{id}/test/", "webhooks_test"),
]
