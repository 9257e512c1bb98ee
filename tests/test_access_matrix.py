"""The access matrix: every routed HTML view and API endpoint × every role × an object of unit A and of unit B.

Lists must return exactly the permitted set, another unit's object is a 404, refused writes leave the database
unchanged (no data event in the audit trail, which every governed write produces), and a route added without a
row here fails `test_every_route_has_a_row`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apps.accounts.choices import GlobalRole, UnitRole
from apps.accounts.services import api_token_create
from apps.audit.models import AuditEvent
from apps.core.services import job_create
from apps.kpis.services import measurement_record
from apps.portfolio.services import initiative_grant, objective_create
from tests.factories import make_admin, make_initiative, make_kpi, make_unit, make_user

ROLES = ["executive", "admin", "compliance", "auditor", "lead_a", "lead_b", "contributor_a", "viewer_a", "grantee",
         "integration", "anonymous"]
READS = {  # which unit's objects each role may read
    "executive": {"A", "B"}, "admin": {"A", "B"}, "compliance": {"A", "B"}, "auditor": {"A", "B"},
    "lead_a": {"A"}, "lead_b": {"B"}, "contributor_a": {"A"}, "viewer_a": {"A"},
    "grantee": {"A"},  # one initiative of unit A (and what belongs to it) through a guardian view grant
    "integration": {"A"}, "anonymous": set(),
}
WRITES = {"admin": {"A", "B"}, "lead_a": {"A"}, "lead_b": {"B"}, "integration": {"A"}}
CREATES_IN_A = {"admin", "lead_a", "contributor_a", "integration"}
CREATES_SOMEWHERE = {"admin", "lead_a", "lead_b", "contributor_a", "integration"}
SEES_UNIT_A = {"executive", "admin", "compliance", "auditor", "lead_a", "contributor_a", "viewer_a", "integration"}
FULL_TRAIL = {"admin", "auditor"}
# Objects the grantee cannot reach even in unit A: they do not belong to the granted initiative.
UNIT_OBJECTS = {"objective", "unit"}


class Rollback(Exception):
    pass


@dataclasses.dataclass
class World:
    users: dict[str, Any]
    keys: dict[str, str]
    objects: dict[str, dict[str, Any]]  # kind -> {"A": obj, "B": obj}

    def client(self, role: str, api: bool) -> Client:
        client = Client()
        if role == "integration":
            if api:
                client.defaults["HTTP_AUTHORIZATION"] = f"Token {self.keys['integration']}"
        elif role != "anonymous":
            client.force_login(self.users[role])
        return client


def build_world() -> World:
    unit_a, unit_b = make_unit("Unit A"), make_unit("Unit B")
    admin = make_admin(username="m_admin")
    users = {
        "executive": make_user(role=GlobalRole.EXECUTIVE, username="m_exec"),
        "admin": admin,
        "compliance": make_user(role=GlobalRole.COMPLIANCE_OFFICER, username="m_compliance"),
        "auditor": make_user(role=GlobalRole.AUDITOR, username="m_auditor"),
        "lead_a": make_user(unit=unit_a, unit_role=UnitRole.LEAD, username="m_lead_a"),
        "lead_b": make_user(unit=unit_b, unit_role=UnitRole.LEAD, username="m_lead_b"),
        "contributor_a": make_user(unit=unit_a, unit_role=UnitRole.CONTRIBUTOR, username="m_contrib_a"),
        "viewer_a": make_user(unit=unit_a, unit_role=UnitRole.VIEWER, username="m_viewer_a"),
        "grantee": make_user(username="m_grantee"),
        "integration": make_user(unit=unit_a, unit_role=UnitRole.LEAD, username="m_integration"),
        "anonymous": AnonymousUser(),
    }
    objects: dict[str, dict[str, Any]] = {kind: {} for kind in
                                          ("initiative", "kpi", "measurement", "objective", "unit", "job", "event",
                                           "token")}
    for name, unit, lead in (("A", unit_a, users["lead_a"]), ("B", unit_b, users["lead_b"])):
        initiative = make_initiative(actor=admin, unit=unit, owner=lead, name=f"Initiative {name}")
        kpi = make_kpi(actor=admin, initiative=initiative, name=f"KPI {name}")
        objects["initiative"][name] = initiative
        objects["kpi"][name] = kpi
        objects["measurement"][name] = measurement_record(actor=admin, kpi=kpi, date=date(2026, 2, 1), value=90)
        objects["objective"][name] = objective_create(actor=admin, title=f"Objective {name}", business_unit=unit)
        objects["unit"][name] = unit
        objects["job"][name] = job_create(kind="demo", requested_by=lead)
        objects["event"][name] = AuditEvent.objects.filter(table_name="portfolio_initiative",
                                                           object_pk=str(initiative.pk)).first()
        objects["token"][name] = api_token_create(user=lead, name=f"token {name}")[0]
    initiative_grant(actor=admin, initiative=objects["initiative"]["A"], user=users["grantee"], access="view")
    _, integration_key = api_token_create(user=users["integration"], name="integration")
    return World(users=users, keys={"integration": integration_key}, objects=objects)


def can_read(role: str, kind: str, side: str) -> bool:
    if kind == "job":  # jobs are private to whoever requested them, and to portfolio admins
        return role == "admin" or (role == "lead_a" and side == "A") or (role == "lead_b" and side == "B")
    if kind == "token":
        return (role == "lead_a" and side == "A") or (role == "lead_b" and side == "B")
    if kind == "event" and role not in FULL_TRAIL:
        # data events follow the unit (or the grant) of what they record
        return side in READS[role]
    if role == "grantee" and kind in UNIT_OBJECTS:
        return False
    return side in READS[role]


def can_write(role: str, kind: str, side: str) -> bool:
    return side in WRITES.get(role, set())


@dataclasses.dataclass(frozen=True)
class Row:
    """One route and method: how to address it and which policy decides the expected status."""

    name: str
    method: str
    policy: str  # public | login | auth | admin | trail | create_form | create | read | write | own
    kind: str = ""  # the object kind addressed (read/write/own policies)
    url_args: Callable[[Any], list] | None = None
    ok: int = 200
    payload: Callable[[World, str], dict] | None = None
    refused: int = 403  # the object (or unit) is visible but the role may not write it
    hidden: int = 404  # the object (or unit) is not visible: 404 in a URL, 400 (unknown choice) in a body

    @property
    def api(self) -> bool:
        return self.name.startswith("api:")


def key(obj) -> list:
    return [obj.key]


def pk(obj) -> list:
    return [obj.pk]


def slug(obj) -> list:
    return [obj.slug]


def seq(obj) -> list:
    return [obj.seq]


def initiative_payload(world: World, side: str) -> dict:
    return {"name": "Matrix initiative", "business_unit": world.objects["unit"]["A"].slug, "ai_type": "nlp"}


def kpi_payload(world: World, side: str) -> dict:
    return {"initiative": world.objects["initiative"][side].key, "name": "New KPI", "category": "efficiency",
            "unit": "%", "direction": "up", "baseline_value": "10", "baseline_date": "2026-01-01",
            "target_value": "20", "target_date": "2026-12-31"}


def measurement_payload(world: World, side: str) -> dict:
    return {"kpi": world.objects["kpi"][side].pk, "date": "2026-03-01", "value": "88"}


def html_kpi_form(world: World, side: str) -> dict:
    data = kpi_payload(world, side)
    data.pop("initiative")
    data.update(source="manual", cadence="monthly")
    return data


MATRIX: list[Row] = [
    Row("accounts:login", "GET", "login"),
    Row("accounts:logout", "POST", "public", ok=302),
    Row("accounts:tokens", "GET", "auth"),
    Row("accounts:token_revoke", "POST", "own", "token", pk, ok=302),
    Row("accounts:units", "GET", "auth"),
    Row("accounts:unit_members", "GET", "read", "unit", slug),
    Row("accounts:unit_members", "POST", "write", "unit", slug, ok=302,
        payload=lambda w, s: {"add": "1", "user": w.users["grantee"].pk, "role": "viewer"}),
    Row("portfolio:overview", "GET", "auth"),
    Row("portfolio:initiative_list", "GET", "auth"),
    Row("portfolio:initiative_create", "GET", "create_form"),
    Row("portfolio:initiative_create", "POST", "create", ok=302, hidden=200, payload=lambda w, s: {
        "name": "Matrix initiative", "business_unit": w.objects["unit"]["A"].pk, "ai_type": "nlp",
        "priority": "medium", "impact_score": 3, "feasibility_score": 3, "risk_tier": "unclassified",
        "operator_role": "deployer"}),
    Row("portfolio:initiative_detail", "GET", "read", "initiative", key),
    Row("portfolio:initiative_edit", "GET", "write", "initiative", key),
    Row("portfolio:initiative_access", "GET", "read", "initiative", key),
    Row("portfolio:initiative_access", "POST", "write", "initiative", key, ok=302,
        payload=lambda w, s: {"add": "1", "user": w.users["viewer_a"].pk, "access": "view"}),
    Row("portfolio:initiative_transition", "GET", "write", "initiative", key),
    Row("portfolio:initiative_transition", "POST", "write", "initiative", key, ok=302,
        payload=lambda w, s: {"to_stage": "discovery", "decision": "advance", "rationale": "matrix"}),
    Row("portfolio:kpi_create", "GET", "write", "initiative", key),
    Row("portfolio:kpi_create", "POST", "write", "initiative", key, ok=302, payload=html_kpi_form),
    Row("portfolio:kpi_edit", "GET", "write", "kpi", pk),
    Row("portfolio:measurement_create", "GET", "write", "kpi", pk),
    Row("portfolio:measurement_create", "POST", "write", "kpi", pk, ok=302,
        payload=lambda w, s: {"mode": "single", "date": "2026-03-01", "value": "88"}),
    Row("audit:log", "GET", "trail"),
    Row("audit:export", "GET", "trail"),
    Row("audit:initiative_history", "GET", "read", "initiative", key),
    Row("api:business-unit-list", "GET", "auth"),
    Row("api:business-unit-list", "POST", "admin", ok=201, payload=lambda w, s: {"name": "Matrix unit"}),
    Row("api:business-unit-detail", "GET", "read", "unit", slug),
    Row("api:objective-list", "GET", "auth"),
    Row("api:objective-list", "POST", "create", ok=201, hidden=400,
        payload=lambda w, s: {"title": "Matrix objective", "business_unit": w.objects["unit"]["A"].slug}),
    Row("api:objective-detail", "GET", "read", "objective", pk),
    Row("api:initiative-list", "GET", "auth"),
    Row("api:initiative-list", "POST", "create", ok=201, hidden=400, payload=initiative_payload),
    Row("api:initiative-detail", "GET", "read", "initiative", key),
    Row("api:initiative-detail", "PUT", "write", "initiative", key,
        payload=lambda w, s: {"name": "Renamed", "business_unit": w.objects["unit"][s].slug, "ai_type": "nlp"}),
    Row("api:initiative-detail", "PATCH", "write", "initiative", key, payload=lambda w, s: {"name": "Renamed"}),
    Row("api:initiative-transition", "POST", "write", "initiative", key,
        payload=lambda w, s: {"to_stage": "discovery", "rationale": "matrix"}),
    Row("api:initiative-transitions", "GET", "read", "initiative", key),
    Row("api:kpi-list", "GET", "auth"),
    Row("api:kpi-list", "POST", "write", "kpi", lambda o: [], ok=201, hidden=400, payload=kpi_payload),
    Row("api:kpi-detail", "GET", "read", "kpi", pk),
    Row("api:kpi-detail", "PUT", "write", "kpi", pk, payload=lambda w, s: {
        k: v for k, v in kpi_payload(w, s).items() if k != "initiative"}),
    Row("api:kpi-detail", "PATCH", "write", "kpi", pk, payload=lambda w, s: {"name": "Renamed KPI"}),
    Row("api:measurement-list", "GET", "auth"),
    Row("api:measurement-list", "POST", "write", "kpi", lambda o: [], ok=201, hidden=400,
        payload=measurement_payload),
    # bulk rows name their KPI: a KPI the role may not write is a row error, whether or not it is visible
    Row("api:measurement-bulk", "POST", "write", "kpi", lambda o: [], ok=201, refused=400, hidden=400,
        payload=lambda w, s: {"measurements": [measurement_payload(w, s)]}),
    Row("api:measurement-detail", "GET", "read", "measurement", pk),
    Row("api:job-list", "GET", "auth"),
    Row("api:job-detail", "GET", "read", "job", pk),
    Row("api:audit-event-list", "GET", "auth"),
    Row("api:audit-event-detail", "GET", "read", "event", seq),
    Row("api:api-root", "GET", "auth"),
    # The schema and its docs page are public: they describe the API, not the data.
    Row("api-schema", "GET", "public"),
    Row("api-docs", "GET", "public"),
]


def expected_status(row: Row, role: str, side: str) -> int:
    """The status a role should get on a row for the object of unit `side`."""
    if row.policy == "public":
        return row.ok
    if row.policy == "login":
        return row.ok if role in ("anonymous", "integration") else 302  # signed-in users go to the overview
    if role == "anonymous" or (role == "integration" and not row.api):
        return 401 if row.api else 302  # the API answers 401; pages send you to sign in
    if row.policy == "auth":
        return row.ok
    if row.policy == "trail":
        return row.ok if role in FULL_TRAIL else 403
    if row.policy == "admin":
        return row.ok if role == "admin" else 403
    if row.policy == "create_form":
        return row.ok if role in CREATES_SOMEWHERE else 403
    if row.policy == "create":  # creating in unit A
        if role in CREATES_IN_A:
            return row.ok
        if role in SEES_UNIT_A or (not row.api and role not in CREATES_SOMEWHERE):
            return row.refused  # pages refuse roles that can create nowhere before reading the form
        return row.hidden
    readable = can_read(role, row.kind, side)
    if row.policy in ("read", "own"):
        return row.ok if readable else row.hidden
    if not readable:
        return row.hidden
    return row.ok if can_write(role, row.kind, side) else row.refused


def _data_events() -> int:
    return AuditEvent.objects.filter(kind="data").count()


def _request(client: Client, row: Row, url: str, data: dict | None):
    method = getattr(client, row.method.lower())
    if row.method == "GET":
        return method(url)
    if row.api:
        return method(url, data=data or {}, content_type="application/json")
    return method(url, data=data or {})


def _url(row: Row, world: World, side: str) -> str:
    if not row.kind:
        return reverse(row.name)
    args = row.url_args(world.objects[row.kind][side]) if row.url_args else []
    return reverse(row.name, args=args)


def _case_ids():
    return [f"{row.method} {row.name}" for row in MATRIX]


@pytest.mark.django_db
@pytest.mark.parametrize("row", MATRIX, ids=_case_ids())
def test_access_matrix(row: Row):
    world = build_world()
    sides = ["A", "B"] if row.kind else ["A"]
    failures = []
    for role in ROLES:
        for side in sides:
            expected = expected_status(row, role, side)
            before = _data_events()
            try:
                with transaction.atomic():
                    client = world.client(role, row.api)
                    data = row.payload(world, side) if row.payload else None
                    response = _request(client, row, _url(row, world, side), data)
                    changed = _data_events() != before
                    raise Rollback
            except Rollback:
                pass
            if response.status_code != expected:
                failures.append(f"{role} on {side}: expected {expected}, got {response.status_code} "
                                f"{getattr(response, 'content', b'')[:160]!r}")
            elif expected >= 400 and changed and row.method != "GET":
                failures.append(f"{role} on {side}: refused with {expected} but data was written")
            elif (row.method != "GET" and expected == row.ok and role not in ("anonymous",)
                  and row.policy not in ("public", "login", "own") and not (role == "integration" and not row.api)
                  and not changed):
                failures.append(f"{role} on {side}: succeeded with {expected} but wrote nothing")
    assert not failures, "\n".join(failures)


def _visible(client: Client, url: str, field: str) -> set:
    response = client.get(url, {"page_size": 500})
    assert response.status_code == 200
    return {item[field] for item in response.json()["results"]}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_lists_return_exactly_the_permitted_set(role):
    world = build_world()
    client = world.client(role, api=True)
    expected_sides = {side for side in "AB" if can_read(role, "initiative", side)}
    initiatives = world.objects["initiative"]
    assert _visible(client, "/api/v1/initiatives/", "key") == {initiatives[s].key for s in expected_sides}
    assert _visible(client, "/api/v1/kpis/", "id") == {world.objects["kpi"][s].pk for s in expected_sides}
    assert _visible(client, "/api/v1/measurements/", "id") == {
        world.objects["measurement"][s].pk for s in expected_sides}
    if role != "integration":
        html = Client()
        html.force_login(world.users[role])
        body = html.get(reverse("portfolio:initiative_list")).content.decode()
        for side in "AB":
            assert (initiatives[side].key in body) == (side in expected_sides), side


def _routes(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin" or str(pattern.pattern).startswith("admin/"):
                continue
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else (
                pattern.namespace or namespace)
            yield from _routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            if "format" in str(pattern.pattern):  # DRF's .json suffix variants of the same routes
                continue
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            actions = getattr(pattern.callback, "actions", None)
            if actions:
                for method in actions:
                    if method != "head":  # HEAD is GET without a body
                        yield name, method.upper()
            else:
                yield name, None


def _all_matrix_rows() -> list:
    """This matrix plus the per-app matrices (tests/<app>/test_access_matrix.py, same roles, own objects)."""
    import importlib
    from pathlib import Path

    rows = list(MATRIX)
    for path in sorted(Path(__file__).parent.glob("*/test_access_matrix.py")):
        module = importlib.import_module(f"tests.{path.parent.name}.test_access_matrix")
        rows.extend(module.MATRIX)
    return rows


def test_every_route_has_a_row():
    rows = _all_matrix_rows()
    covered = {(row.name, row.method) for row in rows}
    covered_names = {row.name for row in rows}
    missing = []
    for name, method in _routes(get_resolver().url_patterns):
        if method is None:
            if name not in covered_names:
                missing.append(name)
        elif (name, method) not in covered:
            missing.append(f"{method} {name}")
    assert not missing, f"Routes without a row in the access matrix: {missing}"
