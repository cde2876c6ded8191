"""Jobs in the Django admin: read-only, with actions that go through the
lifecycle's services (the only code that changes a job's status or files)."""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html_join

from .hosts import SEEN_BEATS, host_model_names
from .lifecycle import job_cancel, job_delete
from .models import Job, SeparationHost, Stem


class StemInline(admin.TabularInline):
    model = Stem
    extra = 0
    readonly_fields = ["name", "relative_path", "size_bytes", "duration_seconds"]
    exclude = ["peaks"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs are made by uploads and changed by the worker, never by hand here:
    the change page is a view, and cancelling or deleting goes through the
    services, so credits are refunded and files removed as anywhere else."""

    list_display = [
        "original_filename",
        "user",
        "model",
        "status",
        "progress",
        "host",
        "created_at",
    ]
    list_filter = ["status", "model", "output_format", "host"]
    search_fields = ["id", "user__email", "original_filename"]
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [StemInline]
    actions = ["cancel_jobs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        # Cancelling is the one change staff may make: it needs the model's
        # change permission, which the (read-only) form above does not offer.
        return request.user.has_perm("jobs.change_job")

    @admin.action(
        description="Cancel selected queued or running jobs (credit refunded)",
        permissions=["cancel"],
    )
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled = sum(job_cancel(job=job) for job in queryset)
        skipped = queryset.count() - cancelled
        if cancelled:
            self.message_user(
                request,
                f"Cancelled {cancelled} job(s) and refunded their credits.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} job(s) had already ended and were left as they were.",
                messages.WARNING,
            )

    def delete_model(self, request: HttpRequest, obj: Job) -> None:
        job_delete(job=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        # One job at a time through the service: an active job is cancelled
        # and refunded first, and every job's files go with it.
        for job in queryset:
            job_delete(job=job)


@admin.register(SeparationHost)
class SeparationHostAdmin(admin.ModelAdmin):
    """The separation hosts as their heartbeats describe them, with what each
    runs now; a host unheard of for three beats is shown as gone. Read-only:
    a host joins by starting its workers and leaves by stopping them."""

    list_display = [
        "name",
        "state",
        "device",
        "slots",
        "busy",
        "models_offered",
        "running",
        "seen_at",
        "started_at",
    ]
    readonly_fields = [f.name for f in SeparationHost._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="state")
    def state(self, host: SeparationHost) -> str:
        age = (timezone.now() - host.seen_at).total_seconds()
        if age > SEEN_BEATS * settings.HOST_BEAT_SECONDS:
            return f"gone (last seen {age:.0f} s ago)"
        if host.draining_since is not None:
            return "stopping"
        return "up" if host.reachable else "up, stemworker unreachable"

    @admin.display(description="models")
    def models_offered(self, host: SeparationHost) -> str:
        return ", ".join(host_model_names(host))

    @admin.display(description="running now")
    def running(self, host: SeparationHost) -> str:
        jobs = Job.objects.filter(status=Job.Status.RUNNING, host=host.name)
        pairs = list(jobs.order_by("started_at").values_list("pk", "model"))
        if not pairs:
            return "-"
        return format_html_join(", ", '<a href="../job/{}/change/">{}</a>', pairs)
