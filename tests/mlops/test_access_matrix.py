"""The access matrix extended to every MLOps route: every HTML view and API endpoint × every role × the MLOps objects
of an initiative in unit A and in unit B (tests/test_access_matrix.py builds the people and initiatives; this module
adds an MLflow connection, synced models, versions and runs, explicit links, monitoring rules and alerts).

Rules: MLflow connections are managed by portfolio admins only (403 for everyone else, whatever the route); synced
data, links, rules, alerts and readiness follow the linked initiative's visibility (another unit's are 404); writes
(links, rules, acknowledging and resolving alerts) need change rights on the initiative — portfolio admins and the
leads of its unit — and are refused with 403 to those who may only read it (a body naming an initiative the role
cannot see is a 400 on that field). Refused writes leave no data event in the audit trail; successful writes to
audited tables (connections, links, rules, alerts) do. The integration token belongs to a lead of unit A; pages do
not accept tokens, so it is sent to sign in there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.mlops.choices import AlertStatus, LinkKind, Severity
from apps.mlops.models import Alert
from apps.mlops.services import model_link_create, rule_create
from tests.mlops.factories import make_connection, make_model, make_run
from tests.test_access_matrix import ROLES, Rollback, World, _data_events, build_world, can_read, can_write

pytestmark = pytest.mark.django_db

MANAGERS = {"admin"}  # MLflow connections
PER_INITIATIVE = {"initiative", "model", "version", "run", "link", "rule", "alert"}


def build(world: World) -> World:
    """Add an MLflow connection and, for each of the initiatives of unit A and B, a synced registered model (with
    its versions) and run, an explicit link, a monitoring rule and an open alert of that rule."""
    admin = world.users["admin"]
    conn = make_connection(admin, name="Matrix MLflow")
    world.objects["connection"] = {"A": conn}
    for kind in ("model", "version", "run", "link", "rule", "alert"):
        world.objects[kind] = {}
    for side in ("A", "B"):
        initiative = world.objects["initiative"][side]
        model = make_model(conn, initiative, name=f"matrix-model-{side}")
        world.objects["model"][side] = model
        world.objects["version"][side] = model.versions.order_by("version").first()
        world.objects["run"][side] = make_run(conn, initiative, metrics={"loss": 0.1})
        world.objects["link"][side] = model_link_create(actor=admin, initiative=initiative, connection=conn,
                                                        kind=LinkKind.REGISTERED_MODEL, target=model.name)
        rule = rule_create(actor=admin, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.8,
                           name=f"Matrix rule {side}")
        world.objects["rule"][side] = rule
        now = timezone.now()
        world.objects["alert"][side] = Alert.objects.create(
            rule=rule, initiative=initiative, status=AlertStatus.OPEN, severity=Severity.WARNING,
            title=f"auc below 0.8 ({side})", observed_value=0.5, episode_start=now - timedelta(hours=1),
            last_breach_at=now, opened_at=now)
    return world


# --- who may do what ------------------------------------------------------------------------------------------------

Expect = Callable[[str, str], int]


def auth(ok: int = 200) -> Expect:
    return lambda role, side: ok


def read_initiative(ok: int = 200) -> Expect:
    """Synced data, links, rules, alerts and readiness: as visible as the initiative they belong to."""
    return lambda role, side: ok if can_read(role, "initiative", side) else 404


def change_initiative(ok: int = 200, hidden: int = 404) -> Expect:
    """Change rights on the initiative: hidden if it is not visible (404 in a URL, 400 in a body), 403 for readers
    who may not change it."""
    def expect(role: str, side: str) -> int:
        if not can_read(role, "initiative", side):
            return hidden
        return ok if can_write(role, "initiative", side) else 403
    return expect


def manager(ok: int = 200) -> Expect:
    """MLflow connections: portfolio admins only; 403 for everyone else, collections and objects alike."""
    return lambda role, side: ok if role in MANAGERS else 403


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    method: str
    expect: Expect
    kind: str = ""  # the object addressed in the URL or named in the body (per side when it exists for both units)
    args: Callable[[Any], list] | None = None
    payload: Callable[[World, str], dict] | None = None
    writes: bool = True  # a successful write leaves a data event in the trail (audited tables only)

    @property
    def api(self) -> bool:
        return self.name.startswith("api:")


def pk(obj) -> list:
    return [obj.pk]


def key(obj) -> list:
    return [obj.key]


def none(obj) -> list:
    return []


def connection_form(world: World, side: str) -> dict:
    return {"name": "New MLflow", "tracking_uri": "http://127.0.0.1:9", "auth_type": "none",
            "timeout_seconds": 10, "verify_tls": "on", "enabled": "on"}


def connection_body(world: World, side: str) -> dict:
    return {"name": "New MLflow", "tracking_uri": "http://127.0.0.1:9", "auth_type": "none"}


def link_form(world: World, side: str) -> dict:
    return {"connection": world.objects["connection"]["A"].pk, "kind": LinkKind.EXPERIMENT,
            "target": f"new-experiment-{side}"}


def link_body(world: World, side: str) -> dict:
    return {**link_form(world, side), "initiative": world.objects["initiative"][side].key}


def rule_form(world: World, side: str) -> dict:
    return {"name": "Form rule", "kind": "threshold", "metric_key": "auc", "min_value": "0.7", "window_days": 7,
            "baseline_days": 30, "consecutive_breaches": 1, "severity": "warning", "higher_is_better": "on",
            "active": "on"}


def rule_body(world: World, side: str) -> dict:
    return {"initiative": world.objects["initiative"][side].key, "name": "API rule", "kind": "threshold",
            "metric_key": "auc", "min_value": 0.7}


MATRIX: list[Row] = [
    # --- HTML ---
    Row("mlops:overview", "GET", auth()),
    Row("mlops:initiative_models", "GET", read_initiative(), "initiative", key),
    Row("mlops:link_create", "POST", change_initiative(ok=302), "initiative", key, payload=link_form),
    Row("mlops:link_delete", "POST", change_initiative(ok=302), "link", pk),
    Row("mlops:rule_create", "GET", change_initiative(), "initiative", key),
    Row("mlops:rule_create", "POST", change_initiative(ok=302), "initiative", key, payload=rule_form),
    Row("mlops:rule_edit", "GET", change_initiative(), "rule", pk),
    Row("mlops:rule_edit", "POST", change_initiative(ok=302), "rule", pk, payload=rule_form),
    Row("mlops:rule_delete", "POST", change_initiative(ok=302), "rule", pk),
    Row("mlops:alert_list", "GET", auth()),
    Row("mlops:alert_acknowledge", "POST", change_initiative(ok=302), "alert", pk),
    Row("mlops:alert_resolve", "POST", change_initiative(ok=302), "alert", pk, payload=lambda w, s: {"note": "ok"}),
    Row("mlops:connection_list", "GET", manager()),
    Row("mlops:connection_create", "GET", manager()),
    Row("mlops:connection_create", "POST", manager(ok=302), payload=connection_form),
    Row("mlops:connection_edit", "GET", manager(), "connection", pk),
    Row("mlops:connection_edit", "POST", manager(ok=302), "connection", pk,
        payload=lambda w, s: {**connection_form(w, s), "name": "Renamed MLflow"}),
    Row("mlops:connection_delete", "POST", manager(ok=302), "connection", pk),
    Row("mlops:connection_sync", "POST", manager(ok=302), "connection", pk, writes=False),
    Row("mlops:connection_test", "POST", manager(ok=302), "connection", pk, writes=False),
    # --- API: connections ---
    Row("api:mlflow-connection-list", "GET", manager()),
    Row("api:mlflow-connection-list", "POST", manager(ok=201), payload=connection_body),
    Row("api:mlflow-connection-detail", "GET", manager(), "connection", pk),
    Row("api:mlflow-connection-detail", "PUT", manager(), "connection", pk,
        payload=lambda w, s: {**connection_body(w, s), "name": "Renamed MLflow"}),
    Row("api:mlflow-connection-detail", "PATCH", manager(), "connection", pk,
        payload=lambda w, s: {"name": "Renamed MLflow"}),
    Row("api:mlflow-connection-detail", "DELETE", manager(ok=204), "connection", pk),
    Row("api:mlflow-connection-test", "POST", manager(ok=202), "connection", pk, writes=False),
    Row("api:mlflow-connection-sync", "POST", manager(ok=202), "connection", pk,
        payload=lambda w, s: {"full": False}, writes=False),
    # --- API: links ---
    Row("api:model-link-list", "GET", auth()),
    Row("api:model-link-list", "POST", change_initiative(ok=201, hidden=400), "initiative", none, payload=link_body),
    Row("api:model-link-detail", "GET", read_initiative(), "link", pk),
    Row("api:model-link-detail", "DELETE", change_initiative(ok=204), "link", pk),
    # --- API: synced registry and runs (read only) ---
    Row("api:registered-model-list", "GET", auth()),
    Row("api:registered-model-detail", "GET", read_initiative(), "model", pk),
    Row("api:model-version-list", "GET", auth()),
    Row("api:model-version-detail", "GET", read_initiative(), "version", pk),
    Row("api:run-list", "GET", auth()),
    Row("api:run-detail", "GET", read_initiative(), "run", pk),
    # --- API: monitoring rules and alerts ---
    Row("api:monitoring-rule-list", "GET", auth()),
    Row("api:monitoring-rule-list", "POST", change_initiative(ok=201, hidden=400), "initiative", none,
        payload=rule_body),
    Row("api:monitoring-rule-detail", "GET", read_initiative(), "rule", pk),
    Row("api:monitoring-rule-detail", "PUT", change_initiative(), "rule", pk,
        payload=lambda w, s: {k: v for k, v in rule_body(w, s).items() if k != "initiative"}),
    Row("api:monitoring-rule-detail", "PATCH", change_initiative(), "rule", pk,
        payload=lambda w, s: {"min_value": 0.6}),
    Row("api:monitoring-rule-detail", "DELETE", change_initiative(ok=204), "rule", pk),
    Row("api:alert-list", "GET", auth()),
    Row("api:alert-detail", "GET", read_initiative(), "alert", pk),
    Row("api:alert-acknowledge", "POST", change_initiative(), "alert", pk),
    Row("api:alert-resolve", "POST", change_initiative(), "alert", pk, payload=lambda w, s: {"note": "fixed"}),
    # --- API: readiness ---
    Row("api:readiness-list", "GET", auth()),
    Row("api:readiness-detail", "GET", read_initiative(), "initiative", key),
]


def _call(client: Client, row: Row, url: str, data: dict | None):
    method = getattr(client, row.method.lower())
    if row.method == "GET":
        return method(url)
    if row.api:
        return method(url, data=data or {}, content_type="application/json")
    return method(url, data=data or {})


def _expected(row: Row, role: str, side: str) -> int:
    if role == "anonymous" or (role == "integration" and not row.api):
        return 401 if row.api else 302
    return row.expect(role, side)


@pytest.mark.parametrize("row", MATRIX, ids=[f"{row.method} {row.name}" for row in MATRIX])
def test_mlops_access_matrix(row: Row):
    world = build(build_world())
    sides = ["A", "B"] if row.kind in PER_INITIATIVE else ["A"]
    failures = []
    for role in ROLES:
        for side in sides:
            expected = _expected(row, role, side)
            before = _data_events()
            try:
                with transaction.atomic():
                    client = world.client(role, row.api)
                    args = row.args(world.objects[row.kind][side]) if row.args else []
                    url = reverse(row.name, args=args)
                    response = _call(client, row, url, row.payload(world, side) if row.payload else None)
                    changed = _data_events() != before
                    raise Rollback
            except Rollback:
                pass
            if response.status_code != expected:
                body = getattr(response, "content", b"")[:200]
                failures.append(f"{role} on {side}: expected {expected}, got {response.status_code} {body!r}")
            elif expected >= 400 and changed and row.method != "GET":
                failures.append(f"{role} on {side}: refused with {expected} but data was written")
            elif (row.method != "GET" and expected < 400 and role != "anonymous" and row.writes
                  and not (role == "integration" and not row.api) and not changed):
                failures.append(f"{role} on {side}: succeeded with {expected} but wrote nothing")
    assert not failures, "\n".join(failures)
