"""Reads with a rule: whose jobs these are, what an account may still do, and
which queued job is the fairest to start next."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from billing.services import account_for_user

from . import catalog
from .models import Job, JobQuerySet, Stem

if TYPE_CHECKING:
    from accounts.models import User


def jobs_for_user(*, user: "User") -> JobQuerySet:
    """The person's jobs, newest first: every page and API call starts here.

    Leaves out the demucs log (up to 20 kB a job), which people never see.
    """
    return Job.objects.for_user(user).defer("error_log")


def job_get_for_user(*, user: "User", pk: uuid.UUID | str) -> Job:
    """The person's job, or Http404: another person's job does not exist for
    them (never a 403), on the site and in the API alike."""
    try:
        return jobs_for_user(user=user).get(pk=pk)
    except (Job.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such job.") from missing


def stem_get(*, job: Job, name: str) -> Stem:
    """One of the job's stems, for a download (every seek of the player is one):
    without its waveform peaks, hundreds of numbers no download needs."""
    try:
        return job.stems.defer("peaks").get(name=name)
    except Stem.DoesNotExist as missing:
        raise Http404("No such stem.") from missing


def stems_by_job(jobs: Sequence[Job]) -> dict[uuid.UUID, list[tuple[str, int]]]:
    """(name, size) of each job's stems in a musician's order, in one query
    (names and sizes only: the waveform peaks are hundreds of numbers each)."""
    stems: dict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)
    if jobs:
        rows = Stem.objects.filter(job__in=[job.pk for job in jobs]).values_list(
            "job_id", "name", "size_bytes"
        )
        for job_id, name, size in rows:
            stems[job_id].append((name, size))
        for pairs in stems.values():
            pairs.sort(key=lambda pair: catalog.stem_sort_key(pair[0]))
    return stems


@dataclass(frozen=True)
class AccountSummary:
    email: str
    credits: int
    active_jobs: int
    max_active_jobs: int


def account_summary(*, user: "User") -> AccountSummary:
    """Credits and job slots: what GET /api/v1/me/ and the dashboard show."""
    return AccountSummary(
        email=user.email,
        credits=account_for_user(user).balance,
        active_jobs=Job.objects.for_user(user).active().count(),
        max_active_jobs=settings.MAX_ACTIVE_JOBS_PER_USER,
    )


def fairest_queued() -> JobQuerySet:
    """Queued jobs in the order they should start: the person with the fewest
    running jobs, then the one served least recently, then the oldest song.

    So one person's five queued songs never hold another person's first song
    behind all five.
    """
    user_jobs = Job.objects.filter(user=OuterRef("user")).order_by()
    running = (
        user_jobs.filter(status=Job.Status.RUNNING)
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_start = (
        user_jobs.filter(started_at__isnull=False)
        .order_by("-started_at")
        .values("started_at")[:1]
    )
    return (
        Job.objects.filter(status=Job.Status.QUEUED)
        .annotate(
            user_running=Coalesce(Subquery(running), 0),
            user_last_start=Subquery(last_start),
        )
        .order_by(
            "user_running",
            F("user_last_start").asc(nulls_first=True),
            "created_at",
        )
    )


# The first argument of our advisory locks (PostgreSQL), so they never meet
# anyone else's: "dispatch, per person".
DISPATCH_LOCKS = 18_2026
HOST_LOCKS = 18_2027  # "dispatch, per host"
DISPATCH_CANDIDATES = 50


def host_dispatch_lock(host: str) -> None:
    """Wait until no other worker of `host` is choosing a job; held until the
    caller's transaction ends (PostgreSQL; elsewhere, nothing)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [HOST_LOCKS, host]
        )


def fairest_queued_lock() -> Job | None:
    """The fairest queued job that no other worker is starting, its row locked
    until the caller's transaction ends (call it inside one).

    While a worker starts one person's job, the others pass over that person's
    other jobs too (an advisory lock per person, PostgreSQL): with SKIP LOCKED
    alone, two workers choosing at the same moment (two hosts, two slots)
    would both pick that person's songs, the second one skipping the first."""
    if connection.vendor != "postgresql":
        return (
            fairest_queued().select_for_update(skip_locked=True, of=("self",)).first()
        )
    candidates = fairest_queued().values_list("pk", "user_id")[:DISPATCH_CANDIDATES]
    for pk, user_id in list(candidates):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)", [DISPATCH_LOCKS, user_id]
            )
            (locked,) = cursor.fetchone()
        if not locked:
            continue
        job = (
            Job.objects.filter(pk=pk, status=Job.Status.QUEUED)
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if job is not None:
            return job
    return None
