"""HTML pages of compliance: every page renders for the people who may see it, writes go through the services,
evidence downloads only for users who see the initiative, and query counts do not grow with the portfolio."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.choices import UnitRole
from apps.audit.models import AuditEvent
from apps.compliance.choices import EvidenceCategory, GateReviewStatus
from apps.compliance.models import DataAsset, Framework, GateReview, Requirement, Risk, RiskClassification
from apps.compliance.selectors import compliance_initiative_summary
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


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(unit_a, lead_a, officer):
    """A pilot with a classification, an assessment, evidence, a risk, a data asset, findings and a gate review."""
    initiative = move(lead_a, pilot_ready(lead_a, unit_a, answers=HIGH_PROVIDER, processes_personal_data=True),
                      "pilot")
    assessment_start(actor=lead_a, initiative=initiative, framework=Framework.objects.get(slug="eu-ai-act"))
    gdpr = Requirement.objects.get(framework__slug="gdpr", code="ART-35")
    evidence = evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(), title="DPIA",
                               category=EvidenceCategory.DPIA, requirements=[gdpr])
    risk_create(actor=lead_a, initiative=initiative, title="Biased triage", category="fairness", likelihood=3,
                impact=4, review_date="2020-01-01")
    asset = data_asset_create(actor=lead_a, business_unit=unit_a, name="Claims history", retention_days=3650,
                              personal_data_categories=["identity"], legal_basis="contract")
    data_asset_link(actor=lead_a, data_asset=asset, initiative=initiative, purpose="Training")
    compliance_audit_run()
    review = gate_review_request(actor=lead_a, initiative=initiative, target_stage="production", reason="Trial.",
                                 expires_at=in_days(10), approvers=[officer])
    return {"initiative": initiative, "evidence": evidence, "asset": asset, "review": review}


WRITER_ONLY = ("/compliance/frameworks/new/", "/compliance/frameworks/gdpr/edit/",
               "/compliance/frameworks/gdpr/requirements/new/")


def pages(world) -> list[str]:
    key = world["initiative"].key
    assessment = world["initiative"].assessments.get()
    risk = Risk.objects.get()
    return [
        "/compliance/", f"/compliance/initiatives/{key}/", f"/compliance/initiatives/{key}/classify/",
        f"/compliance/initiatives/{key}/evidence/new/", f"/compliance/initiatives/{key}/risks/new/",
        f"/compliance/initiatives/{key}/gate-reviews/new/?stage=production",
        f"/compliance/assessments/{assessment.pk}/",
        f"/compliance/risks/{risk.pk}/edit/", "/compliance/risks/", "/compliance/findings/", "/compliance/data-assets/",
        f"/compliance/data-assets/{world['asset'].pk}/", "/compliance/data-assets/new/", "/compliance/frameworks/",
        "/compliance/frameworks/eu-ai-act/", "/compliance/frameworks/new/", "/compliance/frameworks/gdpr/edit/",
        "/compliance/frameworks/gdpr/requirements/new/", "/compliance/gate-reviews/",
        f"/compliance/gate-reviews/{world['review'].pk}/", "/compliance/gates/",
    ]


def test_every_page_renders_for_the_unit_lead_and_the_officer(world, lead_a, officer):
    for user in (lead_a, officer):
        client = client_for(user)
        for url in pages(world):
            refused = (user == lead_a and url in WRITER_ONLY) or (user == officer and "gate-reviews/new" in url)
            expected = 403 if refused else 200
            response = client.get(url)
            assert response.status_code == expected, (user.username, url, response.status_code)


def test_the_initiative_page_shows_requirements_gate_and_evidence(world, lead_a):
    key = world["initiative"].key
    html = client_for(lead_a).get(f"/compliance/initiatives/{key}/").content.decode()
    assert "Gate to Production" in html and "An approved assessment exists for each applicable framework" in html
    assert "Risk management system" in html  # EU AI Act Art. 9 applies (high-risk provider)
    assert f"/compliance/evidence/{world['evidence'].pk}/download/" in html
    assert "Biased triage" in html and "Overdue" in html
    assert "Claims history" in html


def test_the_posture_heatmap_shows_units_and_frameworks(world, executive):
    html = client_for(executive).get("/compliance/").content.decode()
    assert 'id="posture-table"' in html and "Claims" in html and "EU AI Act" in html and "GDPR" in html
    assert "posture-chart" in html and "risk-chart" in html


def test_evidence_downloads_only_for_users_who_see_the_initiative(world, lead_a, viewer_a, lead_b, auditor):
    url = f"/compliance/evidence/{world['evidence'].pk}/download/"
    for user in (lead_a, viewer_a, auditor):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
    assert client_for(lead_b).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the sign-in page
    downloads = AuditEvent.objects.filter(kind="security", action="export", detail__evidence_id=world["evidence"].pk)
    assert downloads.count() == 3


def test_another_units_initiative_is_404_on_every_compliance_page(world, lead_b):
    client = client_for(lead_b)
    for url in pages(world):
        if "/initiatives/" in url or "/assessments/" in url or "/risks/" in url and "edit" in url:
            assert client.get(url).status_code == 404, url


def test_viewers_and_auditors_cannot_write_compliance_data(world, viewer_a, auditor):
    key = world["initiative"].key
    for user in (viewer_a, auditor):
        client = client_for(user)
        assert client.get(f"/compliance/initiatives/{key}/classify/").status_code == 403
        assert client.post(f"/compliance/initiatives/{key}/classify/", {"role": "provider"}).status_code == 403
        assert client.post(f"/compliance/initiatives/{key}/risks/new/", {
            "title": "X", "category": "privacy", "likelihood": 2, "impact": 2, "status": "open"}).status_code == 403
        assert client.post(f"/compliance/initiatives/{key}/run-checks/").status_code == 403
        assert client.post("/compliance/frameworks/new/", {"slug": "x", "name": "X", "short_name": "X",
                                                           "kind": "internal"}).status_code == 403
    assert RiskClassification.objects.count() == 1
    assert Risk.objects.count() == 1
    assert not Framework.objects.filter(slug="x").exists()


def test_classifying_through_the_form(world, officer):
    key = world["initiative"].key
    response = client_for(officer).post(f"/compliance/initiatives/{key}/classify/", {
        "annex_iii_area": "none", "role": "deployer", "t_interacts": "on", "note": "Chatbot only"})
    assert response.status_code == 302
    world["initiative"].refresh_from_db()
    assert (world["initiative"].risk_tier, world["initiative"].operator_role) == ("limited", "deployer")


def test_uploading_evidence_through_the_form_rejects_a_wrong_type(world, lead_a):
    key = world["initiative"].key
    client = client_for(lead_a)
    bad = pdf_upload("tool.exe", b"MZ\x90\x00", "application/x-msdownload")
    response = client.post(f"/compliance/initiatives/{key}/evidence/new/", {
        "title": "Tool", "category": "other", "file": bad})
    assert response.status_code == 200
    assert "Files of type &#x27;application/x-msdownload&#x27; are not accepted." in response.content.decode()
    response = client.post(f"/compliance/initiatives/{key}/evidence/new/", {
        "title": "Model card", "category": "model_card", "url": "https://wiki.example.com/card"})
    assert response.status_code == 302
    assert world["initiative"].evidence.filter(title="Model card", kind="link").exists()


def test_deciding_a_gate_review_in_the_browser(world, officer):
    client = client_for(officer)
    url = f"/compliance/gate-reviews/{world['review'].pk}/"
    assert "Waiting for your decision (1)" in client.get("/compliance/gate-reviews/").content.decode()
    response = client.post(url, {"decision": "approved", "comment": "Time-boxed trial."})
    assert response.status_code == 302
    assert GateReview.objects.get().status == GateReviewStatus.APPROVED


def test_compliance_summary_for_the_initiative_page(world, lead_a, django_assert_max_num_queries):
    from django.template.loader import render_to_string

    with django_assert_max_num_queries(7):
        summary = compliance_initiative_summary(user=lead_a, initiative=world["initiative"])
    assert summary.classified and summary.applicable > 0 and summary.open_risks == 1 and summary.overdue_risks == 1
    assert summary.pending_reviews == 1
    html = render_to_string("compliance/_initiative_summary.html", {"summary": summary})
    assert "High risk" in html and "1 review overdue" in html


def _portfolio(size: int, unit, lead, start: int = 0) -> None:
    for index in range(start, start + size):
        initiative = make_initiative(actor=lead, unit=unit, name=f"P{index}", sponsor=lead,
                                     processes_personal_data=bool(index % 2))
        move(lead, initiative, "discovery")
        risk_create(actor=lead, initiative=initiative, title=f"Risk {index}", category="privacy", likelihood=2,
                    impact=3)
        evidence_upload(actor=lead, initiative=initiative, file=pdf_upload(), title=f"E{index}", category="dpia")
        asset = data_asset_create(actor=lead, business_unit=unit, name=f"Asset {index}", retention_days=30)
        data_asset_link(actor=lead, data_asset=asset, initiative=initiative)
    compliance_audit_run()


def _count(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["lead", "officer"])
def test_query_counts_of_compliance_pages_do_not_grow_with_the_portfolio(role, db):
    unit = make_unit("Scale")
    lead = make_user(unit=unit, unit_role=UnitRole.LEAD, username="scale_lead")
    user = lead if role == "lead" else make_user(role="Compliance officer", username="scale_officer")
    _portfolio(5, unit, lead)
    first = make_initiative(actor=lead, unit=unit, name="Detail")
    urls = ["/compliance/", f"/compliance/initiatives/{first.key}/", "/compliance/risks/", "/compliance/findings/",
            "/compliance/data-assets/", "/compliance/frameworks/", "/compliance/gate-reviews/", "/compliance/gates/",
            "/compliance/frameworks/nist-ai-rmf/"]
    client = client_for(user)
    at_5 = [_count(client, url) for url in urls]
    _portfolio(45, unit, lead, start=5)
    assert DataAsset.objects.count() == 50
    at_50 = [_count(client, url) for url in urls]
    assert at_5 == at_50
