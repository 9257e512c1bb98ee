"""The risk register (scores, residual, overdue reviews, the matrix) and the posture heatmap's cache."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from apps.compliance.models import Framework, Risk
from apps.compliance.selectors import compliance_posture, risk_matrix
from apps.compliance.services import assessment_start, result_set, risk_create, risk_update
from tests.compliance.helpers import classify, move, pilot_ready
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


def test_risk_scores_residuals_and_overdue_reviews(unit_a, lead_a, viewer_a):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    risk = risk_create(actor=lead_a, initiative=initiative, title="Unfair triage", category="fairness",
                       likelihood=4, impact=5, review_date=date.today() - timedelta(days=1))
    assert (risk.score, risk.residual_score, risk.is_overdue()) == (20, None, True)
    with pytest.raises(ValidationError) as error:
        risk_update(actor=lead_a, risk=risk, residual_likelihood=2)
    assert error.value.message_dict == {
        "residual_impact": ["Give both residual likelihood and residual impact, or neither."]}
    risk = risk_update(actor=lead_a, risk=Risk.objects.get(pk=risk.pk), residual_likelihood=2, residual_impact=3,
                       mitigation="Fairness testing per release.", status="closed")
    assert (risk.residual_score, risk.is_overdue()) == (6, False)
    with pytest.raises(ValidationError) as error:
        risk_create(actor=lead_a, initiative=initiative, title="Bad", category="privacy", likelihood=6, impact=0)
    assert set(error.value.message_dict) == {"likelihood", "impact"}


def test_the_risk_matrix_counts_open_risks_the_user_may_see(unit_a, unit_b, lead_a, lead_b, executive):
    mine = make_initiative(actor=lead_a, unit=unit_a)
    theirs = make_initiative(actor=lead_b, unit=unit_b)
    for likelihood, impact in ((3, 4), (3, 4), (5, 5)):
        risk_create(actor=lead_a, initiative=mine, title="R", category="security", likelihood=likelihood,
                    impact=impact, review_date=date.today() - timedelta(days=3))
    risk_create(actor=lead_b, initiative=theirs, title="R", category="security", likelihood=1, impact=1)
    assert risk_matrix(user=lead_a).counts == {(3, 4): 2, (5, 5): 1}
    assert risk_matrix(user=lead_a).overdue == 3
    assert risk_matrix(user=executive).total == 4


def test_the_heatmap_follows_results_and_reclassification_at_once(unit_a, lead_a, executive):
    # given a pilot with an EU AI Act assessment
    initiative = move(lead_a, pilot_ready(lead_a, unit_a), "pilot")
    eu = Framework.objects.get(slug="eu-ai-act")
    assessment = assessment_start(actor=lead_a, initiative=initiative, framework=eu)
    before = compliance_posture(user=executive).cell(unit_a.pk, eu.pk)
    art4 = assessment.results.get(requirement__code="ART-4")

    # when a result is set, the heatmap counts it
    result_set(actor=lead_a, result=art4, status="compliant", note="Training done.")
    after = compliance_posture(user=executive).cell(unit_a.pk, eu.pk)
    assert after.counts["compliant"] == before.counts["compliant"] + 1

    # when the initiative is re-classified high risk, more EU AI Act requirements apply at once
    classify(lead_a, initiative, {"annex_iii_area": "employment", "role": "provider"})
    high = compliance_posture(user=executive).cell(unit_a.pk, eu.pk)
    assert high.applicable > after.applicable
    assert high.counts["compliant"] >= after.counts["compliant"]


def test_the_heatmap_is_scoped_to_what_the_user_sees(unit_a, unit_b, lead_a, lead_b):
    for lead, unit in ((lead_a, unit_a), (lead_b, unit_b)):
        move(lead, make_initiative(actor=lead, unit=unit), "discovery")
    assert [unit.pk for unit in compliance_posture(user=lead_a).units] == [unit_a.pk]
    assert [unit.pk for unit in compliance_posture(user=lead_b).units] == [unit_b.pk]
