"""EU AI Act classification: questionnaire → tier and role with reasons; history kept and audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import AuditEvent
from apps.compliance.classification import classify, clean_answers
from apps.compliance.models import RiskClassification
from apps.compliance.services import classification_record
from apps.portfolio.choices import OperatorRole, RiskTier
from tests.compliance.helpers import HIGH_PROVIDER
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


def outcome(**answers):
    cleaned, errors = clean_answers(answers)
    assert errors == {}
    return classify(cleaned)


def test_a_prohibited_practice_wins_over_everything_else():
    result = outcome(p_social_scoring=True, annex_iii_area="employment", t_interacts=True)
    assert result.risk_tier == RiskTier.PROHIBITED
    assert result.rationale[0].startswith("Prohibited practice (Art. 5(1)(c))")


def test_annex_iii_use_is_high_risk_unless_the_narrow_task_derogation_applies():
    assert outcome(annex_iii_area="employment").risk_tier == RiskTier.HIGH
    derogated = outcome(annex_iii_area="employment", narrow_task=True)
    assert derogated.risk_tier == RiskTier.MINIMAL
    assert "Art. 6(3) derogation applies" in derogated.rationale[0]


def test_profiling_makes_an_annex_iii_use_high_risk_even_for_a_narrow_task():
    result = outcome(annex_iii_area="essential_services", profiling=True, narrow_task=True)
    assert result.risk_tier == RiskTier.HIGH
    assert "cannot apply" in result.rationale[0]


def test_transparency_cases_are_limited_risk_and_annex_i_products_high_risk():
    assert outcome(t_synthetic=True).risk_tier == RiskTier.LIMITED
    assert outcome(annex_i_product=True).risk_tier == RiskTier.HIGH
    assert outcome().risk_tier == RiskTier.MINIMAL


def test_substantially_modifying_a_high_risk_system_makes_the_deployer_its_provider():
    result = outcome(annex_iii_area="education", role="deployer", substantial_modification=True)
    assert (result.risk_tier, result.operator_role) == (RiskTier.HIGH, OperatorRole.PROVIDER)
    assert "Art. 25(1)" in result.rationale[-1]
    assert outcome(t_interacts=True, role="deployer", substantial_modification=True).operator_role == "deployer"


def test_classification_is_stored_with_its_rationale_and_written_onto_the_initiative(unit_a, lead_a):
    # given an unclassified initiative
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    assert initiative.risk_tier == RiskTier.UNCLASSIFIED

    # when its lead answers the questionnaire
    record = classification_record(actor=lead_a, initiative=initiative, answers=HIGH_PROVIDER, note="First pass")

    # then the tier, role and reasons are stored and the initiative carries the tier
    initiative.refresh_from_db()
    assert (initiative.risk_tier, initiative.operator_role) == ("high", "provider")
    assert (record.risk_tier, record.previous_tier, record.classified_by) == ("high", "unclassified", lead_a)
    assert record.rationale[0] == "High risk under Art. 6(2), Annex III (Employment: recruiting, selection, " \
                                  "promotion, termination, task allocation, monitoring workers)."
    assert record.answers["annex_iii_area"] == "employment" and record.answers["profiling"] is False


def test_reclassification_keeps_the_history_and_is_audited(unit_a, lead_a, officer):
    # given a classified initiative
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    classification_record(actor=lead_a, initiative=initiative, answers=HIGH_PROVIDER)

    # when a compliance officer re-classifies it
    classification_record(actor=officer, initiative=initiative, answers={"annex_iii_area": "employment",
                                                                         "narrow_task": True, "t_interacts": True})

    # then both classifications are on record, newest first, and both writes are in the audit trail
    history = list(RiskClassification.objects.filter(initiative=initiative).values_list(
        "risk_tier", "previous_tier", "classified_by__username"))
    assert history == [("limited", "high", "officer"), ("high", "unclassified", "lead_a")]
    events = AuditEvent.objects.filter(table_name="compliance_riskclassification", action="insert")
    assert events.count() == 2
    assert set(events.values_list("initiative_id", flat=True)) == {initiative.pk}
    tier_changes = [e.after["risk_tier"] for e in AuditEvent.objects.filter(
        table_name="portfolio_initiative", action="update", initiative_id=initiative.pk).order_by("seq")]
    assert tier_changes == ["high", "limited"]


def test_bad_answers_are_refused_and_nothing_is_written(unit_a, lead_a):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    with pytest.raises(ValidationError) as error:
        classification_record(actor=lead_a, initiative=initiative,
                              answers={"annex_iii_area": "astrology", "profiling": "maybe", "colour": "blue"})
    assert sorted(error.value.message_dict["answers"]) == [
        "annex_iii_area: Choose one of: none, biometrics, critical_infrastructure, education, employment, "
        "essential_services, law_enforcement, migration, justice_democracy.",
        "colour: Not a question of the classification questionnaire.",
        "profiling: Answer yes or no (true / false).",
    ]
    assert not RiskClassification.objects.exists()
    initiative.refresh_from_db()
    assert initiative.risk_tier == RiskTier.UNCLASSIFIED


@pytest.mark.parametrize("who", ["auditor", "viewer", "executive"])
def test_auditors_viewers_and_executives_cannot_classify(who, unit_a, lead_a, auditor, viewer_a, executive):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    actor = {"auditor": auditor, "viewer": viewer_a, "executive": executive}[who]
    with pytest.raises(PermissionDenied):
        classification_record(actor=actor, initiative=initiative, answers=HIGH_PROVIDER)
    assert not RiskClassification.objects.exists()
