"""Mixes: a person's own render of a finished job's stems.

Chosen stems with gains, optionally a region, a tempo and a transposition, in
one format. The same parameters on the same job are one `Mix`, rendered once
(`fingerprint` is unique per job) and served until the job's files expire; the
file lives in the job's outputs folder and goes with it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobs.models import Job


class Mix(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Rendering"
        SUCCEEDED = "succeeded", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="mixes")
    fingerprint = models.CharField(max_length=64)
    # The parameters as given: gains {stem: 0..2}, start, end, tempo,
    # semitones, output_format (mixes.services.MixParameters).
    parameters = models.JSONField()
    preset = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    relative_path = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "fingerprint"], name="mix_rendered_once_per_job"
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="mix_progress_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"mix {self.pk} of {self.job_id}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class MixSubmission(models.Model):
    """An `Idempotency-Key` of POST .../mixes/ and the mix it asked for."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    mix = models.ForeignKey(Mix, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="mix_key_once")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.mix_id}"
