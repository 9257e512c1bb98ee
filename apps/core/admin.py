from django.contrib import admin

from apps.core.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "progress_done", "progress_total", "requested_by", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("requested_by",)
    readonly_fields = [f.name for f in Job._meta.fields]
