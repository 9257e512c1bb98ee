"""Django admin that reads through restrict() like every other interface."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.core.access import can, restrict


class RestrictedAdminMixin:
    """Staff who are not superusers see and change only what restrict() allows them."""

    def get_queryset(self, request) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return restrict(queryset, request.user, "view")

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or request.user.is_superuser:
            return allowed
        return can(request.user, obj, "change")

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        if not allowed or obj is None or request.user.is_superuser:
            return allowed
        return can(request.user, obj, "delete")
