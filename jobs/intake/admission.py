"""Admission: a batch of uploads becomes queued jobs and debits, all or nothing.

The entry point of the site's form and of POST /api/v1/jobs/ alike.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.services import user_ensure_can_submit_jobs
from billing.services import InsufficientCredits, account_lock, credits_debit
from jobs import budget, messages, storage, turns
from jobs.models import Job

from .errors import InvalidAudio, InvalidJobRequest, TooManyActiveJobs
from .idempotency import IdempotentRequest, idempotent_record, idempotent_replay
from .options import JobOptions, job_options_validate
from .staging import StagedUpload, upload_stage, uploads_discard

if TYPE_CHECKING:
    from accounts.models import User


def jobs_submit(
    *,
    user: "User",
    uploads: Sequence[UploadedFile],
    model: str,
    two_stems: str = "",
    output_format: str = "mp3",
    webhook_url: str = "",
    idempotency: IdempotentRequest | None = None,
) -> list[Job]:
    """Validate, stage and admit a batch of uploads, all or nothing.

    Raises a DomainError with a message for people (EmailNotVerified before the
    address is verified); nothing is left on disk when it does. With
    `idempotency`, a retry returns what the first request created and charges
    nothing.
    """
    user_ensure_can_submit_jobs(user=user)
    storage.shared_volume_ensure_room()
    if idempotency is not None:
        earlier = idempotent_replay(user=user, request=idempotency)
        if earlier is not None:
            return earlier
    options = job_options_validate(
        model=model,
        two_stems=two_stems,
        output_format=output_format,
        webhook_url=webhook_url,
    )
    if not uploads:
        raise InvalidJobRequest(messages.NO_FILES)
    staged: list[StagedUpload] = []
    try:
        for upload in uploads:
            staged.append(upload_stage(upload))
        _check_lengths(staged, options)
        return jobs_admit(
            user=user, staged=staged, options=options, idempotency=idempotency
        )
    except BaseException:
        uploads_discard(staged)
        raise


def _check_lengths(staged: Sequence[StagedUpload], options: JobOptions) -> None:
    """A song whose separation could not finish within the stemworker's cap is
    refused now, not killed as "took too long" after hours of work."""
    longest = budget.longest_admissible_seconds(model=options.model)
    for item in staged:
        if item.duration > longest:
            raise InvalidAudio(
                messages.too_long_for_model(
                    item.original_filename, item.duration, options.model, longest
                )
            )


def jobs_admit(
    *,
    user: "User",
    staged: Sequence[StagedUpload],
    options: JobOptions,
    idempotency: IdempotentRequest | None = None,
) -> list[Job]:
    """Admit one job per staged upload, all or nothing.

    First stores each upload as its job's input (`uploads/<job id>/`, before
    any lock: on s3 that is an upload to the bucket). Then, atomic, with the
    user's credit account locked: checks the active-job cap and the balance for
    the whole batch, debits one credit per job, and gives the dispatcher one
    turn per job once committed. Raises TooManyActiveJobs or
    InsufficientCredits, having created nothing and discarded the uploads. With
    `idempotency`, a key already used returns the jobs it created (staged files
    discarded) and a new key is recorded with the jobs, under the same lock.
    """
    created: list[Job] = []
    try:
        for item in staged:
            item.keep()  # before the lock: on s3 this uploads to the bucket
        with transaction.atomic():
            account = account_lock(user)
            if idempotency is not None:
                # Under the lock: a concurrent retry with this key has committed.
                earlier = idempotent_replay(user=user, request=idempotency)
                if earlier is not None:
                    uploads_discard(staged)
                    return earlier
            _check_admission(user, account.balance, len(staged))
            for item in staged:
                created.append(_job_admit(user, item, options))
            if idempotency is not None:
                idempotent_record(user=user, request=idempotency, jobs=created)
            count = len(created)
            transaction.on_commit(lambda: turns.turns_add(count))
    except BaseException:
        uploads_discard(staged)
        raise
    return created


def _check_admission(user: "User", balance: int, wanted: int) -> None:
    active_jobs = list(Job.objects.for_user(user).active())
    active = len(active_jobs)
    cap = settings.MAX_ACTIVE_JOBS_PER_USER
    free = max(0, cap - active)
    refusal: TooManyActiveJobs | InsufficientCredits
    if wanted > free:
        refusal = TooManyActiveJobs(
            messages.too_many_active(
                active=active, cap=cap, free=free, wanted=wanted, balance=balance
            ),
            retry_after=budget.retry_after_seconds(active=active_jobs),
        )
    elif balance < wanted:
        refusal = InsufficientCredits(
            messages.not_enough_credits(balance=balance, wanted=wanted, free=free)
        )
    else:
        return
    refusal.extra.update(slots_free=free, credits=balance)
    raise refusal


def _job_admit(user: "User", item: StagedUpload, options: JobOptions) -> Job:
    job = Job.objects.create(
        id=item.job_id,
        user=user,
        original_filename=item.original_filename,
        input_extension=item.extension,
        model=options.model,
        two_stems=options.two_stems,
        output_format=options.output_format,
        webhook_url=options.webhook_url,
        duration_seconds=item.duration,
    )
    credits_debit(user=user, amount=1, job=job)
    return job
