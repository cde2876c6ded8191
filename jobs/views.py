"""The signed-in pages: dashboard with upload, job page, downloads."""

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

from . import catalog, downloads, services
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


@login_required
@require_POST
def job_upload(request: HttpRequest) -> HttpResponse:
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
