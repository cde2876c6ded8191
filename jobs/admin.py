from django.contrib import admin

from .models import Job, Stem


class StemInline(admin.TabularInline):
    model = Stem
    extra = 0
    can_delete = False
    readonly_fields = ["name", "relative_path", "size_bytes", "duration_seconds"]
    exclude = ["peaks"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "original_filename",
        "user",
        "model",
        "status",
        "progress",
        "created_at",
    ]
    list_filter = ["status", "model", "output_format"]
    search_fields = ["id", "user__email", "original_filename"]
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [StemInline]
