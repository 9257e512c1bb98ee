"""Scoped lists and the overview figures: funnel, conversion, median pilot days, purgatory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.portfolio.choices import Stage
from apps.portfolio.selectors import initiative_list, portfolio_overview
from apps.portfolio.services import initiative_transition
from tests.factories import make_initiative, make_unit

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def walk(actor, initiative, moves):
    """Apply (stage, days_ago) moves in order."""
    now = timezone.now()
    for stage, days_ago in moves:
        initiative_transition(actor=actor, initiative=initiative, to_stage=stage, rationale="walk",
                              at=now - days_ago * DAY)


@pytest.fixture
def portfolio(admin_user, unit_a, unit_b):
    start = timezone.now() - 700 * DAY
    stuck = make_initiative(actor=admin_user, unit=unit_a, name="Stuck pilot", created_at=start)
    walk(admin_user, stuck, [(Stage.DISCOVERY, 600), (Stage.PILOT, 400)])
    recent = make_initiative(actor=admin_user, unit=unit_a, name="Recent pilot", created_at=start)
    walk(admin_user, recent, [(Stage.DISCOVERY, 300), (Stage.PILOT, 100)])
    shipped = make_initiative(actor=admin_user, unit=unit_b, name="Shipped", created_at=start)
    walk(admin_user, shipped, [(Stage.DISCOVERY, 500), (Stage.PILOT, 400), (Stage.PRODUCTION, 200)])
    idea = make_initiative(actor=admin_user, unit=unit_b, name="Idea", created_at=start)
    return {"stuck": stuck, "recent": recent, "shipped": shipped, "idea": idea}


def test_overview_counts_funnel_and_conversion(executive, portfolio):
    overview = portfolio_overview(user=executive)
    assert overview.total == 4
    assert overview.stage_counts[Stage.PILOT] == 2
    assert overview.stage_counts[Stage.PRODUCTION] == 1
    assert [(stage, n) for stage, _label, n in overview.funnel] == [
        ("idea", 4), ("discovery", 3), ("pilot", 3), ("production", 1), ("scaled", 0), ("retired", 0),
    ]
    assert (overview.ever_pilot, overview.reached_production) == (3, 1)
    assert overview.conversion == pytest.approx(1 / 3)


def test_overview_purgatory_lists_only_old_pilots_oldest_first(executive, portfolio, settings):
    assert [i.name for i in portfolio_overview(user=executive).purgatory] == ["Stuck pilot"]
    settings.PILOT_PURGATORY_DAYS = 50
    overview = portfolio_overview(user=executive)
    assert [i.name for i in overview.purgatory] == ["Stuck pilot", "Recent pilot"]
    assert overview.purgatory_count == 2


def test_overview_median_pilot_days_per_unit(executive, portfolio, unit_a, unit_b):
    rows = {row.unit: (round(row.median_days), row.initiatives) for row in portfolio_overview(user=executive)
            .pilot_days_by_unit}
    # unit A: 400 and 100 days (median 250); unit B: 200 days in pilot before production
    assert rows == {unit_a: (250, 2), unit_b: (200, 1)}


def test_overview_is_scoped_to_the_users_units(lead_b, portfolio):
    overview = portfolio_overview(user=lead_b)
    assert overview.total == 2
    assert overview.purgatory == []
    assert [row.initiatives for row in overview.pilot_days_by_unit] == [1]


def test_list_includes_sub_units_and_excludes_other_units(admin_user, lead_a, unit_a, unit_b):
    sub_unit = make_unit("Claims fraud", parent=unit_a)
    own = make_initiative(actor=admin_user, unit=unit_a, name="Own")
    child = make_initiative(actor=admin_user, unit=sub_unit, name="Child")
    make_initiative(actor=admin_user, unit=unit_b, name="Other")
    assert set(initiative_list(user=lead_a)) == {own, child}


def test_anonymous_sees_nothing(portfolio):
    from django.contrib.auth.models import AnonymousUser

    assert list(initiative_list(user=AnonymousUser())) == []
