"""REST API for jobs and models (ARCHITECTURE section 4).

Thin views: every rule lives in jobs.services; ownership is checked in one
place (`_jobs_for`), and another person's job is a 404 for every verb.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import signed_in_user
from config.api import RETRY_AFTER, ApiPagination, error_responses
from config.throttling import ApiRateThrottle, JobCreateRateThrottle

from . import catalog, downloads, services, volume
from .idempotency import idempotent_request_build
from .models import Job, JobQuerySet, Stem

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID) up to 255 characters. Retrying a POST with "
        "the same key within 24 hours returns the jobs the first one created "
        "(header `Idempotent-Replayed: true`) instead of charging again; the "
        "same key with different files or options is a 422."
    ),
)


class StemOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField(
        allow_null=True, help_text="Download link; null once the stems have expired."
    )
    size = serializers.IntegerField(help_text="Bytes.")


def _when(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as DRF writes it (TIME_ZONE is UTC)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


@extend_schema_serializer(component_name="Job")
class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Job.Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
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

    def to_representation(self, job: Job) -> dict[str, Any]:
        # Built by hand (the fields above document it): a page of 100 jobs with
        # their stems is the API's most frequent answer, and DRF's field-by-field
        # path, model instances for every stem and an absolute URL built per
        # stem were most of its cost. Context: see _jobs_data.
        job_url = f"{self.context['jobs_url']}{job.pk}/"
        downloadable = job.downloadable
        return {
            "id": str(job.pk),
            "status": job.status,
            "progress": job.progress,
            "model": job.model,
            "two_stems": job.two_stems or None,
            "output_format": job.output_format,
            "filename": job.original_filename,
            "duration_seconds": job.duration_seconds,
            "created_at": _when(job.created_at),
            "started_at": _when(job.started_at),
            "finished_at": _when(job.finished_at),
            "expires_at": _when(job.expires_at),
            "expired": job.expired,
            "error": job.error or None,
            "stems": [
                {
                    "name": name,
                    "url": f"{job_url}stems/{name}/" if downloadable else None,
                    "size": size,
                }
                for name, size in self.context["stems"].get(job.pk, ())
            ],
            "download_url": f"{job_url}download/" if downloadable else None,
        }


@extend_schema_serializer(component_name="JobPage")
class JobPageSerializer(serializers.Serializer):
    """Documents the paginated list (ApiPagination's envelope)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobOutputSerializer(many=True)


# Documents the multipart form only; JobListCreateApi.InputSerializer reads it
# leniently so that jobs.services answers with the valid choices in its 400.
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


class ModelOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    stems = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)


def _jobs_for(request: Request) -> JobQuerySet:
    """The signed-in person's jobs: every lookup goes through here.

    Leaves out the demucs log (up to 20 kB a job), which the API never shows.
    """
    return Job.objects.for_user(signed_in_user(request)).defer("error_log")


def _jobs_data(request: Request, jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """The `job` bodies for these jobs, with their stems read in one query
    (names and sizes only: the waveform peaks are hundreds of numbers each)."""
    stems: dict[uuid.UUID, list[tuple[str, int]]] = defaultdict(list)
    if jobs:
        rows = Stem.objects.filter(job__in=[job.pk for job in jobs]).values_list(
            "job_id", "name", "size_bytes"
        )
        for job_id, name, size in rows.order_by("id"):
            stems[job_id].append((name, size))
    context = {
        "request": request,
        "jobs_url": request.build_absolute_uri("/api/v1/jobs/"),
        "stems": stems,
    }
    serializer = JobOutputSerializer(context=context)
    return [serializer.to_representation(job) for job in jobs]


class OwnJobApiView(APIView):
    # Base for views under /jobs/<pk>/: a verb they lack is a 405 on your own
    # job and a 404 on anybody else's (or a missing one), like every other verb.
    # (A comment, not a docstring: the schema would show it.)

    def _ensure_own_job(self, request: Request, pk: Any) -> None:
        if not _jobs_for(request).filter(pk=pk).exists():
            raise Http404

    def http_method_not_allowed(  # type: ignore[override]  # as DRF's stubs
        self, request: Request, *args: Any, **kwargs: Any
    ) -> Response:
        self._ensure_own_job(request, kwargs["pk"])
        return super().http_method_not_allowed(request, *args, **kwargs)

    def options(  # type: ignore[override]  # as DRF's stubs
        self, request: Request, *args: Any, **kwargs: Any
    ) -> Response:
        self._ensure_own_job(request, kwargs["pk"])
        return super().options(request, *args, **kwargs)


class ModelListApi(APIView):
    @extend_schema(
        operation_id="models_list",
        summary="Models offered",
        description="Each model's name and the stems it produces; `two_stems` "
        "takes one of these.",
        responses={200: ModelOutputSerializer(many=True), **error_responses()},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request) -> Response:
        return Response(
            ModelOutputSerializer(catalog.models_available(), many=True).data
        )


class JobListCreateApi(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [ApiRateThrottle, JobCreateRateThrottle]

    class InputSerializer(serializers.Serializer):
        file = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True),
            allow_empty=False,
            error_messages={"empty": "Send at least one audio file as `file`."},
        )
        model = serializers.CharField(required=False, allow_blank=True, default="")
        two_stems = serializers.CharField(required=False, allow_blank=True, default="")
        output_format = serializers.CharField(required=False, default="mp3")

    @extend_schema(
        operation_id="jobs_list",
        summary="Your jobs, newest first",
        parameters=[
            OpenApiParameter(
                "page", {"type": "integer", "minimum": 1}, description="From 1."
            ),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": 100},
                description="Jobs per page: 50 unless set, 100 at most.",
            ),
            RETRY_AFTER,
        ],
        responses={200: JobPageSerializer, **error_responses(404)},
    )
    def get(self, request: Request) -> Response:
        paginator = ApiPagination()
        page = paginator.paginate_queryset(_jobs_for(request), request, view=self)
        return paginator.get_paginated_response(_jobs_data(request, page or []))

    @extend_schema(
        operation_id="jobs_create",
        summary="Upload songs to separate",
        description=(
            "One job per file, all or nothing: when your free job slots or credits "
            "do not cover every file, nothing is created and the error says how "
            "many remain (`slots_free`, `credits`). Each job costs one credit, "
            "refunded if the separation fails or you cancel it."
        ),
        request={"multipart/form-data": JobCreateFormSerializer},
        parameters=[IDEMPOTENCY_KEY, RETRY_AFTER],
        responses={
            201: JobOutputSerializer(many=True),
            **error_responses(400, 402, 403, 413, 415, 422, 503),
        },
    )
    def post(self, request: Request) -> Response:
        volume.shared_volume_ensure_room()  # then no byte of the body is stored
        files = request.FILES.getlist("file")  # parses (streams) the whole body
        if getattr(request._request, "upload_too_large", False):
            raise services.FileTooLarge(
                f"Each file can be at most {settings.MAX_UPLOAD_MB} MB."
            )
        fields = {
            k: request.data[k]
            for k in ("model", "two_stems", "output_format")
            if request.data.get(k) is not None
        }
        serializer = self.InputSerializer(data={**fields, "file": files})
        serializer.is_valid(raise_exception=True)
        options = {
            k: serializer.validated_data[k]
            for k in ("model", "two_stems", "output_format")
        }
        key = request.headers.get("Idempotency-Key")
        idempotency = None
        if key is not None:
            idempotency = idempotent_request_build(key=key, uploads=files, **options)
        jobs = services.jobs_submit(
            user=signed_in_user(request),
            uploads=serializer.validated_data["file"],
            idempotency=idempotency,
            **options,
        )
        fresh = _jobs_for(request).in_bulk([job.pk for job in jobs])
        ordered = [fresh[job.pk] for job in jobs if job.pk in fresh]
        body = _jobs_data(request, ordered)
        response = Response(body, status=status.HTTP_201_CREATED)
        if idempotency is not None and idempotency.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class JobDetailApi(OwnJobApiView):
    @extend_schema(
        operation_id="jobs_retrieve",
        summary="One job: status, progress, stems",
        responses={200: JobOutputSerializer, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        return Response(_jobs_data(request, [job])[0])

    @extend_schema(
        operation_id="jobs_destroy",
        summary="Cancel (credit refunded) and delete a job",
        description="A queued or running job is stopped and its credit refunded; "
        "its stems and files are deleted.",
        responses={204: None, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def delete(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        services.job_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


GONE = {"detail": "These stems have expired and were deleted.", "code": "expired"}
NOT_READY = {"detail": "This job has no stems yet.", "code": "not_ready"}
RANGE_REFUSED = OpenApiResponse(
    description="The Range asked for lies outside the file (no body)."
)


def _binary(description: str, *media_types: str) -> dict[Any, Any]:
    """Download answers: the whole file (200) or the part asked by Range (206)."""
    return {
        (code, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=text)
        for code, text in ((200, description), (206, "The requested byte range."))
        for media_type in media_types
    }


class StemDownloadApi(OwnJobApiView):
    @extend_schema(
        operation_id="jobs_stem_download",
        summary="Download one stem",
        description="Supports `Range`; the file name is `<song> - <stem>.<ext>`.",
        responses={
            **_binary("The stem's audio.", "audio/mpeg", "audio/wav", "audio/flac"),
            416: RANGE_REFUSED,
            **error_responses(404, 410),
        },
        parameters=[
            OpenApiParameter(
                "name",
                {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
                OpenApiParameter.PATH,
                description="A stem's name, as listed in the job's `stems`.",
            ),
            RETRY_AFTER,
        ],
    )
    def get(self, request: Request, pk: str, name: str) -> Any:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        stem = get_object_or_404(job.stems.defer("peaks"), name=name)
        if job.expired:
            return Response(GONE, status=status.HTTP_410_GONE)
        filename = downloads.stem_filename(job, stem.name, stem.extension)
        return downloads.file_response(
            request._request, stem.path, filename=filename, as_attachment=True
        )


class JobZipApi(OwnJobApiView):
    @extend_schema(
        operation_id="jobs_download",
        summary="Download all stems as a zip",
        description="404 `not_ready` until the job has succeeded; supports `Range`.",
        responses={
            **_binary("A zip of every stem.", "application/zip"),
            416: RANGE_REFUSED,
            **error_responses(404, 410),
        },
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str) -> Any:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        if job.status != Job.Status.SUCCEEDED:
            return Response(NOT_READY, status=status.HTTP_404_NOT_FOUND)
        if job.expired:
            return Response(GONE, status=status.HTTP_410_GONE)
        path = downloads.job_zip_path(job)
        return downloads.file_response(
            request._request,
            path,
            filename=f"{job.title} - stems.zip",
            as_attachment=True,
        )
