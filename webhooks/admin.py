"""Webhook endpoints in the Django admin: a view for support, secrets hidden.

People manage their endpoints on the account page and through the API; staff
see what was sent and how it went, and may turn an endpoint off."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Attempt, Endpoint
from .services import endpoint_update

READ_ONLY = ["url", "user", "description", "events", "created_at", "failing_since"]


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    fields = ["at", "number", "status_code", "duration_ms", "error"]
    readonly_fields = ["at", "number", "status_code", "duration_ms", "error"]
    ordering = ["-at"]
    max_num = 0

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "user", "enabled", "failing_since", "created_at"]
    list_filter = ["disabled_at"]
    search_fields = ["url", "user__email"]
    fields = [*READ_ONLY, "disabled_at", "disabled_reason"]
    readonly_fields = [*READ_ONLY, "disabled_at", "disabled_reason"]
    inlines = [AttemptInline]
    actions = ["turn_off"]

    @admin.display(boolean=True)
    def enabled(self, endpoint: Endpoint) -> bool:
        return endpoint.enabled

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Turn the selected endpoints off")
    def turn_off(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            endpoint_update(
                endpoint=endpoint,
                enabled=False,
                off_reason="Turned off by the site's staff; ask them why.",
            )
        self.message_user(request, f"{queryset.count()} turned off.", messages.SUCCESS)
