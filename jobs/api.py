"""REST API for jobs and models (ARCHITECTURE section 4)."""

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.types import signed_in_user

from . import catalog, downloads, services
from .models import Job, Stem


class StemOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.SerializerMethodField()
    size = serializers.IntegerField(source="size_bytes")

    def get_url(self, stem: Stem) -> str:
        return self.context["request"].build_absolute_uri(
            f"/api/v1/jobs/{stem.job_id}/stems/{stem.name}/"
        )


class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Job.Status.choices)
    progress = serializers.IntegerField()
    model = serializers.CharField()
    two_stems = serializers.CharField(allow_null=True)
    output_format = serializers.CharField()
    filename = serializers.CharField(source="original_filename")
    duration_seconds = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    expired = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)
    stems = StemOutputSerializer(many=True)
    download_url = serializers.SerializerMethodField()

    def to_representation(self, job: Job) -> dict[str, Any]:
        data = super().to_representation(job)
        data["two_stems"] = job.two_stems or None
        data["error"] = job.error or None
        if not job.downloadable:
            data["stems"] = [{**stem, "url": None} for stem in data["stems"]]
        return data

    def get_download_url(self, job: Job) -> str | None:
        if not job.downloadable:
            return None
        return self.context["request"].build_absolute_uri(
            f"/api/v1/jobs/{job.pk}/download/"
        )


class ModelOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    stems = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()


def _jobs_for(request: Request) -> Any:
    return Job.objects.for_user(signed_in_user(request)).prefetch_related("stems")


class ModelListApi(APIView):
    @extend_schema(responses=ModelOutputSerializer(many=True), summary="Models offered")
    def get(self, request: Request) -> Response:
        return Response(
            ModelOutputSerializer(catalog.models_available(), many=True).data
        )


class JobListCreateApi(APIView):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.ListField(child=serializers.FileField(), allow_empty=False)
        model = serializers.CharField()
        two_stems = serializers.CharField(required=False, allow_blank=True, default="")
        output_format = serializers.CharField(required=False, default="mp3")

    @extend_schema(responses=JobOutputSerializer(many=True), summary="Your jobs")
    def get(self, request: Request) -> Response:
        from rest_framework.pagination import PageNumberPagination

        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(_jobs_for(request), request, view=self)
        data = JobOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: JobOutputSerializer(many=True)},
        summary="Upload songs to separate",
    )
    def post(self, request: Request) -> Response:
        if getattr(request._request, "upload_too_large", False):
            raise services.FileTooLarge(
                f"Each file can be at most {settings.MAX_UPLOAD_MB} MB."
            )
        data = {
            **{
                k: request.data.get(k)
                for k in ("model", "two_stems", "output_format")
                if request.data.get(k) is not None
            },
            "file": request.FILES.getlist("file"),
        }
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        jobs = services.jobs_submit(
            user=signed_in_user(request),
            uploads=serializer.validated_data["file"],
            model=serializer.validated_data["model"],
            two_stems=serializer.validated_data["two_stems"],
            output_format=serializer.validated_data["output_format"],
        )
        jobs = list(_jobs_for(request).filter(pk__in=[job.pk for job in jobs]))
        body = JobOutputSerializer(jobs, many=True, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutputSerializer, summary="One job")
    def get(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        return Response(JobOutputSerializer(job, context={"request": request}).data)

    @extend_schema(responses={204: None}, summary="Cancel and delete a job")
    def delete(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        services.job_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


GONE = {"detail": "These stems have expired and were deleted.", "code": "expired"}


class StemDownloadApi(APIView):
    @extend_schema(
        responses={(200, "audio/*"): OpenApiResponse(description="The stem's audio")},
        summary="Download one stem",
    )
    def get(self, request: Request, pk: str, name: str) -> Any:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        stem = get_object_or_404(Stem, job=job, name=name)
        if job.expired:
            return Response(GONE, status=status.HTTP_410_GONE)
        filename = downloads.stem_filename(job, stem.name, stem.extension)
        return downloads.file_response(
            request._request, stem.path, filename=filename, as_attachment=True
        )


class JobZipApi(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiResponse(description="All stems")},
        summary="Download all stems as a zip",
    )
    def get(self, request: Request, pk: str) -> Any:
        job = get_object_or_404(_jobs_for(request), pk=pk)
        if job.status != Job.Status.SUCCEEDED:
            return Response(
                {"detail": "This job has no stems yet.", "code": "not_ready"},
                status=status.HTTP_404_NOT_FOUND,
            )
        if job.expired:
            return Response(GONE, status=status.HTTP_410_GONE)
        path = downloads.job_zip_path(job)
        return downloads.file_response(
            request._request,
            path,
            filename=f"{job.title} - stems.zip",
            as_attachment=True,
        )
