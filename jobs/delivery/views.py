"""The signed-in pages: dashboard with upload, job page, downloads.

Thin views: admission is jobs.intake, state changes jobs.lifecycle, ownership
selectors.job_get_for_user, the polled JSON jobs.representation and
the downloads the responders the API uses too.
"""

import uuid
from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.types import signed_in_user
from billing.square_client import payments_configured
from core.errors import DomainError
from core.throttling import JobCreateRateThrottle
from jobs import catalog, estimates, lifecycle, messages, selectors, storage
from jobs.intake.admission import jobs_submit
from jobs.intake.errors import ModelUnavailable
from jobs.models import Job
from jobs.representation import jobs_representation

from . import downloads
from .forms import JobUploadForm
from .presenters import (
    STAGES,
    job_player,
    job_rows,
    job_state_text,
    model_label,
)

JOBS_PER_PAGE = 50
# What one status poll may ask about: a page of rows, plus a few just uploaded.
STATUS_IDS_AT_MOST = 2 * JOBS_PER_PAGE
STATUS_LABELS = dict(Job.Status.choices)


def _dashboard(
    request: HttpRequest, form: JobUploadForm | None = None, status: int = 200
) -> HttpResponse:
    user = signed_in_user(request)
    models = catalog.models_available()
    page = Paginator(selectors.jobs_for_user(user=user), JOBS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    summary = selectors.account_summary(user=user)
    context = {
        "form": form or JobUploadForm(models=models),
        "page": page,
        "rows": job_rows(list(page.object_list), now=timezone.now()),
        "credits": summary.credits,
        "active_count": summary.active_jobs,
        "max_active": summary.max_active_jobs,
        "max_upload_mb": settings.MAX_UPLOAD_MB,
        "models": models,
        "no_model_runs": bool(models)
        and not any(catalog.model_is_available(m) for m in models),
        "upload_config": {
            "api_url": "/api/v1/jobs/",
            "max_active": summary.max_active_jobs,
            "max_upload_bytes": settings.MAX_UPLOAD_MB * 1024 * 1024,
            "credits_url": reverse("billing:credits"),
            "payments": payments_configured(),
            "job_page_url": reverse("jobs:dashboard"),
            "status_labels": STATUS_LABELS,
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
        flash.error(request, messages.too_many_uploads(wait))
        response = _dashboard(request, status=429)
        response["Retry-After"] = str(wait)
        return response

    return wrapper


@login_required
@require_POST
@_upload_rate_limited
def job_upload(request: HttpRequest) -> HttpResponse:
    try:
        storage.shared_volume_ensure_room()  # then no byte of the body is stored
    except storage.SharedVolumeFull as full:
        flash.error(request, full.message)
        response = _dashboard(request, status=full.status_code)
        response["Retry-After"] = str(full.retry_after)
        return response
    form = JobUploadForm(request.POST, request.FILES, models=catalog.models_available())
    if getattr(request, "upload_too_large", False):
        form.is_valid()
        form.add_error("songs", messages.file_too_large(settings.MAX_UPLOAD_MB))
        return _dashboard(request, form, status=413)
    if not form.is_valid():
        return _dashboard(request, form, status=400)
    try:
        jobs = jobs_submit(
            user=signed_in_user(request),
            uploads=form.cleaned_data["songs"],
            model=form.cleaned_data["model"],
            two_stems=form.cleaned_data["two_stems"],
            output_format=form.cleaned_data["output_format"],
        )
    except DomainError as error:
        field = "model" if isinstance(error, ModelUnavailable) else "songs"
        form.add_error(field, error.message)
        return _dashboard(request, form, status=error.status_code)
    count = len(jobs)
    flash.success(
        request, f"{count} song{'s' if count != 1 else ''} queued for separation."
    )
    return HttpResponseRedirect(reverse("jobs:dashboard"))


@login_required
@require_GET
def job_list_status(request: HttpRequest) -> JsonResponse:
    """What the dashboard polls: the account summary, and the jobs it shows
    (`ids`, comma-separated), those it just created (`new`) and, with
    `newest=1`, the newest page; each in the
    API's `job` shape and rendered: the body of a row the page has, the whole
    row of one it lacks. A shown job missing from the answer was deleted."""
    user = signed_in_user(request)
    ids = _listed(request, "ids")
    owned = selectors.jobs_for_user(user=user)
    shown = list(owned.filter(pk__in=_uuids(ids + _listed(request, "new"))))
    if request.GET.get("newest") == "1":
        known = {job.pk for job in shown}
        shown += [job for job in owned[:JOBS_PER_PAGE] if job.pk not in known]
        shown.sort(key=lambda job: job.created_at, reverse=True)
    # One read of the stems and one of the line, for the JSON and the rows.
    now = timezone.now()
    stems = selectors.stems_by_job(shown)
    times = estimates.estimates(shown, now=now)
    rows = job_rows(shown, now=now, stems=stems, times=times)
    on_page = set(ids)
    return JsonResponse(
        {
            "account": asdict(selectors.account_summary(user=user)),
            "jobs": jobs_representation(
                shown,
                base_url=request.build_absolute_uri("/"),
                stems=stems,
                times=times,
            ),
            # A row the page has gets its body; one it lacks, the whole row.
            "rows": {
                str(row["job"].pk): _rendered(
                    row, whole=str(row["job"].pk) not in on_page
                )
                for row in rows
            },
        }
    )


def _rendered(row: dict[str, Any], *, whole: bool) -> dict[str, str]:
    if whole:
        return {"row": render_to_string("jobs/_job_row.html", {"row": row})}
    return {"body": render_to_string("jobs/_job_row_body.html", {"row": row})}


def _listed(request: HttpRequest, name: str) -> list[str]:
    return [i for i in request.GET.get(name, "").split(",") if i][:STATUS_IDS_AT_MOST]


def _uuids(values: list[str]) -> list[uuid.UUID]:
    parsed = []
    for value in values:
        try:
            parsed.append(uuid.UUID(value))
        except ValueError:
            continue
    return parsed


@login_required
@require_POST
def jobs_delete(request: HttpRequest) -> HttpResponse:
    """Delete the selected jobs (`ids`), or one (`only`, a row's own button);
    active ones are cancelled first, their credits back. Answers JSON to the
    dashboard's script, else redirects to the page it came from."""
    only = request.POST.get("only")
    ids = [only] if only else request.POST.getlist("ids")
    jobs = list(
        selectors.jobs_for_user(user=signed_in_user(request)).filter(pk__in=_uuids(ids))
    )
    deleted = [str(job.pk) for job in jobs]
    for job in jobs:
        lifecycle.job_delete(job=job)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"deleted": deleted})
    if not jobs:
        flash.info(request, "Nothing was deleted: no song was selected.")
    elif len(jobs) == 1:
        flash.success(request, f"Deleted “{jobs[0].original_filename}” and its files.")
    else:
        flash.success(request, f"Deleted {len(jobs)} songs and their files.")
    page = request.POST.get("page", "")
    suffix = f"?page={page}" if page.isdigit() and page != "1" else ""
    return HttpResponseRedirect(reverse("jobs:dashboard") + suffix)


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: str) -> HttpResponse:
    job = selectors.job_get_for_user(user=signed_in_user(request), pk=pk)
    estimate = estimates.estimates([job]).get(str(job.pk))
    context = {
        "job": job,
        "stages": STAGES,
        "model_label": model_label(job.model),
        "state_text": job_state_text(job, estimate, now=timezone.now()),
        "player": job_player(job),
        "status_labels": STATUS_LABELS,
        "api_url": f"/api/v1/jobs/{job.pk}/",
    }
    return render(request, "jobs/job_detail.html", context)


@login_required
@require_POST
def job_delete(request: HttpRequest, pk: str) -> HttpResponse:
    job = selectors.job_get_for_user(user=signed_in_user(request), pk=pk)
    name = job.original_filename
    lifecycle.job_delete(job=job)
    flash.success(request, f"Deleted “{name}” and its files.")
    return HttpResponseRedirect(reverse("jobs:dashboard"))


def _refusals_as_pages(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """A download the responders refuse (410 expired, 404 missing) answers with
    the site's own page: what happened, when, and where to go from there (the
    API sends the same words as JSON)."""

    @wraps(view)
    def wrapper(request: HttpRequest, pk: str, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, pk, **kwargs)
        except DomainError as refusal:
            job = selectors.job_get_for_user(user=signed_in_user(request), pk=pk)
            context = {"job": job, "refusal": refusal}
            return render(
                request,
                "jobs/download_refused.html",
                context,
                status=refusal.status_code,
            )

    return wrapper


@login_required
@require_GET
@_refusals_as_pages
def stem_download(request: HttpRequest, pk: str, name: str) -> HttpResponseBase:
    job = selectors.job_get_for_user(user=signed_in_user(request), pk=pk)
    return downloads.stem_response(
        request, job=job, name=name, as_attachment=request.GET.get("inline") != "1"
    )


@login_required
@require_GET
@_refusals_as_pages
def zip_download(request: HttpRequest, pk: str) -> HttpResponseBase:
    job = selectors.job_get_for_user(user=signed_in_user(request), pk=pk)
    return downloads.zip_response(request, job=job)
