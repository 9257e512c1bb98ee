"""Template context: whether to show the audit log in the navigation (evaluated only when a template asks)."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def audit_navigation(request) -> dict:
    def readable() -> bool:
        from apps.audit.selectors import can_read_full_trail

        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and can_read_full_trail(user=user))

    return {"can_read_audit_trail": SimpleLazyObject(readable)}
