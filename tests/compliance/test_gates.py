"""Stage gates: a move that fails its gate is refused with the unmet criteria, allowed under an approved exception,
and refused again once the exception has expired. Gate reviews need every approver; all of it is audited."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.compliance.choices import GateReviewStatus, ResultStatus
from apps.compliance.models import Framework, GateReview
from apps.compliance.services import (
    assessment_approve,
    assessment_start,
    framework_create,
    framework_update,
    gate_criterion_set,
    gate_review_decide,
    gate_review_request,
    requirement_create,
    result_set,
)
from apps.portfolio.choices import Stage
from apps.portfolio.models import StageTransition
from apps.portfolio.services import initiative_update
from tests.compliance.helpers import HIGH_PROVIDER, in_days, move, pilot_ready
from tests.factories import make_initiative, make_user

pytestmark = pytest.mark.django_db

PILOT_HEADING = ("The gate to Pilot is not met. Meet these criteria or request a gate review for an exception:")


def refused(actor, initiative, stage: str) -> list[str]:
    with pytest.raises(ValidationError) as error:
        move(actor, initiative, stage)
    return error.value.message_dict["to_stage"]


def test_a_move_into_pilot_is_refused_with_the_unmet_criteria_listed(unit_a, lead_a):
    # given a bare initiative in discovery: owner set, but no sponsor, no KPI, not classified
    initiative = move(lead_a, make_initiative(actor=lead_a, unit=unit_a), Stage.DISCOVERY)

    # when its lead moves it into pilot
    messages = refused(lead_a, initiative, Stage.PILOT)

    # then the move is refused, naming each unmet criterion, and nothing is written
    assert messages == [
        PILOT_HEADING,
        "An executive sponsor is set: no executive sponsor.",
        "A KPI with a baseline is defined: no KPI with a baseline.",
        "The EU AI Act risk classification is recorded: No EU AI Act classification recorded: answer the "
        "questionnaire.",
    ]
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DISCOVERY
    assert StageTransition.objects.filter(initiative=initiative).count() == 2


def test_the_api_refuses_a_gated_move_with_400_and_the_criteria(unit_a, lead_a):
    from rest_framework.test import APIClient

    initiative = move(lead_a, make_initiative(actor=lead_a, unit=unit_a), Stage.DISCOVERY)
    client = APIClient()
    client.force_authenticate(lead_a)
    response = client.post(f"/api/v1/initiatives/{initiative.key}/transition/",
                           {"to_stage": "pilot", "rationale": "Ready."}, format="json")
    assert response.status_code == 400
    assert response.json()["to_stage"][0] == PILOT_HEADING
    assert len(response.json()["to_stage"]) == 4


def test_a_pilot_ready_initiative_enters_pilot(unit_a, lead_a):
    initiative = pilot_ready(lead_a, unit_a)
    assert move(lead_a, initiative, Stage.PILOT).stage == Stage.PILOT


def test_a_prohibited_practice_never_enters_pilot(unit_a, lead_a):
    initiative = pilot_ready(lead_a, unit_a, answers={"p_social_scoring": True})
    assert refused(lead_a, initiative, Stage.PILOT)[1:] == [
        "It is not a prohibited AI practice: classified as a prohibited practice (EU AI Act Art. 5).",
    ]


def test_gated_move_allowed_under_an_approved_exception_and_refused_after_it_expires(unit_a, lead_a, officer):
    # given a pilot that does not meet the production gate
    initiative = move(lead_a, pilot_ready(lead_a, unit_a), Stage.PILOT)
    unmet = refused(lead_a, initiative, Stage.PRODUCTION)
    assert any(line.startswith("An approved assessment exists for each applicable framework") for line in unmet)

    # when the lead requests an exception for two days and a compliance officer approves it
    review = gate_review_request(actor=lead_a, initiative=initiative, target_stage=Stage.PRODUCTION,
                                 reason="Regulator sandbox trial, assessments due next month.",
                                 expires_at=in_days(2), approvers=[officer])
    assert review.status == GateReviewStatus.PENDING
    assert refused(lead_a, initiative, Stage.PRODUCTION) == unmet  # pending is not approved
    review = gate_review_decide(actor=officer, review=review, decision="approved", comment="Time-boxed.")

    # then the move into production goes ahead
    assert review.status == GateReviewStatus.APPROVED
    assert move(lead_a, initiative, Stage.PRODUCTION).stage == Stage.PRODUCTION
    move(lead_a, initiative, Stage.ON_HOLD)

    # and once the exception has expired, moving back into production is refused with the same criteria
    three_days_later = timezone.now() + timedelta(days=3)
    with mock.patch("django.utils.timezone.now", return_value=three_days_later):
        again = refused(lead_a, initiative, Stage.PRODUCTION)
    assert again[1:] == unmet[1:]
    initiative.refresh_from_db()
    assert initiative.stage == Stage.ON_HOLD


def test_an_exception_waives_only_the_criteria_unmet_when_it_was_requested(unit_a, lead_a, officer):
    # given an approved exception to the production gate
    initiative = move(lead_a, pilot_ready(lead_a, unit_a), Stage.PILOT)
    review = gate_review_request(actor=lead_a, initiative=initiative, target_stage=Stage.PRODUCTION,
                                 reason="Trial.", expires_at=in_days(5), approvers=[officer])
    gate_review_decide(actor=officer, review=review, decision="approved")
    assert "sponsor_set" not in review.waived_criteria

    # when the sponsor leaves after the approval
    initiative_update(actor=lead_a, initiative=initiative, sponsor=None)

    # then the move is refused for that new gap only
    assert refused(lead_a, initiative, Stage.PRODUCTION)[1:] == ["An executive sponsor is set: no executive sponsor."]


def test_a_rejected_review_leaves_the_gate_closed(unit_a, lead_a, officer):
    initiative = move(lead_a, pilot_ready(lead_a, unit_a), Stage.PILOT)
    review = gate_review_request(actor=lead_a, initiative=initiative, target_stage=Stage.PRODUCTION,
                                 reason="Trial.", expires_at=in_days(5), approvers=[officer])
    with pytest.raises(ValidationError) as error:
        gate_review_decide(actor=officer, review=review, decision="rejected")
    assert error.value.message_dict == {"comment": ["Say why you reject the exception."]}
    review = gate_review_decide(actor=officer, review=review, decision="rejected", comment="Assess first.")
    assert review.status == GateReviewStatus.REJECTED
    refused(lead_a, initiative, Stage.PRODUCTION)


def test_every_approver_must_approve(unit_a, lead_a, officer, admin_user):
    initiative = move(lead_a, pilot_ready(lead_a, unit_a), Stage.PILOT)
    review = gate_review_request(actor=lead_a, initiative=initiative, target_stage=Stage.PRODUCTION,
                                 reason="Trial.", expires_at=in_days(5), approvers=[officer, admin_user])
    review = gate_review_decide(actor=officer, review=review, decision="approved")
    assert review.status == GateReviewStatus.PENDING
    refused(lead_a, initiative, Stage.PRODUCTION)
    review = gate_review_decide(actor=admin_user, review=review, decision="approved")
    assert review.status == GateReviewStatus.APPROVED
    assert list(review.approvals.order_by("id").values_list("role", flat=True)) == [
        "compliance_officer", "portfolio_admin"]
    assert move(lead_a, initiative, Stage.PRODUCTION).stage == Stage.PRODUCTION


def test_who_may_request_and_approve_an_exception(unit_a, unit_b, lead_a, lead_b, viewer_a, officer, auditor):
    initiative = move(lead_a, pilot_ready(lead_a, unit_a, answers=HIGH_PROVIDER), Stage.PILOT)
    other_lead = make_user(unit=unit_a, username="lead_a2")
    request = {"initiative": initiative, "target_stage": Stage.PRODUCTION, "reason": "Trial.",
               "expires_at": in_days(5)}
    with pytest.raises(PermissionDenied):
        gate_review_request(actor=viewer_a, approvers=[officer], **request)
    errors = {
        "self": [lead_a], "auditor": [auditor], "other unit lead": [lead_b], "no compliance officer": [other_lead],
        "none": [],
    }
    messages = {}
    for name, approvers in errors.items():
        with pytest.raises(ValidationError) as error:
            gate_review_request(actor=lead_a, approvers=approvers, **request)
        messages[name] = error.value.message_dict["approvers"][0]
    assert messages == {
        "self": "You cannot approve your own request.",
        "auditor": f"{auditor.display_name} cannot approve: approvers are compliance officers, portfolio admins or "
                   "leads of the initiative's business unit.",
        "other unit lead": f"{lead_b.display_name} cannot approve: approvers are compliance officers, portfolio "
                           "admins or leads of the initiative's business unit.",
        "no compliance officer": "A high-risk initiative needs a compliance officer among the approvers.",
        "none": "Name at least one approver.",
    }
    with pytest.raises(ValidationError) as error:
        gate_review_request(actor=lead_a, approvers=[officer], **{**request, "expires_at": in_days(365)})
    assert error.value.message_dict == {"expires_at": ["An exception lasts at most 90 days."]}
    review = gate_review_request(actor=lead_a, approvers=[officer, other_lead], **request)
    with pytest.raises(PermissionDenied):
        gate_review_decide(actor=auditor, review=review, decision="approved")
    assert GateReview.objects.count() == 1


def test_gate_criteria_are_configured_per_risk_tier(unit_a, lead_a, officer):
    # given a DPIA required for entering pilot, for high-risk initiatives only
    gate_criterion_set(actor=officer, target_stage=Stage.PILOT, criterion="dpia_if_personal_data",
                       risk_tiers=["high"])
    high = pilot_ready(lead_a, unit_a, name="High", answers=HIGH_PROVIDER, processes_personal_data=True)
    minimal = pilot_ready(lead_a, unit_a, name="Minimal", processes_personal_data=True)

    # then only the high-risk initiative is held back
    assert refused(lead_a, high, Stage.PILOT)[1:] == [
        "A DPIA is on file when personal data is processed: personal data is processed but no DPIA evidence is on "
        "file."]
    assert move(lead_a, minimal, Stage.PILOT).stage == Stage.PILOT


def test_gates_can_be_switched_off(settings, unit_a, lead_a):
    settings.COMPLIANCE_GATES_ENABLED = False
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    assert move(lead_a, initiative, Stage.DISCOVERY, Stage.PILOT).stage == Stage.PILOT


def test_production_opens_once_each_applicable_framework_has_an_approved_assessment(unit_a, lead_a, officer):
    # given only one (custom) framework active, and readiness not required
    for framework in Framework.objects.filter(builtin=True):
        framework_update(actor=officer, framework=framework, active=False)
    gate_criterion_set(actor=officer, target_stage=Stage.PRODUCTION, criterion="readiness_passing", active=False)
    policy = framework_create(actor=officer, slug="model-policy", name="Model risk policy", short_name="MRP")
    requirement = requirement_create(actor=officer, framework=policy, code="MRP-1", title="Independent validation",
                                     summary="A second line validates the model.")
    initiative = move(lead_a, pilot_ready(lead_a, unit_a), Stage.PILOT)
    assert refused(lead_a, initiative, Stage.PRODUCTION)[1:] == [
        "An approved assessment exists for each applicable framework: MRP: no assessment."]

    # when the policy is assessed and approved
    assessment = assessment_start(actor=lead_a, initiative=initiative, framework=policy)
    result = assessment.results.get(requirement=requirement)
    result_set(actor=lead_a, result=result, status=ResultStatus.COMPLIANT, note="Validated by model risk.")
    assessment_approve(actor=officer, assessment=assessment)

    # then the initiative may enter production
    assert move(lead_a, initiative, Stage.PRODUCTION).stage == Stage.PRODUCTION


def test_gate_reviews_and_decisions_are_audited(unit_a, lead_a, officer):
    initiative = move(lead_a, pilot_ready(lead_a, unit_a), Stage.PILOT)
    review = gate_review_request(actor=lead_a, initiative=initiative, target_stage=Stage.PRODUCTION,
                                 reason="Trial.", expires_at=in_days(5), approvers=[officer])
    gate_review_decide(actor=officer, review=review, decision="approved", comment="OK")
    actions = list(AuditEvent.objects.filter(table_name__in=["compliance_gatereview", "compliance_gatereviewapproval"])
                   .order_by("seq").values_list("table_name", "action", "initiative_id"))
    assert actions == [
        ("compliance_gatereview", "insert", initiative.pk),
        ("compliance_gatereviewapproval", "insert", initiative.pk),
        ("compliance_gatereviewapproval", "update", initiative.pk),
        ("compliance_gatereview", "update", initiative.pk),
    ]
