"""Ordering by stage and priority follows their rank, not the alphabet."""

from __future__ import annotations

import pytest

from apps.portfolio.filters import InitiativeFilterSet
from apps.portfolio.models import Initiative
from apps.portfolio.services import initiative_transition
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


def test_priority_sorts_by_rank(admin_user, unit_a):
    for name, priority in (("a", "low"), ("b", "critical"), ("c", "medium"), ("d", "high")):
        make_initiative(actor=admin_user, unit=unit_a, name=name, priority=priority)
    ordered = InitiativeFilterSet({"ordering": "-priority"}, queryset=Initiative.objects.all()).qs
    assert [i.priority for i in ordered] == ["critical", "high", "medium", "low"]


def test_stage_sorts_along_the_lifecycle(admin_user, unit_a):
    pilot = make_initiative(actor=admin_user, unit=unit_a, name="pilot")
    for stage in ("discovery", "pilot"):
        initiative_transition(actor=admin_user, initiative=pilot, to_stage=stage, rationale="go")
    discovery = make_initiative(actor=admin_user, unit=unit_a, name="discovery")
    initiative_transition(actor=admin_user, initiative=discovery, to_stage="discovery", rationale="go")
    make_initiative(actor=admin_user, unit=unit_a, name="idea")
    ordered = InitiativeFilterSet({"ordering": "stage"}, queryset=Initiative.objects.all()).qs
    assert [i.stage for i in ordered] == ["idea", "discovery", "pilot"]
