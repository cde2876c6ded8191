"""REST API for mixes (`/api/v1/jobs/<id>/mixes/`): thin views over services.

The job is fetched through jobs.selectors.job_get_for_user: another person's
job, and its mixes, are a 404 for every verb.
"""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import signed_in_user
from core.api import PRESIGNED_REDIRECT, RETRY_AFTER, error_responses
from jobs import selectors as job_selectors
from jobs.delivery import downloads
from jobs.models import Job

from . import services
from .models import Mix
from .representation import mix_representation

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string; the same key with other parameters is a 422. "
    "The same parameters always give the same mix, key or not.",
)


@extend_schema_serializer(component_name="Mix")
class MixOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Mix.Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    preset = serializers.CharField(allow_null=True)
    gains = serializers.DictField(child=serializers.FloatField())
    start = serializers.FloatField(allow_null=True)
    end = serializers.FloatField(allow_null=True)
    tempo = serializers.FloatField()
    semitones = serializers.IntegerField()
    output_format = serializers.ChoiceField(choices=Job.OutputFormat.choices)
    duration_seconds = serializers.FloatField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes, once ready.")
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expired = serializers.BooleanField(
        help_text="The job's files (and this mix) are gone."
    )
    url = serializers.URLField()
    download_url = serializers.URLField(
        allow_null=True, help_text="Once ready, until the job's files expire."
    )


class MixInputSerializer(serializers.Serializer):
    gains = serializers.DictField(
        child=serializers.FloatField(),
        required=False,
        help_text="Stem name -> gain from 0 to 2 (1 as separated, 2 is +6 dB); "
        "stems left out are silent.",
    )
    preset = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="`without_<stem>` (e.g. `without_vocals`): every other stem at 1; "
        "`gains` given too override it.",
    )
    start = serializers.FloatField(required=False, allow_null=True, default=None)
    end = serializers.FloatField(required=False, allow_null=True, default=None)
    tempo = serializers.FloatField(
        required=False, default=1.0, help_text="0.5 to 1.5; the pitch is kept."
    )
    semitones = serializers.IntegerField(
        required=False, default=0, help_text="-6 to +6; the tempo is kept."
    )
    output_format = serializers.ChoiceField(
        choices=Job.OutputFormat.choices,
        required=False,
        help_text="The job's own unless given.",
    )


def _own_job(request: Request, pk: Any) -> Job:
    return job_selectors.job_get_for_user(user=signed_in_user(request), pk=pk)


def _own_mix(request: Request, pk: Any, mix_id: Any) -> Mix:
    job = _own_job(request, pk)
    mix = Mix.objects.filter(job=job, pk=mix_id).select_related("job").first()
    if mix is None:
        raise Http404("No such mix.")
    return mix


def _answer(request: Request, mix: Mix, status: int) -> Response:
    return Response(
        mix_representation(mix, base_url=request.build_absolute_uri("/")), status=status
    )


class MixListCreateApi(APIView):
    @extend_schema(
        operation_id="mixes_list",
        summary="The mixes of one of your jobs, newest first",
        responses={200: MixOutputSerializer(many=True), **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str) -> Response:
        job = _own_job(request, pk)
        base = request.build_absolute_uri("/")
        mixes = job.mixes.select_related("job")
        return Response([mix_representation(mix, base_url=base) for mix in mixes])

    @extend_schema(
        operation_id="mixes_create",
        summary="Mix a finished job's stems (free)",
        description="Chosen stems with gains, optionally a region (`start`, `end` in "
        "seconds), a tempo (pitch kept) and a transposition (tempo kept), rendered "
        "by a worker: 202 while it renders (poll `url`), 200 when these parameters "
        "were rendered before. Summed without normalisation; a limiter acts only "
        "where the sum would clip.",
        request=MixInputSerializer,
        parameters=[IDEMPOTENCY_KEY, RETRY_AFTER],
        responses={
            200: MixOutputSerializer,
            202: MixOutputSerializer,
            **error_responses(400, 404, 409, 410, 422),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        job = _own_job(request, pk)
        serializer = MixInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        parameters = services.mix_parameters(job=job, **data)
        mix, _queued = services.mix_request(
            user=signed_in_user(request),
            job=job,
            parameters=parameters,
            preset=data.get("preset", "") if not data.get("gains") else "",
            idempotency_key=(request.headers.get("Idempotency-Key") or "").strip()
            or None,
        )
        ready = mix.status == Mix.Status.SUCCEEDED
        return _answer(request, mix, 200 if ready else 202)


class MixDetailApi(APIView):
    @extend_schema(
        operation_id="mixes_retrieve",
        summary="One mix: status, progress and, once ready, its download",
        responses={200: MixOutputSerializer, **error_responses(404)},
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str, mix_id: str) -> Response:
        return _answer(request, _own_mix(request, pk, mix_id), 200)


class MixDownloadApi(APIView):
    @extend_schema(
        operation_id="mixes_download",
        summary="Download a mix",
        description="Supports `Range`; 404 `not_ready` until it is rendered, 410 "
        "`files_expired` once the job's files are gone. On object storage the "
        "answer is a 302 to a presigned URL valid for a few minutes.",
        responses={
            (200, "audio/mpeg"): bytes,
            (200, "audio/wav"): bytes,
            (200, "audio/flac"): bytes,
            302: PRESIGNED_REDIRECT,
            **error_responses(404, 410),
        },
        parameters=[RETRY_AFTER],
    )
    def get(self, request: Request, pk: str, mix_id: str) -> Any:
        mix = _own_mix(request, pk, mix_id)
        try:
            return downloads.stored_file_response(
                request._request,
                services.mix_key(mix),
                filename=services.mix_filename(mix),
                as_attachment=request.query_params.get("inline") != "1",
            )
        except downloads.StemFileMissing as missing:
            raise services.MixNotReady(services.MIX_NOT_READY) from missing
