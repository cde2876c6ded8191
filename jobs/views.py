"""The signed-in pages: dashboard with upload, job page, downloads."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.types import signed_in_user
from billing.services import account_for_user
from config.exceptions import DomainError
from config.throttling import JobCreateRateThrottle

from . import catalog, downloads, services, volume
from .forms import JobUploadForm
from .models import Job, Stem
from .presenters import job_player, job_summary

RECENT_JOBS = 50


def _get_job_for_user(request: HttpRequest, pk: str) -> Job:
    """The signed-in user's job, or 404 (never 403: other jobs don't exist for them)."""
    return get_object_or_404(Job.objects.for_user(signed_in_user(request)), pk=pk)


def _dashboard(
    request: HttpRequest, form: JobUploadForm | None = None, status: int = 200
) -> HttpResponse:
    models = catalog.models_available()
    jobs = list(
        Job.objects.for_user(signed_in_user(request)).prefetch_related("stems")[
            :RECENT_JOBS
        ]
    )
    context = {
        "form": form or JobUploadForm(models=models),
        "jobs": jobs,
        "credits": account_for_user(signed_in_user(request)).balance,
        "active_count": sum(job.is_active for job in jobs),
        "max_active": settings.MAX_ACTIVE_JOBS_PER_USER,
        "max_upload_mb": settings.MAX_UPLOAD_MB,
        "models": models,
        "upload_config": {
            "api_url": "/api/v1/jobs/",
            "max_active": settings.MAX_ACTIVE_JOBS_PER_USER,
            "max_upload_bytes": settings.MAX_UPLOAD_MB * 1024 * 1024,
            "credits_url": reverse("billing:credits"),
            "models": models,
        },
    }
    return render(request, "jobs/dashboard.html", context, status=status)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return _dashboard(request)


class _UploadFormThrottle(JobCreateRateThrottle):
    """Counts the form's uploads in each person's job-creation budget, the one
    the API's POST /api/v1/jobs/ uses (API_THROTTLE_JOB_CREATE)."""

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"user:{request.user.pk}",
        }


def _upload_rate_limited(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Past the rate: 429 with Retry-After, and no job made."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = _UploadFormThrottle()
        if throttle.allow_request(request, None):  # type: ignore[arg-type]
            return view(request, *args, **kwargs)
        wait = max(1, round(throttle.wait() or 1))
        messages.error(request, f"Too many uploads; try again in {wait} seconds.")
        response = _dashboard(request, status=429)
        response["Retry-After"] = str(wait)
        return response

    return wrapper


@login_required
@require_POST
@_upload_rate_limited
def job_upload(request: HttpRequest) -> HttpResponse:
    try:
        volume.shared_volume_ensure_room()  # then no byte of the body is stored
    except volume.SharedVolumeFull as full:
        messages.error(request, full.message)
        response = _dashboard(request, status=full.status_code)
        response["Retry-After"] = str(full.retry_after)
        return response
    form = JobUploadForm(request.POST, request.FILES, models=catalog.models_available())
    if getattr(request, "upload_too_large", False):
        form.is_valid()
        form.add_error(
            "songs", f"Each file can be at most {settings.MAX_UPLOAD_MB} MB."
        )
        return _dashboard(request, form, status=413)
    if not form.is_valid():
        return _dashboard(request, form, status=400)
    try:
        jobs = services.jobs_submit(
            user=signed_in_user(request),
            uploads=form.cleaned_data["songs"],
            model=form.cleaned_data["model"],
            two_stems=form.cleaned_data["two_stems"],
            output_format=form.cleaned_data["output_format"],
        )
    except DomainError as error:
        form.add_error("songs", error.message)
        return _dashboard(request, form, status=error.status_code)
    count = len(jobs)
    messages.success(
        request, f"{count} song{'s' if count != 1 else ''} queued for separation."
    )
    return HttpResponseRedirect(reverse("jobs:dashboard"))


@login_required
@require_GET
def job_list_status(request: HttpRequest) -> JsonResponse:
    """What the dashboard polls: the recent jobs with status and progress."""
    user = signed_in_user(request)
    jobs = Job.objects.for_user(user).prefetch_related("stems")[:RECENT_JOBS]
    return JsonResponse(
        {
            "credits": account_for_user(user).balance,
            "active_count": Job.objects.for_user(user).active().count(),
            "max_active": settings.MAX_ACTIVE_JOBS_PER_USER,
            "jobs": [job_summary(job) for job in jobs],
        }
    )


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: str) -> HttpResponse:
    job = _get_job_for_user(request, pk)
    context = {"job": job, "stems": job.stems.all(), "player": job_player(job)}
    return render(request, "jobs/job_detail.html", context)


@login_required
@require_POST
def job_delete(request: HttpRequest, pk: str) -> HttpResponse:
    job = _get_job_for_user(request, pk)
    name = job.original_filename
    services.job_delete(job=job)
    messages.success(request, f"Deleted “{name}” and its files.")
    return HttpResponseRedirect(reverse("jobs:dashboard"))


def _gone(job: Job) -> HttpResponse:
    return HttpResponse(
        "These stems have expired and were deleted from our servers.",
        status=410,
        content_type="text/plain",
    )


@login_required
@require_GET
def stem_download(request: HttpRequest, pk: str, name: str) -> HttpResponseBase:
    job = _get_job_for_user(request, pk)
    stem = get_object_or_404(Stem, job=job, name=name)
    if job.expired:
        return _gone(job)
    if not stem.path.is_file():
        raise Http404("This stem's file is missing.")
    as_attachment = request.GET.get("inline") != "1"
    filename = downloads.stem_filename(job, stem.name, stem.extension)
    return downloads.file_response(
        request, stem.path, filename=filename, as_attachment=as_attachment
    )


@login_required
@require_GET
def zip_download(request: HttpRequest, pk: str) -> HttpResponseBase:
    job = _get_job_for_user(request, pk)
    if job.status != Job.Status.SUCCEEDED:
        raise Http404("This job has no stems.")
    if job.expired:
        return _gone(job)
    path = downloads.job_zip_path(job)
    return downloads.file_response(
        request, path, filename=f"{job.title} - stems.zip", as_attachment=True
    )
