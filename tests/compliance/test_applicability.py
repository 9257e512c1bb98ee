"""An initiative's requirement list follows its risk tier, operator role, AI type, stage and personal-data flag."""

from __future__ import annotations

import pytest

from apps.compliance.selectors import applicable_requirements
from apps.portfolio.choices import AIType
from tests.compliance.helpers import HIGH_DEPLOYER, HIGH_PROVIDER, classify, move, pilot_ready
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


def codes(initiative, framework: str = "eu-ai-act") -> set[str]:
    return set(applicable_requirements(initiative=initiative).filter(framework__slug=framework)
               .values_list("code", flat=True))


def test_applicability_changes_when_the_risk_tier_changes(unit_a, lead_a):
    # given a minimal-risk provider initiative in discovery
    initiative = pilot_ready(lead_a, unit_a)
    before = codes(initiative)
    assert {"ART-4", "ART-5", "ART-6", "ART-95"} <= before
    assert "ART-9" not in before

    # when it is re-classified high risk (an Annex III employment use)
    classify(lead_a, initiative, HIGH_PROVIDER)

    # then the high-risk provider obligations apply and the minimal-risk one no longer does
    after = codes(initiative)
    assert {"ART-9", "ART-10", "ART-11", "ART-14", "ART-17"} <= after
    assert "ART-95" not in after


def test_applicability_changes_when_the_operator_role_changes(unit_a, lead_a):
    # given a high-risk initiative in pilot where we are the provider
    initiative = move(lead_a, pilot_ready(lead_a, unit_a, answers=HIGH_PROVIDER), "pilot")
    assert "ART-9" in codes(initiative) and "ART-27" not in codes(initiative)

    # when it turns out we only deploy it
    classify(lead_a, initiative, HIGH_DEPLOYER)

    # then the deployer duties (incl. the FRIA) replace the provider duties
    after = codes(initiative)
    assert {"ART-26-USE", "ART-26-OVERSIGHT", "ART-26-INFORM", "ART-27"} <= after
    assert "ART-9" not in after


def test_applicability_changes_when_the_stage_changes(unit_a, lead_a):
    # given a high-risk deployer initiative in discovery
    initiative = pilot_ready(lead_a, unit_a, answers=HIGH_DEPLOYER)
    assert "ART-27" not in codes(initiative)  # the FRIA is due before first use (pilot)
    assert "ART-86" not in codes(initiative)

    # when it enters pilot (it meets the pilot gate)
    move(lead_a, initiative, "pilot")

    # then the FRIA applies; post-deployment duties still do not
    assert "ART-27" in codes(initiative)
    assert "ART-86" not in codes(initiative)
    nist = codes(initiative, "nist-ai-rmf")
    assert "MEASURE-2.3" in nist and "MANAGE-4.1" not in nist


def test_personal_data_requirements_apply_only_to_initiatives_that_process_it(unit_a, lead_a):
    # given two otherwise equal initiatives, one processing personal data
    with_pd = make_initiative(actor=lead_a, unit=unit_a, name="With PD", processes_personal_data=True)
    without = make_initiative(actor=lead_a, unit=unit_a, name="Without PD")
    move(lead_a, with_pd, "discovery")
    move(lead_a, without, "discovery")

    # then GDPR and CCPA apply to one only
    assert {"ART-6", "ART-5-1-C", "ART-25"} <= codes(with_pd, "gdpr")
    assert codes(without, "gdpr") == set()
    assert codes(without, "ccpa") == set()
    assert "MEASURE-2.10" in codes(with_pd, "nist-ai-rmf")
    assert "MEASURE-2.10" not in codes(without, "nist-ai-rmf")


def test_applicability_follows_the_ai_type(unit_a, lead_a):
    # given a limited-risk generative initiative and a limited-risk predictive one, both providers
    answers = {"t_interacts": True, "t_synthetic": True, "role": "provider"}
    generative = pilot_ready(lead_a, unit_a, name="Assistant", ai_type=AIType.GENERATIVE, answers=answers)
    predictive = pilot_ready(lead_a, unit_a, name="Scoring", ai_type=AIType.PREDICTIVE_ML, answers=answers)

    # then synthetic-content marking applies to the generative one only
    assert {"ART-50-1", "ART-50-2"} <= codes(generative)
    assert "ART-50-2" not in codes(predictive)
