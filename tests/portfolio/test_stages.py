"""Every legal and illegal stage move, through the pure rules and through the service."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.portfolio.choices import Decision, Stage
from apps.portfolio.models import StageTransition
from apps.portfolio.services import initiative_transition
from apps.portfolio.stages import FORWARD, IllegalMove, check_move, pilot_days
from tests.factories import make_initiative

LEGAL = {
    (Stage.IDEA, Stage.DISCOVERY), (Stage.DISCOVERY, Stage.PILOT), (Stage.PILOT, Stage.PRODUCTION),
    (Stage.PRODUCTION, Stage.SCALED), (Stage.PRODUCTION, Stage.RETIRED), (Stage.SCALED, Stage.RETIRED),
    (Stage.DISCOVERY, Stage.IDEA), (Stage.PILOT, Stage.DISCOVERY), (Stage.ON_HOLD, Stage.CANCELLED),
    *((s, Stage.ON_HOLD) for s in (Stage.IDEA, Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED)),
    *((s, Stage.CANCELLED) for s in (Stage.IDEA, Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED)),
}
ALL_PAIRS = [(a, b) for a, b in itertools.product(Stage.values, Stage.values) if a != b]

# The path that brings a fresh initiative (in idea) to each stage.
PATH_TO = {
    Stage.IDEA: [],
    Stage.DISCOVERY: [Stage.DISCOVERY],
    Stage.PILOT: [Stage.DISCOVERY, Stage.PILOT],
    Stage.PRODUCTION: [Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION],
    Stage.SCALED: [Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION, Stage.SCALED],
    Stage.RETIRED: [Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED],
    Stage.ON_HOLD: [Stage.DISCOVERY, Stage.PILOT, Stage.ON_HOLD],
    Stage.CANCELLED: [Stage.CANCELLED],
}


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_rules_accept_exactly_the_legal_moves(current, target):
    # given the move table, when checking a move (resuming from on_hold to pilot, where it was paused from)
    paused = Stage.PILOT if current == Stage.ON_HOLD else None
    legal = (current, target) in LEGAL or (current == Stage.ON_HOLD and target == Stage.PILOT)
    if legal:
        assert check_move(current, target, None, paused) in Decision.values
    else:
        with pytest.raises(IllegalMove):
            check_move(current, target, None, paused)


def test_table_matches_the_documented_moves():
    assert set(FORWARD) == LEGAL


def test_wrong_decision_for_a_move_is_refused_with_the_allowed_one_named():
    with pytest.raises(IllegalMove, match="records the decision Advance, not 'kill'"):
        check_move(Stage.IDEA, Stage.DISCOVERY, Decision.KILL)


def test_resume_from_hold_goes_back_only_to_the_paused_stage():
    assert check_move(Stage.ON_HOLD, Stage.PILOT, None, Stage.PILOT) == Decision.ADVANCE
    with pytest.raises(IllegalMove, match="can only resume to Pilot"):
        check_move(Stage.ON_HOLD, Stage.PRODUCTION, None, Stage.PILOT)


@pytest.mark.django_db
@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_service_applies_or_refuses_every_move(current, target, admin_user, unit_a):
    # given an initiative walked to `current`
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    for stage in PATH_TO[current]:
        initiative_transition(actor=admin_user, initiative=initiative, to_stage=stage, rationale="walk")
    initiative.refresh_from_db()
    before = StageTransition.objects.filter(initiative=initiative).count()
    legal = (current, target) in LEGAL or (current == Stage.ON_HOLD and target == Stage.PILOT)
    # when moving it to `target`
    if legal:
        transition = initiative_transition(actor=admin_user, initiative=initiative, to_stage=target, rationale="go")
        initiative.refresh_from_db()
        # then the stage, the entry time and the recorded transition agree
        assert initiative.stage == target
        assert initiative.stage_entered_at == transition.at
        assert (transition.from_stage, transition.to_stage, transition.by) == (current, target, admin_user)
        assert StageTransition.objects.filter(initiative=initiative).count() == before + 1
    else:
        with pytest.raises(ValidationError) as excinfo:
            initiative_transition(actor=admin_user, initiative=initiative, to_stage=target, rationale="go")
        # then nothing changed and the message names the stages
        assert "to_stage" in excinfo.value.message_dict
        initiative.refresh_from_db()
        assert initiative.stage == current
        assert StageTransition.objects.filter(initiative=initiative).count() == before


@pytest.mark.django_db
def test_transition_requires_a_rationale(admin_user, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    with pytest.raises(ValidationError) as excinfo:
        initiative_transition(actor=admin_user, initiative=initiative, to_stage=Stage.DISCOVERY, rationale="  ")
    assert excinfo.value.message_dict == {"rationale": ["Say why: every stage move needs a rationale."]}
    assert StageTransition.objects.filter(initiative=initiative).count() == 1


@pytest.mark.django_db
def test_transition_stamps_key_dates(admin_user, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    for stage in (Stage.DISCOVERY, Stage.PILOT, Stage.PRODUCTION):
        initiative_transition(actor=admin_user, initiative=initiative, to_stage=stage, rationale="ok")
    initiative.refresh_from_db()
    today = timezone.localdate()
    assert (initiative.started_on, initiative.pilot_started_on, initiative.production_on) == (today, today, today)


@pytest.mark.django_db
def test_only_owner_lead_or_admin_move_the_stage(admin_user, unit_a, lead_a, contributor_a, viewer_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a, owner=lead_a)
    for outsider in (contributor_a, viewer_a):
        with pytest.raises(PermissionDenied):
            initiative_transition(actor=outsider, initiative=initiative, to_stage=Stage.DISCOVERY, rationale="x")
    initiative_transition(actor=lead_a, initiative=initiative, to_stage=Stage.DISCOVERY, rationale="lead moves")
    owned = make_initiative(actor=contributor_a, unit=unit_a)
    assert owned.owner == contributor_a
    initiative_transition(actor=contributor_a, initiative=owned, to_stage=Stage.DISCOVERY, rationale="owner moves")


def test_pilot_days_adds_every_pilot_interval():
    start = timezone.now() - timedelta(days=400)
    rows = [
        ("", Stage.IDEA, start),
        (Stage.IDEA, Stage.DISCOVERY, start + timedelta(days=10)),
        (Stage.DISCOVERY, Stage.PILOT, start + timedelta(days=20)),
        (Stage.PILOT, Stage.DISCOVERY, start + timedelta(days=120)),  # 100 days
        (Stage.DISCOVERY, Stage.PILOT, start + timedelta(days=150)),
        (Stage.PILOT, Stage.ON_HOLD, start + timedelta(days=200)),  # 50 days
    ]
    assert pilot_days(rows, start + timedelta(days=400)) == pytest.approx(150)
    still_in_pilot = rows[:5]
    assert pilot_days(still_in_pilot, start + timedelta(days=400)) == pytest.approx(100 + 250)
