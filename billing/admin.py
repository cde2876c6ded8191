from django.contrib import admin

from .models import CreditAccount, CreditEntry


class CreditEntryInline(admin.TabularInline):
    model = CreditEntry
    extra = 0
    can_delete = False
    readonly_fields = ["delta", "kind", "job", "note", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False  # the ledger is append-only through services


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "flagged", "updated_at"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "balance", "updated_at"]
    inlines = [CreditEntryInline]
