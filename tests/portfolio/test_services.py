"""Initiative registration and editing rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.portfolio.choices import Stage
from apps.portfolio.models import Initiative, StageTransition
from apps.portfolio.services import initiative_update
from tests.factories import make_initiative, make_unit

pytestmark = pytest.mark.django_db


def test_keys_are_generated_in_sequence_and_the_opening_move_is_recorded(admin_user, unit_a):
    first = make_initiative(actor=admin_user, unit=unit_a)
    second = make_initiative(actor=admin_user, unit=unit_a, name="Fraud scoring")
    assert (first.key, second.key) == ("AI-001", "AI-002")
    opening = StageTransition.objects.get(initiative=first)
    assert (opening.from_stage, opening.to_stage, opening.by) == ("", Stage.IDEA, admin_user)


def test_an_explicit_key_is_upper_cased_and_must_be_unique(admin_user, unit_a):
    make_initiative(actor=admin_user, unit=unit_a, key="ai-042")
    with pytest.raises(ValidationError) as excinfo:
        make_initiative(actor=admin_user, unit=unit_a, key="AI-042")
    assert excinfo.value.message_dict == {"key": ["The key AI-042 is already used by another initiative."]}
    assert Initiative.objects.count() == 1


def test_a_malformed_key_is_refused(admin_user, unit_a):
    with pytest.raises(ValidationError) as excinfo:
        make_initiative(actor=admin_user, unit=unit_a, key="AI 7")
    assert "key" in excinfo.value.message_dict
    assert Initiative.objects.count() == 0


def test_creating_in_another_unit_is_refused_and_writes_nothing(lead_a, unit_b):
    with pytest.raises(PermissionDenied):
        make_initiative(actor=lead_a, unit=unit_b)
    assert Initiative.objects.count() == 0
    assert StageTransition.objects.count() == 0


def test_lead_creates_in_a_sub_unit_and_becomes_owner(lead_a, unit_a):
    sub_unit = make_unit("Claims fraud", parent=unit_a)
    initiative = make_initiative(actor=lead_a, unit=sub_unit)
    assert initiative.business_unit == sub_unit
    assert initiative.owner == lead_a


def test_viewer_cannot_create(viewer_a, unit_a):
    with pytest.raises(PermissionDenied):
        make_initiative(actor=viewer_a, unit=unit_a)


def test_only_portfolio_admins_move_an_initiative_to_another_unit(admin_user, lead_a, unit_a, unit_b):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    with pytest.raises(PermissionDenied):
        initiative_update(actor=lead_a, initiative=initiative, business_unit=unit_b)
    initiative.refresh_from_db()
    assert initiative.business_unit == unit_a
    initiative_update(actor=admin_user, initiative=initiative, business_unit=unit_b)
    initiative.refresh_from_db()
    assert initiative.business_unit == unit_b


def test_stage_cannot_be_edited_directly(admin_user, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    with pytest.raises(ValidationError) as excinfo:
        initiative_update(actor=admin_user, initiative=initiative, stage=Stage.PRODUCTION)
    assert "stage" in excinfo.value.message_dict
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA


def test_scores_are_validated_by_field(admin_user, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    with pytest.raises(ValidationError) as excinfo:
        initiative_update(actor=admin_user, initiative=initiative, impact_score=9, name="Renamed")
    assert "impact_score" in excinfo.value.message_dict
    initiative.refresh_from_db()
    assert (initiative.impact_score, initiative.name) == (3, "Claims triage")


def test_contributor_edits_own_initiative_but_not_others(contributor_a, lead_a, unit_a):
    own = make_initiative(actor=contributor_a, unit=unit_a)
    initiative_update(actor=contributor_a, initiative=own, name="Better name")
    others = make_initiative(actor=lead_a, unit=unit_a)
    with pytest.raises(PermissionDenied):
        initiative_update(actor=contributor_a, initiative=others, name="Hijack")
    others.refresh_from_db()
    assert others.name == "Claims triage"
