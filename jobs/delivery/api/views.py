"""REST API for jobs, models and the account summary (ARCHITECTURE section 4).

Thin views: admission is jobs.intake, every state change jobs.lifecycle; a job
is fetched through selectors.job_get_for_user (another person's job is a 404
for every verb), answered with jobs.representation, and downloaded
through the same responders as the site's.
"""

from dataclasses import asdict
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import signed_in_user
from core.api import PRESIGNED_REDIRECT, RETRY_AFTER, ApiPagination, error_responses
from core.throttling import ApiRateThrottle, JobCreateRateThrottle
from jobs import catalog, lifecycle, messages, selectors, storage
from jobs.intake.admission import jobs_submit
from jobs.intake.errors import FileTooLarge
from jobs.intake.idempotency import idempotent_request_build
from jobs.models import Job
from jobs.representation import jobs_representation

from .. import downloads
from .serializers import (
    AccountSerializer,
    JobCreateFormSerializer,
    JobOutputSerializer,
    JobPageSerializer,
    ModelOutputSerializer,
)

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


def _own_job(request: Request, pk: Any) -> Job:
    return selectors.job_get_for_user(user=signed_in_user(request), pk=pk)


def _represent(request: Request, jobs: list[Job]) -> list[dict[str, Any]]:
    return jobs_representation(jobs, base_url=request.build_absolute_uri("/"))


class OwnJobApiView(APIView):
    # Base for views under /jobs/<pk>/: a verb they lack is a 405 on your own
    # job and a 404 on anybody else's (or a missing one), like every other verb.
    # (A comment, not a docstring: the schema would show it.)

    def _ensure_own_job(self, request: Request, pk: Any) -> None:
        _own_job(request, pk)

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
        description="Each model's name and the stems it produces (`two_stems` "
        "takes one of these), and whether this server can run it now (`available`, "
        "and `reason` when not).",
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
        webhook_url = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=2000
        )

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
        jobs = selectors.jobs_for_user(user=signed_in_user(request))
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(_represent(request, page or []))

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
        storage.shared_volume_ensure_room()  # then no byte of the body is stored
        files = request.FILES.getlist("file")  # parses (streams) the whole body
        if getattr(request._request, "upload_too_large", False):
            raise FileTooLarge(messages.file_too_large(settings.MAX_UPLOAD_MB))
        fields = {
            k: request.data[k]
            for k in ("model", "two_stems", "output_format", "webhook_url")
            if request.data.get(k) is not None
        }
        serializer = self.InputSerializer(data={**fields, "file": files})
        serializer.is_valid(raise_exception=True)
        options = {
            k: serializer.validated_data[k]
            for k in ("model", "two_stems", "output_format", "webhook_url")
        }
        key = request.headers.get("Idempotency-Key")
        idempotency = None
        if key is not None:
            idempotency = idempotent_request_build(key=key, uploads=files, **options)
        jobs = jobs_submit(
            user=signed_in_user(request),
            uploads=serializer.validated_data["file"],
            idempotency=idempotency,
            **options,
        )
        mine = selectors.jobs_for_user(user=signed_in_user(request))
        fresh = mine.in_bulk([job.pk for job in jobs])
        body = _represent(request, [fresh[job.pk] for job in jobs if job.pk in fresh])
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
        return Response(_represent(request, [_own_job(request, pk)])[0])

    @extend_schema(
        operation_id="jobs_destroy",
        summary="Cancel (credit refunded) and delete a job",
        description="A queued or running job is stopped and its credit refunded; "
        "its stems and files are deleted.",
        responses={204: None, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def delete(self, request: Request, pk: str) -> Response:
        lifecycle.job_delete(job=_own_job(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


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
            302: PRESIGNED_REDIRECT,
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
        job = _own_job(request, pk)
        return downloads.stem_response(request._request, job=job, name=name)


class JobZipApi(OwnJobApiView):
    @extend_schema(
        operation_id="jobs_download",
        summary="Download all stems as a zip",
        description="404 `not_ready` until the job has succeeded; supports `Range`.",
        responses={
            **_binary("A zip of every stem.", "application/zip"),
            302: PRESIGNED_REDIRECT,
            416: RANGE_REFUSED,
            **error_responses(404, 410),
        },
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str) -> Any:
        job = _own_job(request, pk)
        return downloads.zip_response(request._request, job=job)


class MeApi(APIView):
    @extend_schema(
        operation_id="me_retrieve",
        summary="Your account: credits and job slots",
        responses={200: AccountSerializer, **error_responses()},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request) -> Response:
        summary = selectors.account_summary(user=signed_in_user(request))
        return Response(AccountSerializer(asdict(summary)).data)
