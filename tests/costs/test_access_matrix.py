"""The access matrix extended to every cost route: every HTML view and API endpoint × every role × the costs of an
initiative in unit A and in unit B (tests/test_access_matrix.py builds the people and initiatives; this module adds
the cost objects and the cost rules).

Rules: cost follows initiative visibility (another unit's initiative costs are 404); sources, imports and allocation
rules — which expose unallocated cost — are read by executives and portfolio admins only (404 for everyone else);
only portfolio admins change anything (403 for executives, and for everyone on FX rates, which all may read).
Refused writes leave no data event in the audit trail; successful writes to governed tables do.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from apps.costs.choices import ImportOrigin, ImportStatus, RuleKind, SourceKind
from apps.costs.models import CostImport, CostRecord, CostSource, FxRate
from apps.costs.services import allocation_rule_create, cost_import_file
from tests.test_access_matrix import ROLES, Rollback, World, _data_events, build_world, can_read

pytestmark = pytest.mark.django_db

READERS = {"admin", "executive"}  # cost configuration, imports and unallocated cost
MANAGERS = {"admin"}
CSV = ("ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName,"
       "ServiceName,Tags\n")


def build(world: World, tmp_path) -> World:
    """Add a FOCUS source with one line item for each of the initiatives of unit A and B, an AWS source, a failed
    import, an allocation rule and an FX rate."""
    admin = world.users["admin"]
    source = CostSource.objects.create(name="Matrix FOCUS", kind=SourceKind.FOCUS)
    aws = CostSource.objects.create(name="Matrix AWS", kind=SourceKind.AWS)
    lines = [f'2026-01-02,2026-01-03,{amount},{amount},EUR,Usage,AWS,S3,"'
             + json.dumps({"pilotlight-initiative": world.objects["initiative"][side].key}).replace('"', '""') + '"'
             for side, amount in (("A", 10), ("B", 20))]
    path = tmp_path / "matrix.csv"
    path.write_text(CSV + "\n".join(lines) + "\n")
    assert cost_import_file(actor=admin, source=source, paths=[path]).status == ImportStatus.SUCCEEDED
    failed = CostImport.objects.create(source=source, origin=ImportOrigin.UPLOAD, status=ImportStatus.FAILED,
                                       files=[], error="bad", requested_by=admin)
    world.objects["source"] = {"A": source}
    world.objects["aws"] = {"A": aws}
    world.objects["failed"] = {"A": failed}
    world.objects["record"] = {side: CostRecord.objects.get(effective_cost=amount)
                               for side, amount in (("A", 10), ("B", 20))}
    world.objects["rule"] = {"A": allocation_rule_create(actor=admin, name="Matrix rule", kind=RuleKind.TAG,
                                                         tag_key="team", tag_value="x",
                                                         initiative=world.objects["initiative"]["A"])}
    world.objects["fx"] = {"A": FxRate.objects.create(currency="USD", valid_from="2025-01-01", rate="0.9")}
    return world


# --- who may do what ------------------------------------------------------------------------------------------------

Expect = Callable[[str, str], int]


def auth(ok: int = 200) -> Expect:
    return lambda role, side: ok


def read_initiative(ok: int = 200) -> Expect:
    return lambda role, side: ok if can_read(role, "initiative", side) else 404


def reader(ok: int = 200) -> Expect:
    """Cost configuration and imports: executives and admins read them; for others they do not exist."""
    return lambda role, side: ok if role in READERS else 404


def manager(ok: int = 200, hidden: int = 404) -> Expect:
    """Admins change; executives see it but are refused; others do not see it (or, for collections, are refused)."""
    def expect(role: str, side: str) -> int:
        if role in MANAGERS:
            return ok
        return 403 if role in READERS else hidden
    return expect


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    method: str
    expect: Expect
    kind: str = ""  # the object addressed in the URL (per side when it exists for both units)
    args: Callable[[Any], list] | None = None
    payload: Callable[[World], dict] | None = None
    writes: bool = True  # a successful write leaves a data event in the trail (governed tables only)
    multipart: bool = False

    @property
    def api(self) -> bool:
        return self.name.startswith("api:")


def pk(obj) -> list:
    return [obj.pk]


def key(obj) -> list:
    return [obj.key]


def source_form(world: World) -> dict:
    return {"name": "New source", "kind": "focus", "enabled": "on", "tag_key": "pilotlight-initiative",
            "aws_region": "us-east-1", "aws_metric": "AmortizedCost", "azure_cost_type": "ActualCost",
            "lookback_days": 5, "initial_days": 90}


def rule_form(world: World) -> dict:
    return {"name": "Form rule", "kind": "tag", "tag_key": "team", "tag_value": "y",
            "initiative": world.objects["initiative"]["B"].key, "priority": 100, "share": "1", "enabled": "on"}


def upload(world: World) -> dict:
    return {"files": [SimpleUploadedFile("u.csv", (CSV + "2026-02-01,2026-02-02,1,1,EUR,Usage,AWS,S3,\n").encode())]}


MATRIX: list[Row] = [
    # --- HTML ---
    Row("costs:portfolio", "GET", auth()),
    Row("costs:initiative", "GET", read_initiative(), "initiative", key),
    Row("costs:explorer", "GET", auth()),
    Row("costs:source_list", "GET", reader()),
    Row("costs:source_create", "GET", manager()),
    Row("costs:source_create", "POST", manager(ok=302), payload=source_form),
    Row("costs:source_detail", "GET", reader(), "source", pk),
    Row("costs:source_detail", "POST", manager(ok=302), "source", pk, payload=upload, writes=False, multipart=True),
    Row("costs:source_edit", "GET", manager(), "source", pk),
    Row("costs:source_edit", "POST", manager(ok=302), "source", pk,
        payload=lambda w: {**source_form(w), "name": "Renamed source"}),
    Row("costs:source_pull", "POST", manager(ok=302), "source", pk, writes=False),
    Row("costs:import_detail", "GET", reader(), "failed", pk),
    Row("costs:import_errors", "GET", reader(), "failed", pk),
    Row("costs:import_retry", "POST", manager(ok=302), "failed", pk, writes=False),
    Row("costs:rule_list", "GET", reader()),
    Row("costs:rule_create", "GET", manager()),
    Row("costs:rule_create", "POST", manager(ok=302), payload=rule_form),
    Row("costs:rule_edit", "GET", manager(), "rule", pk),
    Row("costs:rule_edit", "POST", manager(ok=302), "rule", pk, payload=lambda w: {**rule_form(w), "share": "0.5"}),
    Row("costs:rule_delete", "POST", manager(ok=302), "rule", pk),
    Row("costs:reallocate", "POST", manager(ok=302), writes=False),
    Row("costs:fx_list", "GET", auth()),
    Row("costs:fx_list", "POST", manager(ok=302, hidden=403),
        payload=lambda w: {"mode": "single", "currency": "GBP", "valid_from": "2025-01-01", "rate": "1.17"}),
    Row("costs:fx_delete", "POST", manager(ok=302, hidden=403), "fx", pk),
    # --- API ---
    Row("api:cost-source-list", "GET", auth()),
    Row("api:cost-source-list", "POST", manager(ok=201, hidden=403), payload=lambda w: {"name": "X", "kind": "focus"}),
    Row("api:cost-source-detail", "GET", reader(), "source", pk),
    Row("api:cost-source-detail", "PATCH", manager(), "source", pk, payload=lambda w: {"name": "Renamed"}),
    Row("api:cost-source-pull", "POST", manager(ok=202), "aws", pk,
        payload=lambda w: {"start": "2026-01-01", "end": "2026-01-03"}, writes=False),
    Row("api:cost-import-list", "GET", auth()),
    Row("api:cost-import-list", "POST", manager(ok=202, hidden=403), writes=False, multipart=True,
        payload=lambda w: {"source": w.objects["source"]["A"].pk, "file": upload(w)["files"]}),
    Row("api:cost-import-detail", "GET", reader(), "failed", pk),
    Row("api:cost-import-errors", "GET", reader(), "failed", pk),
    Row("api:cost-import-retry", "POST", manager(ok=202), "failed", pk, writes=False),
    Row("api:cost-record-list", "GET", auth()),
    Row("api:cost-record-detail", "GET", read_initiative(), "record", pk),
    Row("api:allocation-rule-list", "GET", auth()),
    Row("api:allocation-rule-list", "POST", manager(ok=201, hidden=403),
        payload=lambda w: {**rule_form(w), "enabled": True}),
    Row("api:allocation-rule-detail", "GET", reader(), "rule", pk),
    Row("api:allocation-rule-detail", "PATCH", manager(), "rule", pk, payload=lambda w: {"priority": 7}),
    Row("api:allocation-rule-detail", "DELETE", manager(), "rule", pk),
    Row("api:allocation-rule-reallocate", "POST", manager(ok=202, hidden=403), writes=False),
    Row("api:fx-rate-list", "GET", auth()),
    Row("api:fx-rate-list", "POST", manager(ok=201, hidden=403),
        payload=lambda w: {"currency": "GBP", "valid_from": "2025-01-01", "rate": "1.17"}),
    Row("api:fx-rate-upload", "POST", manager(ok=201, hidden=403), payload=lambda w: {"csv": "CHF,2025-01-01,1.05"}),
    Row("api:fx-rate-detail", "GET", auth(), "fx", pk),
    Row("api:fx-rate-detail", "DELETE", manager(hidden=403), "fx", pk),
    Row("api:initiative-financials", "GET", read_initiative(), "initiative", key),
]


def _call(client: Client, row: Row, url: str, data: dict | None):
    method = getattr(client, row.method.lower())
    if row.method == "GET":
        return method(url)
    if row.multipart:
        return method(url, data=data or {})
    if row.api:
        return method(url, data=data or {}, content_type="application/json")
    return method(url, data=data or {})


def _expected(row: Row, role: str, side: str) -> int:
    if role == "anonymous" or (role == "integration" and not row.api):
        return 401 if row.api else 302
    return row.expect(role, side)


@pytest.mark.parametrize("row", MATRIX, ids=[f"{row.method} {row.name}" for row in MATRIX])
def test_costs_access_matrix(row: Row, tmp_path, settings):
    settings.COST_IMPORT_DIR = tmp_path / "imports"
    world = build(build_world(), tmp_path)
    sides = ["A", "B"] if row.kind in ("initiative", "record") else ["A"]
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
                    response = _call(client, row, url, row.payload(world) if row.payload else None)
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
