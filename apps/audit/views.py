"""Audit trail pages: the global log (auditors and admins), CSV export, and each initiative's history."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from apps.audit.choices import EventKind, SecurityAction
from apps.audit.filters import AuditEventFilterSet
from apps.audit.selectors import audit_event_list, can_read_full_trail, initiative_history, label_actors
from apps.audit.services import audit_security_event
from apps.portfolio.selectors import initiative_get

PAGE_SIZE = 50
EXPORT_COLUMNS = ["seq", "occurred_at", "kind", "action", "table_name", "object_pk", "actor_id", "request_id", "ip",
                  "initiative_id", "business_unit_id", "before", "after", "detail", "prev_hash", "hash"]


def _page(queryset, request: HttpRequest):
    """Keyset pagination on seq: no COUNT(*) over a table that only grows."""
    before = request.GET.get("before", "")
    if before.isdigit():
        queryset = queryset.filter(seq__lt=int(before))
    rows = list(queryset.order_by("-seq")[: PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], (rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every event of the trail, newest first, with filters; auditors and portfolio admins only."""
    if not can_read_full_trail(user=request.user):
        raise PermissionDenied("The audit log is open to auditors and portfolio admins.")
    filterset = AuditEventFilterSet(request.GET, queryset=audit_event_list(user=request.user))
    events, next_before = _page(filterset.qs, request) if filterset.is_valid() else ([], None)
    label_actors(events)
    return render(request, "audit/log.html", {
        "events": events, "next_before": next_before, "filter": filterset, "kinds": EventKind.choices,
        "security_actions": SecurityAction.choices, "selected": request.GET,
        "has_filters": any(v for k, v in request.GET.items() if k != "before"),
    })


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the filtered events as CSV; the export itself is recorded in the trail."""
    if not can_read_full_trail(user=request.user):
        raise PermissionDenied("The audit log is open to auditors and portfolio admins.")
    filterset = AuditEventFilterSet(request.GET, queryset=audit_event_list(user=request.user))
    if not filterset.is_valid():
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items()), status=400,
                            content_type="text/plain")
    audit_security_event(action=SecurityAction.EXPORT, actor=request.user,
                         detail={"what": "audit_events", "filters": dict(request.GET.items())})
    writer = csv.writer(_Echo())
    rows = filterset.qs.order_by("seq").values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000)

    def stream():
        yield writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="pilotlight-audit-events.csv"'
    return response


@login_required
def initiative_history_view(request: HttpRequest, key: str) -> HttpResponse:
    """Who changed what on one initiative, before → after, newest first."""
    initiative = initiative_get(user=request.user, key=key.upper())
    events, next_before = _page(initiative_history(user=request.user, initiative_id=initiative.pk), request)
    label_actors(events)
    return render(request, "audit/initiative_history.html", {
        "initiative": initiative, "events": events, "next_before": next_before,
    })
