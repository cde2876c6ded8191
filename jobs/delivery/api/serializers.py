"""The API's bodies as OpenAPI documents them.

Answers are built by jobs.delivery.presenters (one shape for the API and the
dashboard); these serializers describe them for the schema, and read the
upload form.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from jobs.models import Job


class StemOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField(
        allow_null=True, help_text="Download link; null once the stems have expired."
    )
    size = serializers.IntegerField(help_text="Bytes.")


@extend_schema_serializer(component_name="Job")
class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Job.Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    stage = serializers.ChoiceField(
        choices=["waiting", "separating", "encoding", "ready", "expired"]
        + ["failed", "cancelled"],
        help_text="What the job is doing now, in a person's words.",
    )
    queue_position = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        help_text="While queued: 1 when it starts next, in the server's fair "
        "order across people (uploads by others may take a place ahead); "
        "null once started.",
    )
    estimated_start = serializers.DateTimeField(
        allow_null=True, help_text="While queued: when it should start; an estimate."
    )
    estimated_finish = serializers.DateTimeField(
        allow_null=True,
        help_text="While queued or running: when its stems should be ready; an "
        "estimate from this server's recent jobs.",
    )
    model = serializers.CharField()
    two_stems = serializers.CharField(
        allow_null=True, help_text="The stem split from the rest, or null: all."
    )
    output_format = serializers.ChoiceField(choices=Job.OutputFormat.choices)
    filename = serializers.CharField()
    duration_seconds = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    expired = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)
    stems = StemOutputSerializer(many=True)
    download_url = serializers.URLField(
        allow_null=True,
        help_text="The zip of all stems; null until succeeded and once expired.",
    )
    webhook_url = serializers.URLField(
        allow_null=True,
        help_text="Where this job's events go too (given at upload), or null.",
    )
    bpm = serializers.FloatField(
        allow_null=True,
        help_text="Tempo in beats per minute, detected after separation (from "
        "the drums where there are some); null until then, or when unsure.",
    )
    bpm_confidence = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    key = serializers.CharField(
        allow_null=True,
        help_text="The key, e.g. `A minor` or `F# major`, from the harmonic stems; "
        "null until detected, or when unsure.",
    )
    key_confidence = serializers.FloatField(allow_null=True, min_value=0, max_value=1)


@extend_schema_serializer(component_name="JobPage")
class JobPageSerializer(serializers.Serializer):
    """Documents the paginated list (ApiPagination's envelope)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobOutputSerializer(many=True)


# Documents the multipart form only; JobListCreateApi.InputSerializer reads it
# leniently so that jobs.intake answers with the valid choices in its 400.
@extend_schema_serializer(component_name="JobCreateForm")
class JobCreateFormSerializer(serializers.Serializer):
    """The upload form: files and the separation options for all of them."""

    file = serializers.ListField(
        child=serializers.FileField(),
        help_text="One or more audio files (mp3, wav, flac, ogg, m4a, aac, aiff, "
        "opus); one job, and one credit, each.",
    )
    model = serializers.ChoiceField(
        choices=settings.DEMUCS_MODELS,
        help_text="A model from GET /api/v1/models/.",
    )
    two_stems = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="One of the model's stems (e.g. `vocals`) to split from the "
        "rest; empty or absent: every stem.",
    )
    output_format = serializers.ChoiceField(
        choices=Job.OutputFormat.choices, required=False, default="mp3"
    )
    webhook_url = serializers.URLField(
        required=False,
        allow_blank=True,
        help_text="An http(s) URL that receives this job's events (`job.succeeded`, "
        "`job.failed`, `job.cancelled`, `job.expired`), signed by the Standard "
        "Webhooks scheme with your callback secret (GET /api/v1/webhooks/"
        "callback-secret/), besides your registered endpoints.",
    )


class ModelOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    stems = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    available = serializers.BooleanField(
        default=True,
        help_text="Whether this server can run it now; a job for a model that "
        "cannot is refused (400 `model_unavailable`) and charges nothing.",
    )
    reason = serializers.CharField(
        allow_blank=True,
        default="",
        help_text="Why it cannot run (e.g. its weights are not installed); "
        "empty when available.",
    )


@extend_schema_serializer(component_name="Account")
class AccountSerializer(serializers.Serializer):
    email = serializers.EmailField()
    credits = serializers.IntegerField()
    active_jobs = serializers.IntegerField()
    max_active_jobs = serializers.IntegerField()
