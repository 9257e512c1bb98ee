"""Writes to the audit trail that no table trigger sees: security events."""

from __future__ import annotations

from typing import Any

from apps.audit.choices import EventKind, SecurityAction
from apps.audit.context import client_ip
from apps.audit.models import AuditEvent


def audit_security_event(
    *, action: SecurityAction | str, actor=None, request=None, detail: dict[str, Any] | None = None,
    business_unit_id: int | None = None, initiative_id: int | None = None,
) -> AuditEvent:
    """Append a security event (sign-in, failure, lockout, token, permission change, export) to the trail."""
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        kind=EventKind.SECURITY, action=str(action), detail=detail or {}, actor_id=actor_id,
        request_id=getattr(request, "request_id", "") if request is not None else "",
        ip=client_ip(request) if request is not None else "",
        business_unit_id=business_unit_id, initiative_id=initiative_id,
    )
