from django.contrib import admin

from apps.audit.models import AuditEvent
from apps.core.admin_mixins import RestrictedAdminMixin


@admin.register(AuditEvent)
class AuditEventAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    """Read-only: the trail is append-only (the database refuses changes anyway)."""

    list_display = ("seq", "occurred_at", "kind", "action", "table_name", "object_pk", "actor_id", "request_id")
    list_filter = ("kind", "action", "table_name")
    search_fields = ("object_pk", "request_id")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
