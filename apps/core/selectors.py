"""Reads for core objects: background jobs."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.core.models import Job


def job_list(*, user) -> QuerySet[Job]:
    """Jobs the user may follow: all of them for superusers and portfolio admins, otherwise their own."""
    from apps.accounts.choices import GlobalRole
    from apps.accounts.selectors import user_access_scope

    queryset = Job.objects.select_related("requested_by")
    if user_access_scope(user=user).has_role(GlobalRole.PORTFOLIO_ADMIN):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(requested_by=user)


def job_get(*, user, pk: int) -> Job:
    """One job the user may follow, or 404."""
    return get_object_or_404(job_list(user=user), pk=pk)
