"""The trigger-based audit trail: one event per changed row however it was written, append-only, hash-chained."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.test import RequestFactory

from apps.audit.context import AuditContextMiddleware, audit_context
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_chain_verify, audit_event_list, initiative_history
from apps.kpis.models import Measurement
from apps.portfolio.models import Initiative
from apps.portfolio.services import initiative_update
from tests.factories import make_initiative, make_kpi, make_unit, make_user

pytestmark = pytest.mark.django_db


def events(table: str, action: str | None = None):
    queryset = AuditEvent.objects.filter(table_name=table).order_by("seq")
    return list(queryset.filter(action=action) if action else queryset)


@pytest.fixture
def initiative(admin_user, unit_a):
    return make_initiative(actor=admin_user, unit=unit_a, name="Claims triage")


def test_save_records_before_and_after(admin_user, initiative):
    with audit_context(actor_id=admin_user.pk, request_id="req-1", ip="10.0.0.7"):
        initiative_update(actor=admin_user, initiative=initiative, name="Claims triage v2")
    (event,) = events("portfolio_initiative", "update")
    assert event.before["name"] == "Claims triage"
    assert event.after["name"] == "Claims triage v2"
    assert ("name", "Claims triage", "Claims triage v2") in event.changes
    assert (event.actor_id, event.request_id, event.ip) == (admin_user.pk, "req-1", "10.0.0.7")
    assert (event.initiative_id, event.business_unit_id) == (initiative.pk, initiative.business_unit_id)


def test_bulk_create_records_one_event_per_row(admin_user, initiative):
    kpi = make_kpi(actor=admin_user, initiative=initiative)
    Measurement.objects.bulk_create(
        [Measurement(kpi=kpi, date=f"2026-01-{d:02d}", value=Decimal(d)) for d in range(1, 6)]
    )
    inserted = events("kpis_measurement", "insert")
    assert len(inserted) == 5
    assert sorted(e.after["value"] for e in inserted) == [1, 2, 3, 4, 5]
    assert {e.initiative_id for e in inserted} == {initiative.pk}


def test_queryset_update_records_one_event_per_row(admin_user, unit_a):
    created = [make_initiative(actor=admin_user, unit=unit_a, name=f"I{n}") for n in range(3)]
    Initiative.objects.filter(pk__in=[i.pk for i in created]).update(priority="critical")
    updated = events("portfolio_initiative", "update")
    assert len(updated) == 3
    assert {(e.before["priority"], e.after["priority"]) for e in updated} == {("medium", "critical")}


def test_delete_records_the_row_as_it_was(admin_user, initiative):
    kpi = make_kpi(actor=admin_user, initiative=initiative, name="To delete")
    kpi_id = kpi.pk
    kpi.delete()
    (event,) = events("kpis_kpi", "delete")
    assert (event.object_pk, event.before["name"], event.after) == (str(kpi_id), "To delete", None)


def test_raw_sql_update_is_captured(initiative):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE portfolio_initiative SET budget = 125000 WHERE id = %s", [initiative.pk])
    (event,) = events("portfolio_initiative", "update")
    assert (event.before["budget"], event.after["budget"]) == (None, 125000)


def test_an_update_that_changes_nothing_records_nothing(initiative):
    Initiative.objects.filter(pk=initiative.pk).update(name=initiative.name, updated_at=initiative.updated_at)
    assert events("portfolio_initiative", "update") == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_auditevent SET action = 'x'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
])
def test_the_event_table_refuses_changes(initiative, statement):
    count = AuditEvent.objects.count()
    assert count > 0
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL pilotlight.audit_maintenance = 'off'")
        cursor.execute(statement)
    assert AuditEvent.objects.count() == count


def tamper(sql: str, params: list) -> None:
    """Change the trail behind the triggers' back, as a superuser with direct database access could."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def test_verify_passes_on_an_intact_trail_and_prints_the_head(initiative, capsys):
    head = AuditEvent.objects.order_by("-seq").first()
    call_command("verify_audit_log")
    out = capsys.readouterr().out
    assert f"Head: #{head.seq} {head.hash}" in out
    assert audit_chain_verify().events == AuditEvent.objects.count()


def test_verify_names_an_edited_event(initiative):
    victim = AuditEvent.objects.order_by("seq")[1]
    tamper("UPDATE audit_auditevent SET after = jsonb_set(after, '{name}', '\"Forged\"') WHERE seq = %s",
           [victim.seq])
    with pytest.raises(CommandError, match=rf"broken at event #{victim.seq}: its content does not match"):
        call_command("verify_audit_log")


def test_verify_names_the_gap_left_by_a_deleted_event(initiative):
    victim = AuditEvent.objects.order_by("seq")[1]
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [victim.seq])
    with pytest.raises(CommandError, match=rf"event\(s\) {victim.seq}\.\.{victim.seq} missing"):
        call_command("verify_audit_log")


def test_middleware_attributes_writes_to_the_signed_in_user(admin_user, initiative):
    def view(request):
        initiative_update(actor=request.user, initiative=initiative, name="Renamed in a request")
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = RequestFactory().post("/x", HTTP_X_REQUEST_ID="abc-123", REMOTE_ADDR="192.0.2.9")
    request.user = admin_user
    response = AuditContextMiddleware(view)(request)
    (event,) = events("portfolio_initiative", "update")
    assert (event.actor_id, event.request_id, event.ip) == (admin_user.pk, "abc-123", "192.0.2.9")
    assert response["X-Request-ID"] == "abc-123"
    with connection.cursor() as cursor:  # cleared for the next request on this connection
        cursor.execute("SELECT current_setting('pilotlight.actor_id', true)")
        assert cursor.fetchone()[0] == ""


def test_history_and_list_are_scoped_to_visible_units(admin_user, initiative, lead_b, unit_a):
    lead_a = make_user(unit=unit_a)
    assert initiative_history(user=lead_a, initiative_id=initiative.pk).count() >= 2
    assert initiative_history(user=lead_b, initiative_id=initiative.pk).count() == 0
    assert not audit_event_list(user=lead_b).filter(initiative_id=initiative.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_leave_an_unbroken_chain():
    admin = make_user(is_superuser=True)
    unit = make_unit("Concurrency")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                make_initiative(actor=admin, unit=unit, name=f"W{n}-{i}", key=f"CC-{n * 100 + i}")
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit_chain_verify()
    assert report.ok, report.problem
    # 80 initiatives and 80 opening transitions, plus the setup's unit and user-group rows
    assert AuditEvent.objects.filter(table_name="portfolio_initiative", action="insert").count() == 80
    assert report.events == AuditEvent.objects.count()
