"""Who is acting: actor, request id and IP travel to the audit triggers as PostgreSQL session settings.

Reads are untouched: the settings are written just before the first write statement of a request (or task),
through a database execute wrapper, and cleared when the request ends, so pooled connections never carry a
previous request's actor.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection

WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE", "COPY")
SET_SQL = ("SELECT set_config('pilotlight.actor_id', %s, false), set_config('pilotlight.request_id', %s, false), "
           "set_config('pilotlight.ip', %s, false)")


@dataclass
class AuditContext:
    """The actor of the current request or task; `actor` is resolved lazily (DRF authenticates late)."""

    actor: Callable[[], int | None]
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ip: str = ""
    applied: tuple | None = None

    def values(self) -> tuple[str, str, str]:
        actor_id = self.actor()
        return ("" if actor_id is None else str(actor_id), self.request_id, self.ip)

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip()[:6].upper().startswith(WRITE_PREFIXES):
            values = self.values()
            if values != self.applied:
                execute(SET_SQL, values, False, context)
                self.applied = values
        return execute(sql, params, many, context)

    def clear(self) -> None:
        if self.applied is not None and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(SET_SQL, ("", "", ""))
        self.applied = None


@contextlib.contextmanager
def audit_context(*, actor_id: int | None = None, request_id: str = "", ip: str = "",
                  actor: Callable[[], int | None] | None = None) -> Iterator[AuditContext]:
    """Attribute every write inside the block to `actor_id` (tasks, commands) or to `actor()` (requests)."""
    ctx = AuditContext(actor=actor or (lambda: actor_id), request_id=request_id or uuid.uuid4().hex, ip=ip)
    with connection.execute_wrapper(ctx):
        try:
            yield ctx
        finally:
            ctx.clear()


def client_ip(request) -> str:
    """The client's address; X-Forwarded-For is trusted only when the proxy header setting says so."""
    from django.conf import settings

    if getattr(settings, "AUDIT_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


class AuditContextMiddleware:
    """Give each request an id (X-Request-ID, echoed back) and attribute its writes to the signed-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming[:64] if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        request.request_id = request_id

        def actor() -> int | None:
            user = getattr(request, "user", None)
            return user.pk if user is not None and user.is_authenticated else None

        with audit_context(actor=actor, request_id=request_id, ip=client_ip(request)):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
