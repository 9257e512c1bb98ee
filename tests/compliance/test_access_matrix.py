"""The access matrix extended to every compliance route: every HTML view and API endpoint × every role × the
compliance objects of an initiative in unit A and in unit B (tests/test_access_matrix.py builds the people and
initiatives; this module adds the compliance objects and the compliance rules).

Rules: everyone who may see an initiative reads its compliance data (another unit's is 404); compliance officers
and portfolio admins write all compliance data but no portfolio data; whoever may change an initiative writes its
evidence, risks, classification and results; only officers and admins edit frameworks, gates, sign-offs and
approvals; only owners, unit leads and admins request gate reviews; only named approvers decide them; auditors,
executives and viewers write nothing. Refused writes leave no data event in the audit trail; successful ones do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from apps.compliance.choices import ResultStatus
from apps.compliance.models import Finding, Framework, Requirement
from apps.compliance.services import (
    assessment_approve,
    assessment_start,
    data_asset_create,
    data_asset_link,
    evidence_upload,
    gate_review_request,
    result_set,
    risk_create,
)
from tests.compliance.helpers import pdf_upload
from tests.test_access_matrix import ROLES, WRITES, Rollback, World, _data_events, _routes, build_world, can_read

pytestmark = pytest.mark.django_db

OFFICERS = {"admin", "compliance"}
CREATE_ASSET_IN_A = {"admin", "compliance", "lead_a", "contributor_a", "integration"}
SEES_UNIT_A = {"executive", "admin", "compliance", "auditor", "lead_a", "contributor_a", "viewer_a", "integration"}
MOVERS = {"admin": {"A", "B"}, "lead_a": {"A"}, "lead_b": {"B"}, "integration": {"A"}}


def build(world: World) -> World:
    """Add compliance objects for the initiatives of unit A and B (the compliance officer approves, others own)."""
    admin, officer = world.users["admin"], world.users["compliance"]
    eu = Framework.objects.get(slug="eu-ai-act")
    kinds = ("assessment", "result", "evidence", "finding", "risk", "asset", "spare", "link", "review",
             "classification")
    for kind in kinds:
        world.objects[kind] = {}
    for side, lead in (("A", world.users["lead_a"]), ("B", world.users["lead_b"])):
        initiative = world.objects["initiative"][side]
        from apps.compliance.services import classification_record

        world.objects["classification"][side] = classification_record(actor=lead, initiative=initiative,
                                                                       answers={"role": "deployer"})
        assessment = assessment_start(actor=lead, initiative=initiative, framework=eu)
        for result in assessment.results.all():
            result_set(actor=lead, result=result, status=ResultStatus.NOT_APPLICABLE, note="Matrix.")
        assessment_approve(actor=officer, assessment=assessment)
        world.objects["assessment"][side] = assessment
        world.objects["result"][side] = assessment.results.order_by("id").first()
        world.objects["evidence"][side] = evidence_upload(
            actor=lead, initiative=initiative, file=pdf_upload(), title=f"DPIA {side}", category="dpia")
        Finding.objects.filter(initiative=initiative).delete()
        world.objects["finding"][side] = Finding.objects.create(
            initiative=initiative, check_code="costs_allocated", severity="low", message="No costs.",
            first_seen=timezone.now(), last_seen=timezone.now())
        world.objects["risk"][side] = risk_create(actor=lead, initiative=initiative, title=f"Risk {side}",
                                                  category="privacy", likelihood=2, impact=3)
        asset = data_asset_create(actor=admin, business_unit=world.objects["unit"][side], name=f"Asset {side}",
                                  owner=lead)
        world.objects["asset"][side] = asset
        world.objects["link"][side] = data_asset_link(actor=lead, data_asset=asset, initiative=initiative)
        world.objects["spare"][side] = data_asset_create(actor=admin, business_unit=world.objects["unit"][side],
                                                         name=f"Spare asset {side}")
        world.objects["review"][side] = gate_review_request(
            actor=lead, initiative=initiative, target_stage="production", reason="Matrix.",
            expires_at=timezone.now() + timedelta(days=5), approvers=[officer])
    return world


# --- who may do what ------------------------------------------------------------------------------------------------

def readable(role: str, kind: str, side: str) -> bool:
    if kind in ("asset", "spare"):  # data assets belong to a unit, not to the granted initiative
        return can_read(role, "unit", side)
    return can_read(role, "initiative", side)


def initiative_writer(role: str, side: str) -> bool:
    return role in OFFICERS or side in WRITES.get(role, set())


Expect = Callable[[str, str], int]


def auth(ok: int = 200) -> Expect:
    return lambda role, side: ok


def read(kind: str, ok: int = 200, hidden: int = 404) -> Expect:
    return lambda role, side: ok if readable(role, kind, side) else hidden


def cwrite(kind: str = "initiative", ok: int = 200, hidden: int = 404) -> Expect:
    """Compliance data of an initiative: officers, admins and whoever may change the initiative."""
    def expect(role: str, side: str) -> int:
        if not readable(role, kind, side):
            return hidden
        return ok if initiative_writer(role, side) else 403
    return expect


def officer(kind: str = "", ok: int = 200, hidden: int = 404) -> Expect:
    """Officers and admins only (reference data, sign-off, approval)."""
    def expect(role: str, side: str) -> int:
        if kind and not readable(role, kind, side):
            return hidden
        return ok if role in OFFICERS else 403
    return expect


def mover(ok: int = 200, hidden: int = 404) -> Expect:
    def expect(role: str, side: str) -> int:
        if not readable(role, "initiative", side):
            return hidden
        return ok if side in MOVERS.get(role, set()) else 403
    return expect


def approver(ok: int = 200) -> Expect:
    def expect(role: str, side: str) -> int:
        if role == "compliance":
            return ok
        return 403 if readable(role, "review", side) else 404
    return expect


def canceller(ok: int = 200) -> Expect:
    """The requester (the unit's lead), an approver (the compliance officer) or a portfolio admin."""
    def expect(role: str, side: str) -> int:
        if role in ("compliance", "admin") or (role, side) in (("lead_a", "A"), ("lead_b", "B")):
            return ok
        return 403 if readable(role, "review", side) else 404
    return expect


def asset_writer(ok: int = 200) -> Expect:
    def expect(role: str, side: str) -> int:
        if not readable(role, "asset", side):
            return 404
        writers = {"A": {"admin", "compliance", "lead_a", "contributor_a", "integration"},
                   "B": {"admin", "compliance", "lead_b"}}[side]
        return ok if role in writers else 403
    return expect


def asset_create_api(role: str, side: str) -> int:
    if role in CREATE_ASSET_IN_A:
        return 201
    return 403 if role in SEES_UNIT_A else 400


def asset_create_page(role: str, side: str) -> int:
    return 302 if role in CREATE_ASSET_IN_A else 200  # the form offers only units the user may write


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    method: str
    expect: Expect
    kind: str = ""  # the object addressed in the URL
    args: Callable[[Any], list] | None = None
    payload: Callable[[World, str], dict] | None = None
    writes: bool = True  # a successful POST/PATCH leaves a data event in the trail

    @property
    def api(self) -> bool:
        return self.name.startswith("api:")


def key(obj) -> list:
    return [obj.key]


def pk(obj) -> list:
    return [obj.pk]


def ini(world: World, side: str) -> str:
    return world.objects["initiative"][side].key


def nist_pk(world: World, side: str) -> dict:
    return {"framework": Framework.objects.get(slug="nist-ai-rmf").pk}


def risk_form(world: World, side: str) -> dict:
    return {"title": "New risk", "category": "privacy", "likelihood": 2, "impact": 2, "status": "open"}


def asset_form(world: World, side: str) -> dict:
    return {"business_unit": world.objects["unit"]["A"].pk, "name": "Matrix asset", "quality_status": "unknown"}


def review_form(world: World, side: str) -> dict:
    expires = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    return {"target_stage": "pilot", "reason": "Matrix.", "expires_at": expires,
            "approvers": [world.users["compliance"].pk]}


def requirement_form(world: World, side: str) -> dict:
    return {"code": "MX-1", "title": "Matrix", "summary": "Matrix requirement.", "position": 999}


MATRIX: list[Row] = [
    # --- HTML ---
    Row("compliance:overview", "GET", auth()),
    Row("compliance:initiative", "GET", read("initiative"), "initiative", key),
    Row("compliance:classify", "GET", cwrite(), "initiative", key),
    Row("compliance:classify", "POST", cwrite(ok=302), "initiative", key,
        payload=lambda w, s: {"annex_iii_area": "none", "role": "provider", "t_interacts": "on"}),
    Row("compliance:evidence_add", "GET", cwrite(), "initiative", key),
    Row("compliance:evidence_add", "POST", cwrite(ok=302), "initiative", key,
        payload=lambda w, s: {"title": "Link", "category": "other", "url": "https://docs.example.com/x"}),
    Row("compliance:run_checks", "POST", cwrite(ok=302), "initiative", key),
    Row("compliance:assessment_start", "POST", cwrite(ok=302), "initiative", key, payload=nist_pk),
    Row("compliance:risk_create", "GET", cwrite(), "initiative", key),
    Row("compliance:risk_create", "POST", cwrite(ok=302), "initiative", key, payload=risk_form),
    Row("compliance:data_asset_link", "POST", cwrite(ok=302), "initiative", key,
        payload=lambda w, s: {"data_asset": w.objects["spare"][s].pk}),
    Row("compliance:gate_review_request", "GET", mover(), "initiative", key),
    Row("compliance:gate_review_request", "POST", mover(ok=302), "initiative", key, payload=review_form),
    Row("compliance:evidence_download", "GET", read("evidence"), "evidence", pk, writes=False),
    Row("compliance:assessment", "GET", read("assessment"), "assessment", pk),
    Row("compliance:assessment_decide", "POST", officer("assessment", ok=302), "assessment",
        lambda o: [o.pk, "reopen"], payload=lambda w, s: {"note": "Material change."}),
    Row("compliance:result_update", "POST", cwrite("result", ok=302), "result", pk,
        payload=lambda w, s: {"status": "partial", "note": "Matrix"}),
    Row("compliance:result_sign_off", "POST", officer("result", ok=302), "result", pk),
    Row("compliance:risk_list", "GET", auth()),
    Row("compliance:risk_edit", "GET", cwrite("risk"), "risk", pk),
    Row("compliance:risk_edit", "POST", cwrite("risk", ok=302), "risk", pk,
        payload=lambda w, s: {**risk_form(w, s), "title": "Renamed risk"}),
    Row("compliance:finding_list", "GET", auth()),
    Row("compliance:data_asset_list", "GET", auth()),
    Row("compliance:data_asset_create", "GET", auth()),
    Row("compliance:data_asset_create", "POST", asset_create_page, payload=asset_form),
    Row("compliance:data_asset", "GET", read("asset"), "asset", pk),
    Row("compliance:data_asset", "POST", asset_writer(ok=302), "asset", pk,
        payload=lambda w, s: {"name": "Renamed asset", "quality_status": "good"}),
    Row("compliance:data_asset_unlink", "POST", cwrite("initiative", ok=302), "link", pk),
    Row("compliance:framework_list", "GET", auth()),
    Row("compliance:framework_create", "GET", officer()),
    Row("compliance:framework_create", "POST", officer(ok=302),
        payload=lambda w, s: {"slug": "matrix", "name": "Matrix policy", "short_name": "MX", "kind": "internal",
                              "active": "on"}),
    Row("compliance:framework_detail", "GET", auth(), "framework", lambda o: ["gdpr"]),
    Row("compliance:framework_edit", "GET", officer(), "framework", lambda o: ["gdpr"]),
    Row("compliance:framework_edit", "POST", officer(ok=302), "framework", lambda o: ["gdpr"],
        payload=lambda w, s: {"name": "GDPR (edited)", "short_name": "GDPR", "kind": "regulation"}),
    Row("compliance:requirement_create", "GET", officer(), "framework", lambda o: ["gdpr"]),
    Row("compliance:requirement_create", "POST", officer(ok=302), "framework", lambda o: ["gdpr"],
        payload=requirement_form),
    Row("compliance:requirement_edit", "GET", officer(), "requirement", lambda o: ["gdpr", o.pk]),
    Row("compliance:requirement_edit", "POST", officer(ok=302), "requirement", lambda o: ["gdpr", o.pk],
        payload=lambda w, s: {"code": "ART-6", "title": "Lawful basis (edited)", "summary": "Edited.",
                              "position": 10}),
    Row("compliance:gate_review_list", "GET", auth()),
    Row("compliance:gate_review", "GET", lambda r, s: 200 if r == "compliance" else read("review")(r, s), "review",
        pk),
    Row("compliance:gate_review", "POST", approver(ok=302), "review", pk,
        payload=lambda w, s: {"decision": "approved", "comment": "OK"}),
    Row("compliance:gate_criteria", "GET", auth()),
    Row("compliance:gate_criteria", "POST", officer(ok=302),
        payload=lambda w, s: {"target_stage": "scaled", "criterion": "owner_set", "active": "on"}),
    # --- API ---
    Row("api:framework-list", "GET", auth()),
    Row("api:framework-list", "POST", officer(ok=201), payload=lambda w, s: {"slug": "matrix", "name": "Matrix"}),
    Row("api:framework-detail", "GET", auth(), "framework", lambda o: ["gdpr"]),
    Row("api:framework-detail", "PATCH", officer(), "framework", lambda o: ["gdpr"],
        payload=lambda w, s: {"description": "Edited."}),
    Row("api:requirement-list", "GET", auth()),
    Row("api:requirement-list", "POST", officer(ok=201),
        payload=lambda w, s: {"framework": "gdpr", "code": "MX-1", "title": "Matrix", "summary": "Matrix."}),
    Row("api:requirement-detail", "GET", auth(), "requirement", pk),
    Row("api:requirement-detail", "PATCH", officer(), "requirement", pk,
        payload=lambda w, s: {"title": "Edited title"}),
    Row("api:classification-list", "GET", auth()),
    Row("api:classification-list", "POST", cwrite(ok=201, hidden=400),
        payload=lambda w, s: {"initiative": ini(w, s), "answers": {"t_synthetic": True}}),
    Row("api:classification-detail", "GET", read("classification"), "classification", pk),
    Row("api:classification-questionnaire", "GET", auth()),
    Row("api:assessment-list", "GET", auth()),
    Row("api:assessment-list", "POST", cwrite(ok=201, hidden=400),
        payload=lambda w, s: {"initiative": ini(w, s), "framework": "nist-ai-rmf"}),
    Row("api:assessment-detail", "GET", read("assessment"), "assessment", pk),
    Row("api:assessment-approve", "POST", officer("assessment"), "assessment", pk, payload=lambda w, s: {}),
    Row("api:assessment-reopen", "POST", officer("assessment"), "assessment", pk,
        payload=lambda w, s: {"note": "Material change."}),
    Row("api:requirement-result-list", "GET", auth()),
    Row("api:requirement-result-detail", "GET", read("result"), "result", pk),
    Row("api:requirement-result-detail", "PATCH", cwrite("result"), "result", pk,
        payload=lambda w, s: {"status": "partial", "note": "Matrix"}),
    Row("api:requirement-result-sign-off", "POST", officer("result"), "result", pk, payload=lambda w, s: {}),
    Row("api:evidence-list", "GET", auth()),
    Row("api:evidence-list", "POST", cwrite(ok=201, hidden=400),
        payload=lambda w, s: {"initiative": ini(w, s), "title": "Link", "url": "https://docs.example.com/x"}),
    Row("api:evidence-detail", "GET", read("evidence"), "evidence", pk),
    Row("api:evidence-download", "GET", read("evidence"), "evidence", pk),
    Row("api:evidence-link-requirements", "POST", cwrite("evidence"), "evidence", pk,
        payload=lambda w, s: {"requirements": [Requirement.objects.get(framework__slug="gdpr", code="ART-35").pk]}),
    Row("api:finding-list", "GET", auth()),
    Row("api:finding-detail", "GET", read("finding"), "finding", pk),
    Row("api:finding-run", "POST", cwrite(ok=202, hidden=400), payload=lambda w, s: {"initiative": ini(w, s)},
        writes=False),  # queues a Job (not a governed table); the audit runs in the worker
    Row("api:risk-list", "GET", auth()),
    Row("api:risk-list", "POST", cwrite(ok=201, hidden=400),
        payload=lambda w, s: {"initiative": ini(w, s), **risk_form(w, s)}),
    Row("api:risk-detail", "GET", read("risk"), "risk", pk),
    Row("api:risk-detail", "PATCH", cwrite("risk"), "risk", pk, payload=lambda w, s: {"likelihood": 5}),
    Row("api:data-asset-list", "GET", auth()),
    Row("api:data-asset-list", "POST", asset_create_api,
        payload=lambda w, s: {"business_unit": w.objects["unit"]["A"].slug, "name": "Matrix asset"}),
    Row("api:data-asset-detail", "GET", read("asset"), "asset", pk),
    Row("api:data-asset-detail", "PATCH", asset_writer(), "asset", pk, payload=lambda w, s: {"retention_days": 30}),
    Row("api:data-asset-link", "POST", lambda r, s: 201 if readable(r, "asset", s) and initiative_writer(r, s)
        else (404 if not readable(r, "asset", s) else 403), "spare", pk,
        payload=lambda w, s: {"initiative": ini(w, s), "purpose": "More"}),
    Row("api:data-asset-unlink", "POST", lambda r, s: 204 if readable(r, "asset", s) and initiative_writer(r, s)
        else (404 if not readable(r, "asset", s) else 403), "asset", pk,
        payload=lambda w, s: {"initiative": ini(w, s)}),
    Row("api:gate-review-list", "GET", auth()),
    Row("api:gate-review-list", "POST", mover(ok=201, hidden=400),
        payload=lambda w, s: {"initiative": ini(w, s), "target_stage": "pilot", "reason": "Matrix.",
                              "expires_at": (timezone.now() + timedelta(days=3)).isoformat(),
                              "approvers": ["m_compliance"]}),
    Row("api:gate-review-detail", "GET", lambda r, s: 200 if r == "compliance" else read("review")(r, s), "review",
        pk),
    Row("api:gate-review-decide", "POST", approver(), "review", pk,
        payload=lambda w, s: {"decision": "approved", "comment": "OK"}),
    Row("api:gate-review-cancel", "POST", canceller(), "review", pk, payload=lambda w, s: {}),
    Row("api:gate-criterion-list", "GET", auth()),
    Row("api:gate-criterion-list", "POST", officer(ok=201),
        payload=lambda w, s: {"target_stage": "scaled", "criterion": "owner_set"}),
    Row("api:gate-criterion-detail", "GET", auth(), "criterion", pk),
]


def _object(world: World, row: Row, side: str):
    if row.kind == "framework":
        return None
    if row.kind == "requirement":
        return Requirement.objects.get(framework__slug="gdpr", code="ART-6")
    if row.kind == "criterion":
        from apps.compliance.models import GateCriterion

        return GateCriterion.objects.order_by("id").first()
    return world.objects[row.kind][side]


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
def test_compliance_access_matrix(row: Row):
    world = build(build_world())
    sides = ["A", "B"] if row.kind not in ("", "framework", "requirement", "criterion") or row.payload else ["A"]
    failures = []
    for role in ROLES:
        for side in sides:
            expected = _expected(row, role, side)
            before = _data_events()
            try:
                with transaction.atomic():
                    client = world.client(role, row.api)
                    args = row.args(_object(world, row, side)) if row.args else []
                    url = reverse(row.name, args=args)
                    response = _call(client, row, url, row.payload(world, side) if row.payload else None)
                    changed = _data_events() != before
                    raise Rollback
            except Rollback:
                pass
            signed_in = role != "anonymous" and not (role == "integration" and not row.api)
            succeeded = signed_in and (expected in (201, 202, 204) or (expected == 302 and not row.api)
                                       or (expected == 200 and row.api))
            if response.status_code != expected:
                failures.append(f"{role} on {side}: expected {expected}, got {response.status_code} "
                                f"{getattr(response, 'content', b'')[:200]!r}")
            elif row.method != "GET" and not succeeded and changed:
                failures.append(f"{role} on {side}: refused with {expected} but data was written")
            elif row.method != "GET" and succeeded and row.writes and not changed:
                failures.append(f"{role} on {side}: succeeded with {expected} but wrote nothing")
    assert not failures, "\n".join(failures)


def test_every_compliance_route_has_a_row():
    covered = {(row.name, row.method) for row in MATRIX}
    names = {row.name for row in MATRIX}
    from apps.compliance.api.urls import ROUTES

    basenames = {basename for _, _, basename in ROUTES}
    missing = []
    for name, method in _routes(get_resolver().url_patterns):
        ours = name.startswith("compliance:") or (name.startswith("api:") and name[4:].rsplit("-", 1)[0] in basenames)
        ours = ours or any(name == f"api:{base}-{suffix}" for base in basenames
                           for suffix in ("questionnaire", "run", "approve", "reopen", "sign-off", "download",
                                          "link-requirements", "link", "unlink", "decide", "cancel"))
        if not ours:
            continue
        if method is None:
            if name not in names:
                missing.append(name)
        elif (name, method) not in covered:
            missing.append(f"{method} {name}")
    assert not missing, f"Compliance routes without a row in the matrix: {missing}"
