from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core.errors import DomainError

from .models import CreditAccount, CreditEntry, CreditPack, Purchase, WebhookEvent
from .services import credits_adjust


class CreditEntryInline(admin.TabularInline):
    model = CreditEntry
    extra = 0
    can_delete = False
    readonly_fields = ["delta", "kind", "job", "purchase", "note", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the ledger is append-only through services


class AdjustmentForm(forms.Form):
    delta = forms.IntegerField(
        label="Credits to add (negative to remove)",
        help_text="The balance cannot go below zero.",
    )
    reason = forms.CharField(max_length=255, help_text="Recorded in the ledger.")


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "flagged", "updated_at"]
    list_filter = ["flagged"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "balance", "updated_at", "adjust_link"]
    fields = ["user", "balance", "adjust_link", "flagged", "updated_at"]
    inlines = [CreditEntryInline]

    @admin.display(description="Adjust")
    def adjust_link(self, obj: CreditAccount) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:billing_creditaccount_adjust", args=[obj.pk])
        return format_html('<a class="button" href="{}">Adjust the balance</a>', url)

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<int:pk>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="billing_creditaccount_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(CreditAccount.objects.select_related("user"), pk=pk)
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                credits_adjust(
                    user=account.user,
                    delta=form.cleaned_data["delta"],
                    note=f"{form.cleaned_data['reason']} (by {request.user})",
                )
            except DomainError as error:
                form.add_error("delta", error.message)
            else:
                messages.success(request, "Balance adjusted.")
                return HttpResponseRedirect(
                    reverse("admin:billing_creditaccount_change", args=[pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": account,
            "form": form,
            "title": f"Adjust credits for {account.user}",
        }
        return render(request, "admin/billing/creditaccount/adjust.html", context)


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "account", "delta", "kind", "job", "purchase"]
    list_filter = ["kind"]
    search_fields = ["account__user__email", "note", "purchase__id"]
    list_select_related = ["account__user", "purchase"]
    readonly_fields = ["account", "delta", "kind", "job", "purchase", "note"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "credits",
        "price_cents",
        "currency",
        "active",
        "sort_order",
    ]
    list_editable = ["active", "sort_order"]


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "user",
        "pack",
        "credits",
        "amount_cents",
        "currency",
        "status",
        "flagged",
    ]
    list_filter = ["status", "flagged", "pack", "created_at"]
    search_fields = [
        "square_payment_id",
        "square_order_id",
        "square_payment_link_id",
        "user__email",
    ]
    list_select_related = ["user", "pack"]
    readonly_fields = [
        "user",
        "pack",
        "credits",
        "amount_cents",
        "currency",
        "status",
        "square_payment_link_id",
        "square_order_id",
        "square_payment_id",
        "idempotency_key",
        "checkout_url",
        "created_at",
        "updated_at",
        "completed_at",
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Purchase], search_term: str
    ) -> tuple[QuerySet[Purchase], bool]:
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip()
        if term.isdigit():  # a purchase id, as shown to the buyer
            results |= queryset.filter(pk=int(term))
        return results, may_have_duplicates

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # purchases start at checkout

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "type", "event_id"]
    list_filter = ["type"]
    search_fields = ["event_id"]
    readonly_fields = ["event_id", "type", "received_at", "payload"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
