"""Webhooks: where a person's job events go, what was sent, and how it went.

An `Endpoint` is a URL someone registered for some event types; a job created
with a `webhook_url` sends its events there too, signed with the person's
`CallbackSecret`. Every event is one `Message` (its id is the `webhook-id`
receivers de-duplicate on); each target of a message is one `Delivery`, retried
until it is answered 2xx or gives up; each try is an `Attempt`, the log a person
reads (the last 100 per endpoint are kept).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    JOB_SUCCEEDED = "job.succeeded", "A job succeeded"
    JOB_FAILED = "job.failed", "A job failed"
    JOB_CANCELLED = "job.cancelled", "A job was cancelled"
    JOB_EXPIRED = "job.expired", "A job's files expired"
    MIX_SUCCEEDED = "mix.succeeded", "A mix is ready"


# Sent only by "Send a test event"; nobody subscribes to it.
TEST_EVENT = "webhook.test"


class Endpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types it receives.")
    secret = models.CharField(max_length=64)
    # After a rotation the old secret signs too, until previous_secret_until.
    previous_secret = models.CharField(max_length=64, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The first failure of the current run of failures; cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class CallbackSecret(models.Model):
    """Signs what goes to the `webhook_url` of a person's jobs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_callback_secret",
    )
    secret = models.CharField(max_length=64)
    previous_secret = models.CharField(max_length=64, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"callback secret of {self.user_id}"


class Message(models.Model):
    """One event, as sent: the same id and body on every attempt."""

    id = models.CharField(primary_key=True, max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_messages",
    )
    event_type = models.CharField(max_length=40)
    # What it is about (a job, a mix): not a foreign key, so that a deleted
    # job's cancellation is still told.
    subject_id = models.UUIDField(null=True, blank=True)
    body = models.TextField(help_text="The JSON sent, byte for byte.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One event per subject and type, however often it is published.
            models.UniqueConstraint(
                fields=["subject_id", "event_type"],
                name="webhook_message_once_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Null for a job's own webhook_url (signed with the CallbackSecret).
    endpoint = models.ForeignKey(
        Endpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    url = models.URLField(max_length=2000)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # When it was last put on the queue: the sweep re-enqueues a due delivery
    # that has not been for a while (Redis lost it), not one waiting its turn.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker is trying; a claim older than this is stale.
    claimed_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"], name="webhook_delivery_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id} -> {self.url}"


class Attempt(models.Model):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    # Denormalised: the endpoint's log is read (and pruned) without a join.
    endpoint = models.ForeignKey(
        Endpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attempts",
    )
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["endpoint", "-at"], name="webhook_log")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
