"""The compliance REST API: every noun, with token auth, scoping (404), roles (403), errors per field (400),
a custom framework created through the API alone, evidence upload and download, and stable query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.choices import UnitRole
from apps.accounts.services import api_token_create
from apps.compliance.models import Evidence, Framework, Requirement
from apps.compliance.selectors import compliance_posture
from apps.compliance.services import (
    assessment_start,
    compliance_audit_run,
    data_asset_create,
    data_asset_link,
    evidence_upload,
    gate_review_request,
    risk_create,
)
from tests.compliance.helpers import HIGH_PROVIDER, PDF, in_days, move, pdf_upload, pilot_ready
from tests.factories import make_initiative, make_unit, make_user

pytestmark = pytest.mark.django_db


def token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_custom_framework_created_through_the_api_applies_and_shows_in_the_heatmap(unit_a, lead_a, officer):
    # given an initiative in discovery and a compliance officer with a token
    initiative = move(lead_a, make_initiative(actor=lead_a, unit=unit_a), "discovery")
    client = token_client(officer)

    # when the officer creates a framework and a requirement through the API only
    response = client.post("/api/v1/frameworks/", {
        "slug": "model-risk-policy", "name": "Model risk management policy", "short_name": "MRM",
        "kind": "internal", "milestones": [{"date": "2027-01-01", "label": "Policy v2 in force"}]}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["builtin"] is False
    response = client.post("/api/v1/requirements/", {
        "framework": "model-risk-policy", "code": "MRM-1", "title": "Independent validation",
        "summary": "A second-line team validates every model before it is used.", "stages": ["discovery", "pilot"],
        "checks": ["owner_sponsor_set"]}, format="json")
    assert response.status_code == 201, response.json()

    # then it applies to the initiative ...
    response = client.get("/api/v1/requirements/?framework=model-risk-policy&stage=discovery")
    assert [row["code"] for row in response.json()["results"]] == ["MRM-1"]
    response = client.post("/api/v1/assessments/", {"initiative": initiative.key, "framework": "model-risk-policy"},
                           format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["counts"]["non_compliant"] == 1  # no sponsor: the automated check fails
    # ... and shows in the posture heatmap (page and selector)
    framework = Framework.objects.get(slug="model-risk-policy")
    posture = compliance_posture(user=officer)
    cell = posture.cell(unit_a.pk, framework.pk)
    assert framework in posture.frameworks and cell.applicable == 1 and cell.score == 0
    client.force_login(officer)
    assert ">MRM</a>" in client.get("/compliance/").content.decode()


def test_classify_assess_and_approve_through_the_api(unit_a, lead_a, officer):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    lead, compliance = token_client(lead_a), token_client(officer)
    questions = lead.get("/api/v1/classifications/questionnaire/").json()
    assert {q["key"] for q in questions} >= {"p_social_scoring", "annex_iii_area", "role"}
    response = lead.post("/api/v1/classifications/", {
        "initiative": initiative.key, "answers": {"annex_iii_area": "employment", "role": "provider"}}, format="json")
    assert response.status_code == 201
    assert (response.json()["risk_tier"], response.json()["operator_role"]) == ("high", "provider")
    assert lead.get(f"/api/v1/initiatives/{initiative.key}/").json()["risk_tier"] == "high"

    for key in Framework.objects.exclude(slug="eu-ai-act").values_list("slug", flat=True):
        Framework.objects.filter(slug=key).update(active=False)
    assessment = lead.post("/api/v1/assessments/", {"initiative": initiative.key, "framework": "eu-ai-act"},
                           format="json").json()
    response = compliance.post(f"/api/v1/assessments/{assessment['id']}/approve/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["status"] == ["1 requirement(s) are not assessed or non-compliant: ART-4."]
    results = lead.get(f"/api/v1/requirement-results/?assessment={assessment['id']}").json()["results"]
    for row in results:
        if row["status"] != "compliant":
            response = lead.patch(f"/api/v1/requirement-results/{row['id']}/",
                                  {"status": "not_applicable", "note": "Out of scope."}, format="json")
            assert response.status_code == 200, response.json()
    first = results[0]["id"]
    assert lead.post(f"/api/v1/requirement-results/{first}/sign-off/", {}, format="json").status_code == 403
    response = compliance.post(f"/api/v1/requirement-results/{first}/sign-off/", {"comment": "Checked."},
                               format="json")
    assert response.status_code == 200 and response.json()["reviewed_by"] == "officer"
    response = compliance.post(f"/api/v1/assessments/{assessment['id']}/approve/", {"note": "OK"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"


def test_evidence_upload_and_download_through_the_api(unit_a, unit_b, lead_a, lead_b, viewer_a):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    client = token_client(lead_a)
    bad = client.post("/api/v1/evidence/", {"initiative": initiative.key, "title": "X",
                                            "file": pdf_upload("x.exe", b"MZ\x90", "application/x-msdownload")},
                      format="multipart")
    assert bad.status_code == 400
    assert bad.json()["file"][0].startswith("Files of type 'application/x-msdownload' are not accepted.")
    assert not Evidence.objects.exists()
    response = client.post("/api/v1/evidence/", {"initiative": initiative.key, "title": "DPIA", "category": "dpia",
                                                 "file": pdf_upload()}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["size"] == len(PDF) and len(body["sha256"]) == 64 and body["is_current"] is True
    download = token_client(viewer_a).get(body["download"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    assert token_client(lead_b).get(body["download"]).status_code == 404
    assert token_client(lead_b).get(f"/api/v1/evidence/{body['id']}/").status_code == 404
    link = client.post("/api/v1/evidence/", {"initiative": initiative.key, "title": "DPIA v2", "category": "dpia",
                                             "url": "https://docs.example.com/dpia", "supersedes": body["id"]},
                       format="json")
    assert link.status_code == 201 and link.json()["download"] is None
    assert client.get(f"/api/v1/evidence/{body['id']}/").json()["is_current"] is False


def test_gate_reviews_through_the_api(unit_a, lead_a, officer, auditor):
    initiative = move(lead_a, pilot_ready(lead_a, unit_a, answers=HIGH_PROVIDER), "pilot")
    lead = token_client(lead_a)
    refused = lead.post(f"/api/v1/initiatives/{initiative.key}/transition/",
                        {"to_stage": "production", "rationale": "Go live."}, format="json")
    assert refused.status_code == 400 and refused.json()["to_stage"][0].startswith("The gate to Production")
    response = lead.post("/api/v1/gate-reviews/", {
        "initiative": initiative.key, "target_stage": "production", "reason": "Sandbox trial.",
        "expires_at": in_days(7).isoformat(), "approvers": ["officer"]}, format="json")
    assert response.status_code == 201, response.json()
    review = response.json()
    assert token_client(officer).get("/api/v1/gate-reviews/?inbox=true").json()["count"] == 1
    assert token_client(auditor).post(f"/api/v1/gate-reviews/{review['id']}/decide/",
                                      {"decision": "approved"}, format="json").status_code == 403
    decided = token_client(officer).post(f"/api/v1/gate-reviews/{review['id']}/decide/",
                                         {"decision": "approved", "comment": "OK"}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert decided.json()["approvals"][0]["role"] == "compliance_officer"
    moved = lead.post(f"/api/v1/initiatives/{initiative.key}/transition/",
                      {"to_stage": "production", "rationale": "Go live."}, format="json")
    assert moved.status_code == 200


def test_roles_scoping_and_errors(unit_a, unit_b, lead_a, lead_b, officer, auditor, executive):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    risk = {"initiative": initiative.key, "title": "Leak", "category": "privacy", "likelihood": 3, "impact": 5}
    # auditors and executives write nothing; officers write compliance data but not portfolio data
    for user in (auditor, executive):
        assert token_client(user).post("/api/v1/risks/", risk, format="json").status_code == 403
        assert token_client(user).post("/api/v1/frameworks/", {"slug": "x", "name": "X"},
                                       format="json").status_code == 403
    officer_client = token_client(officer)
    assert officer_client.post("/api/v1/risks/", risk, format="json").status_code == 201
    assert officer_client.patch(f"/api/v1/initiatives/{initiative.key}/", {"name": "Renamed"},
                                format="json").status_code == 403
    # another unit's lead cannot see or reference the initiative
    other = token_client(lead_b)
    response = other.post("/api/v1/risks/", risk, format="json")
    assert response.status_code == 400 and response.json()["initiative"] == [
        f"Object with key={initiative.key} does not exist."]
    assert other.get("/api/v1/risks/").json()["count"] == 0
    # per-field errors
    response = token_client(lead_a).post("/api/v1/risks/", {**risk, "likelihood": 9, "category": "vibes"},
                                         format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"likelihood", "category"}
    # findings run: 202 with a job
    response = token_client(lead_a).post("/api/v1/findings/run/", {"initiative": initiative.key}, format="json")
    assert response.status_code == 202 and response.json()["kind"] == "compliance.audit"
    assert token_client(lead_a).post("/api/v1/findings/run/", {}, format="json").status_code == 403


def test_data_assets_through_the_api(unit_a, lead_a):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    client = token_client(lead_a)
    response = client.post("/api/v1/data-assets/", {
        "business_unit": unit_a.slug, "name": "Claims history", "personal_data_categories": ["identity"],
        "special_categories": ["health"], "legal_basis": ""}, format="json")
    assert response.status_code == 400 and response.json() == {
        "legal_basis": ["Special-category data needs a documented legal basis."]}
    response = client.post("/api/v1/data-assets/", {
        "business_unit": unit_a.slug, "name": "Claims history", "personal_data_categories": ["identity"],
        "legal_basis": "contract", "feature_store_ref": "feast://claims/history"}, format="json")
    asset = response.json()
    assert response.status_code == 201 and asset["retention_days"] is None
    assert client.post(f"/api/v1/data-assets/{asset['id']}/link/", {"initiative": initiative.key},
                       format="json").status_code == 201
    assert client.get(f"/api/v1/data-assets/?initiative={initiative.key}&retention_missing=true").json()["count"] == 1
    assert client.patch(f"/api/v1/data-assets/{asset['id']}/", {"retention_days": 365},
                        format="json").json()["retention_days"] == 365
    assert client.post(f"/api/v1/data-assets/{asset['id']}/unlink/", {"initiative": initiative.key},
                       format="json").status_code == 204


def test_the_openapi_schema_documents_the_compliance_endpoints(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for noun in ("frameworks", "requirements", "classifications", "assessments", "requirement-results", "evidence",
                 "findings", "risks", "data-assets", "gate-reviews", "gate-criteria"):
        assert f"/api/v1/{noun}/" in paths, noun
    assert {"400", "401", "403"} <= set(paths["/api/v1/risks/"]["post"]["responses"])
    assert "404" in paths["/api/v1/evidence/{id}/download/"]["get"]["responses"]


def _world(size: int, unit, lead, officer, start: int = 0) -> None:
    nist = Framework.objects.get(slug="nist-ai-rmf")
    for index in range(start, start + size):
        initiative = make_initiative(actor=lead, unit=unit, name=f"P{index}", sponsor=lead)
        move(lead, initiative, "discovery")
        assessment_start(actor=lead, initiative=initiative, framework=nist)
        risk_create(actor=lead, initiative=initiative, title=f"R{index}", category="privacy", likelihood=2, impact=2)
        evidence_upload(actor=lead, initiative=initiative, file=pdf_upload(), title=f"E{index}",
                        requirements=list(Requirement.objects.filter(code__in=["GOVERN-1.1", "A.2.2"])))
        asset = data_asset_create(actor=lead, business_unit=unit, name=f"A{index}")
        data_asset_link(actor=lead, data_asset=asset, initiative=initiative)
        from apps.compliance.services import classification_record

        classification_record(actor=lead, initiative=initiative, answers={"role": "deployer"})
    pilot = move(lead, pilot_ready(lead, unit, name=f"Pilot {start}"), "pilot")
    gate_review_request(actor=lead, initiative=pilot, target_stage="production", reason="Trial.",
                        expires_at=in_days(5), approvers=[officer])
    compliance_audit_run()


def _count(client: APIClient, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["lead", "officer"])
def test_query_counts_of_compliance_endpoints_do_not_grow_with_the_portfolio(role, db):
    unit = make_unit("Scale")
    lead = make_user(unit=unit, unit_role=UnitRole.LEAD, username="scale_lead")
    officer = make_user(role="Compliance officer", username="scale_officer")
    user = lead if role == "lead" else officer
    _world(5, unit, lead, officer)
    client = token_client(user)
    from apps.compliance.models import Assessment, DataAsset, Finding, GateReview, RequirementResult, Risk

    def detail_urls() -> list[str]:
        return [
            f"/api/v1/assessments/{Assessment.objects.first().pk}/",
            f"/api/v1/requirement-results/{RequirementResult.objects.first().pk}/",
            f"/api/v1/evidence/{Evidence.objects.first().pk}/", f"/api/v1/findings/{Finding.objects.first().pk}/",
            f"/api/v1/risks/{Risk.objects.first().pk}/", f"/api/v1/data-assets/{DataAsset.objects.first().pk}/",
            f"/api/v1/gate-reviews/{GateReview.objects.first().pk}/", "/api/v1/frameworks/nist-ai-rmf/",
            f"/api/v1/requirements/{Requirement.objects.first().pk}/",
        ]

    lists = ["/api/v1/frameworks/", "/api/v1/requirements/", "/api/v1/classifications/", "/api/v1/assessments/",
             "/api/v1/requirement-results/", "/api/v1/evidence/", "/api/v1/findings/", "/api/v1/risks/",
             "/api/v1/data-assets/", "/api/v1/gate-reviews/", "/api/v1/gate-criteria/",
             "/api/v1/gate-reviews/?inbox=true", "/api/v1/risks/?overdue=false&min_score=2"]
    at_5 = [_count(client, url) for url in [*lists, *detail_urls()]]
    _world(45, unit, lead, officer, start=5)
    at_50 = [_count(client, url) for url in [*lists, *detail_urls()]]
    assert at_5 == at_50
