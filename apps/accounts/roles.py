"""Global roles as Django groups with model permissions (kept in sync after every migrate)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from apps.accounts.choices import GlobalRole

GOVERNED_APPS = ("accounts", "portfolio", "kpis", "core", "mlops", "costs", "compliance", "audit")
WRITE_APPS = {
    GlobalRole.PORTFOLIO_ADMIN: ("accounts", "portfolio", "kpis", "mlops", "costs", "compliance"),
    GlobalRole.EXECUTIVE: (),
    GlobalRole.COMPLIANCE_OFFICER: ("compliance",),
    GlobalRole.AUDITOR: (),
}


def roles_sync(**_kwargs) -> None:
    """Create the global role groups and give each its model permissions (idempotent)."""
    view = Permission.objects.filter(content_type__app_label__in=GOVERNED_APPS, codename__startswith="view_")
    for role in GlobalRole:
        group, _ = Group.objects.get_or_create(name=role.value)
        permissions = set(view)
        write_apps = WRITE_APPS[role]
        if write_apps:
            permissions.update(Permission.objects.filter(content_type__app_label__in=write_apps))
        group.permissions.set(permissions)
