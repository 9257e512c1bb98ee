"""Audit log page, CSV export, initiative history and the audit-events API: content, scope, query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.choices import GlobalRole
from apps.accounts.services import api_token_create
from apps.audit.context import audit_context
from apps.audit.models import AuditEvent
from apps.portfolio.services import initiative_update
from tests.factories import make_initiative, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(db):
    return make_user(role=GlobalRole.AUDITOR, username="auditor")


@pytest.fixture
def edited(admin_user, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Claims triage")
    initiative_update(actor=admin_user, initiative=initiative, name="Claims triage v2")
    return initiative


def test_auditor_sees_the_log_with_before_and_after(client, auditor, edited):
    client.force_login(auditor)
    response = client.get(reverse("audit:log"), {"table": "portfolio_initiative", "action": "update"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Claims triage v2" in body and "Claims triage</span>" in body


@pytest.mark.parametrize("role", [GlobalRole.EXECUTIVE, GlobalRole.COMPLIANCE_OFFICER, None])
def test_the_global_log_is_closed_to_other_roles(client, role, unit_a):
    client.force_login(make_user(role=role, unit=None if role else unit_a))
    assert client.get(reverse("audit:log")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403


def test_export_streams_filtered_csv_and_is_itself_audited(client, auditor, edited):
    client.force_login(auditor)
    response = client.get(reverse("audit:export"), {"initiative": edited.key})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["seq", "occurred_at", "kind", "action"]
    assert {row[4] for row in rows[1:]} == {"portfolio_initiative", "portfolio_stagetransition"}
    assert len(rows) - 1 == AuditEvent.objects.filter(initiative_id=edited.pk, kind="data").count()
    export = AuditEvent.objects.get(kind="security", action="export")
    assert export.actor_id == auditor.pk and export.detail["filters"] == {"initiative": edited.key}


def test_history_tab_shows_changes_and_hides_other_units(client, edited, lead_a, lead_b):
    client.force_login(lead_a)
    response = client.get(reverse("audit:initiative_history", args=[edited.key]))
    assert response.status_code == 200
    assert "Claims triage v2" in response.content.decode()
    client.force_login(lead_b)
    assert client.get(reverse("audit:initiative_history", args=[edited.key])).status_code == 404


def test_api_lists_events_scoped_to_the_users_units(client, admin_user, unit_a, unit_b, lead_b):
    make_initiative(actor=admin_user, unit=unit_a, name="A")
    b = make_initiative(actor=admin_user, unit=unit_b, name="B")
    _, key = api_token_create(user=lead_b, name="audit reader")
    response = client.get("/api/v1/audit-events/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    results = response.json()["results"]
    assert results and {event["initiative_id"] for event in results if event["initiative_id"]} == {b.pk}
    assert all(event["business_unit_id"] == unit_b.pk for event in results)


def test_api_filters_by_initiative_and_retrieves_by_seq(client, auditor, edited):
    client.force_login(auditor)
    response = client.get("/api/v1/audit-events/", {"initiative": edited.key, "action": "update"})
    (event,) = response.json()["results"]
    assert (event["before"]["name"], event["after"]["name"]) == ("Claims triage", "Claims triage v2")
    detail = client.get(f"/api/v1/audit-events/{event['seq']}/").json()
    assert detail["hash"] == event["hash"]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_events(client, auditor, admin_user, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    client.force_login(auditor)
    urls = [reverse("audit:log"), reverse("audit:initiative_history", args=[initiative.key]), "/api/v1/audit-events/"]
    with audit_context(actor_id=admin_user.pk):  # as in a request: every event has an actor
        for n in range(5):
            initiative_update(actor=admin_user, initiative=initiative, name=f"rename {n}")
    client.get(urls[0])  # the first request after sign-in also touches the session
    few = [_queries(client, url) for url in urls]
    with audit_context(actor_id=admin_user.pk):
        for n in range(50):
            initiative_update(actor=admin_user, initiative=initiative, name=f"again {n}")
    assert [_queries(client, url) for url in urls] == few
