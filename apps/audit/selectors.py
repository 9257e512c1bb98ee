"""Reads of the audit trail, scoped like everything else, and the chain verifier."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import QuerySet

from apps.accounts.choices import GlobalRole
from apps.accounts.selectors import user_access_scope
from apps.audit.models import AuditEvent
from apps.audit.sql import GENESIS_HASH, VERIFY_QUERY
from apps.core.access import restrict


def can_read_full_trail(*, user) -> bool:
    """Auditors, portfolio admins and superusers read the whole trail, security events included."""
    scope = user_access_scope(user=user)
    return scope.has_role(GlobalRole.AUDITOR) or scope.has_role(GlobalRole.PORTFOLIO_ADMIN)


def audit_event_list(*, user) -> QuerySet[AuditEvent]:
    """Events the user may read: everything for auditors/admins, else data events of units they can see."""
    queryset = AuditEvent.objects.all()
    if can_read_full_trail(user=user):
        return queryset
    return restrict(queryset.filter(business_unit_id__isnull=False), user, "view")


def initiative_history(*, user, initiative_id: int) -> QuerySet[AuditEvent]:
    """Data events about one initiative and its stage moves, KPIs and measurements, newest first."""
    return audit_event_list(user=user).filter(initiative_id=initiative_id).order_by("-seq")


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    head_seq: int | None
    head_hash: str | None
    first_bad_seq: int | None = None
    problem: str = ""


def audit_chain_verify(*, batch: int = 5000) -> ChainReport:
    """Recompute every event's hash and link in seq order; report the first broken event (streamed, flat memory)."""
    expected_prev, expected_seq, count, last_hash, last_seq = GENESIS_HASH, 1, 0, None, None
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DECLARE audit_verify NO SCROLL CURSOR FOR {VERIFY_QUERY}")
        while True:
            cursor.execute(f"FETCH {int(batch)} FROM audit_verify")
            rows = cursor.fetchall()
            if not rows:
                break
            for seq, prev_hash, stored_hash, recomputed in rows:
                problem = ""
                if seq != expected_seq:
                    problem = (f"sequence jumps from {expected_seq - 1} to {seq}: "
                               f"event(s) {expected_seq}..{seq - 1} missing")
                elif prev_hash != expected_prev:
                    problem = "its previous-hash does not match the hash of the event before it"
                elif recomputed != stored_hash:
                    problem = "its content does not match its hash (the event was altered)"
                if problem:
                    return ChainReport(False, count, last_seq, last_hash, first_bad_seq=seq, problem=problem)
                count += 1
                expected_prev, expected_seq, last_hash, last_seq = stored_hash, seq + 1, stored_hash, seq
        cursor.execute("CLOSE audit_verify")
    return ChainReport(True, count, last_seq, last_hash)


def label_actors(events: list[AuditEvent]) -> list[AuditEvent]:
    """Set `actor_name` on a page of events: the user's display name, or "system" (one query)."""
    from apps.accounts.models import User

    ids = {event.actor_id for event in events if event.actor_id is not None}
    names = {user.pk: user.display_name for user in User.objects.filter(pk__in=ids)}
    for event in events:
        event.actor_name = names.get(event.actor_id, "system" if event.actor_id is None else f"user #{event.actor_id}")
    return events
