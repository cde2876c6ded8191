"""A separation job, the stems it produced, and the hosts that separate."""

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import User


class JobQuerySet(models.QuerySet["Job"]):
    def active(self) -> "JobQuerySet":
        return self.filter(status__in=Job.ACTIVE_STATUSES)

    def for_user(self, user: "User") -> "JobQuerySet":
        return self.filter(user=user)


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Separating"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class OutputFormat(models.TextChoices):
        MP3 = "mp3", "MP3 (320 kbps)"
        WAV = "wav", "WAV (16-bit)"
        FLAC = "flac", "FLAC (lossless)"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    original_filename = models.CharField(max_length=255)
    # The upload's extension, chosen from a fixed list: never the uploaded name.
    input_extension = models.CharField(max_length=8)
    model = models.CharField(max_length=64)
    two_stems = models.CharField(max_length=32, blank=True)
    output_format = models.CharField(
        max_length=8, choices=OutputFormat.choices, default=OutputFormat.MP3
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    error_log = models.TextField(
        blank=True, help_text="Raw demucs output, for operators."
    )
    duration_seconds = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written every few seconds by the worker following a running job; the
    # reaper fails a running job whose worker has gone quiet.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When demucs exited: from then on its stems are being encoded and measured.
    separated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    files_purged_at = models.DateTimeField(null=True, blank=True)
    # Where this job's events go too, besides its owner's webhook endpoints.
    webhook_url = models.URLField(max_length=2000, blank=True)
    # Detected once after separation (jobs.analysis); null when unsure.
    bpm = models.FloatField(null=True, blank=True)
    bpm_confidence = models.FloatField(null=True, blank=True)
    key = models.CharField(max_length=16, blank=True)
    key_confidence = models.FloatField(null=True, blank=True)
    # The separation host running it (MUXMINUS_HOST of its worker), once started.
    host = models.CharField(max_length=100, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            # Dispatch asks, per queued job, when its owner was last served.
            models.Index(fields=["user", "-started_at"], name="job_user_last_started"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="job_progress_at_most_100"
            )
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.model}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def expired(self) -> bool:
        """True once the stems are gone or past their retention time."""
        if self.files_purged_at is not None:
            return True
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def stage(self) -> str:
        """What a person is told the job is doing: waiting, separating, encoding,
        ready, expired, failed or cancelled."""
        if self.status == self.Status.QUEUED:
            return "waiting"
        if self.status == self.Status.RUNNING:
            return "encoding" if self.separated_at else "separating"
        if self.status == self.Status.SUCCEEDED:
            return "expired" if self.expired else "ready"
        return str(self.status)

    @property
    def status_label(self) -> str:
        """The badge: the status, or "Encoding" once demucs is done (so that it
        agrees with the stage text beside it)."""
        return "Encoding" if self.stage == "encoding" else self.get_status_display()

    @property
    def downloadable(self) -> bool:
        return self.status == self.Status.SUCCEEDED and not self.expired

    @property
    def title(self) -> str:
        """The original name without its extension, for display and downloads."""
        return self.original_filename.rsplit(".", 1)[0] or "song"


class SeparationHost(models.Model):
    """A machine running RQ workers and its own stemworker, as it last said
    (jobs/hosts.py: each host's heartbeat writes its row every few seconds)."""

    name = models.CharField(max_length=100, unique=True)
    device = models.CharField(max_length=16, blank=True)  # "cpu" or "cuda"
    slots = models.PositiveSmallIntegerField(default=0)
    busy = models.PositiveSmallIntegerField(default=0)
    offered_models = models.JSONField(
        default=list, help_text="The models it offers, as its stemworker lists them."
    )
    reachable = models.BooleanField(
        default=True, help_text="Whether its stemworker answered the last beat."
    )
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set when it was told to stop (SIGTERM): it starts nothing new, and hands
    # back what is still separating after HOST_DRAIN_SECONDS.
    draining_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stem(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="stems")
    name = models.CharField(max_length=32)
    # Relative to SHARED_ROOT, so the volume can be mounted anywhere.
    relative_path = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    duration_seconds = models.FloatField(null=True, blank=True)
    peaks = models.JSONField(default=list, help_text="Waveform peaks, 0..1.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="stem_unique_per_job")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.name}"

    @property
    def path(self) -> Path:
        return settings.SHARED_ROOT / self.relative_path

    @property
    def extension(self) -> str:
        return self.relative_path.rsplit(".", 1)[-1]


class JobSubmission(models.Model):
    """A POST of jobs sent with an `Idempotency-Key`: what it created.

    Written in the admission transaction, so it exists exactly when the debit
    does; a retry with the same key gets these jobs back instead of new ones.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="job_submissions",
    )
    key = models.CharField(max_length=255)
    # A hash of what was sent (options, file names and sizes): a key reused
    # for a different request is refused, not answered with unrelated jobs.
    fingerprint = models.CharField(max_length=64)
    job_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="job_submission_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"
