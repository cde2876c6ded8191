"""`Idempotency-Key` on job creation: a retried POST gets the jobs it created.

The key maps (user, key) to the created job ids in PostgreSQL, written in the
admission transaction (with the user's credit account locked), so the record
exists exactly when the debit does. Two retries racing each other queue on
that lock: the second sees the first's record and charges nothing. Keys are
kept IDEMPOTENCY_KEY_HOURS (24); an older key counts as new.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from core.errors import DomainError
from jobs.models import Job, JobSubmission

if TYPE_CHECKING:
    from accounts.models import User

MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422


@dataclass
class IdempotentRequest:
    """The key a client sent and a fingerprint of what it sent with it."""

    key: str
    fingerprint: str
    replayed: bool = False


def idempotent_request_build(
    *,
    key: str,
    uploads: Sequence[UploadedFile],
    model: str,
    two_stems: str,
    output_format: str,
    webhook_url: str = "",
) -> IdempotentRequest:
    """Check the key and fingerprint the request (options, file names, sizes).

    Raises DomainError (400 `invalid`) for an empty or over-long key.
    """
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise DomainError(
            f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable "
            "characters; a UUID is a good choice."
        )
    sent = {
        "model": model,
        "two_stems": two_stems or "",
        "output_format": output_format,
        "files": [[upload.name or "", upload.size] for upload in uploads],
    }
    if webhook_url.strip():  # only then: keys sent before it existed still match
        sent["webhook_url"] = webhook_url.strip()
    digest = hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()
    return IdempotentRequest(key=key, fingerprint=digest)


def _cutoff() -> datetime:
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def idempotent_replay(*, user: "User", request: IdempotentRequest) -> list[Job] | None:
    """The jobs an earlier request with this key created (those not deleted since),
    or None when the key is new. Raises IdempotencyKeyReused when the earlier
    request was a different one.
    """
    earlier = JobSubmission.objects.filter(
        user=user, key=request.key, created_at__gte=_cutoff()
    ).first()
    if earlier is None:
        return None
    if earlier.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request "
            "(other files or options). Use a new key for a new request."
        )
    request.replayed = True
    found = {
        str(job.pk): job
        for job in Job.objects.for_user(user).filter(pk__in=earlier.job_ids)
    }
    return [found[pk] for pk in earlier.job_ids if pk in found]


def idempotent_record(
    *, user: "User", request: IdempotentRequest, jobs: Sequence[Job]
) -> None:
    """Remember what this key created. Call it in the admission transaction,
    after locking the credit account; expired keys of the user go first.
    """
    JobSubmission.objects.filter(user=user, created_at__lt=_cutoff()).delete()
    JobSubmission.objects.create(
        user=user,
        key=request.key,
        fingerprint=request.fingerprint,
        job_ids=[str(job.pk) for job in jobs],
    )
