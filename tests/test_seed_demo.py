"""seed_demo builds a believable, reproducible demo portfolio through the services, and only once."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count
from django.test import RequestFactory

from apps.accounts.choices import GlobalRole
from apps.accounts.models import BusinessUnit, User
from apps.kpis.models import KPI, Measurement
from apps.portfolio.choices import Stage
from apps.portfolio.management import demo_data
from apps.portfolio.models import Initiative, StageTransition, StrategicObjective
from apps.portfolio.selectors import purgatory_q

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db, settings):
    settings.COMPLIANCE_GATES_ENABLED = True  # as in `make demo`: the seed must pass with gates on
    call_command("seed_demo", verbosity=0)


def test_seed_demo_creates_six_top_level_units_with_sub_units(seeded):
    top = BusinessUnit.objects.filter(parent__isnull=True)
    assert sorted(top.values_list("name", flat=True)) == [
        "Claims", "Customer Service", "Finance", "Operations", "Retail Banking", "Underwriting"
    ]
    fraud = BusinessUnit.objects.get(slug="claims-fraud")
    assert fraud.parent.slug == "claims"
    assert fraud.path.startswith(fraud.parent.path)


def test_seed_demo_spreads_sixty_initiatives_over_every_stage(seeded):
    stages = Counter(Initiative.objects.values_list("stage", flat=True))
    assert sum(stages.values()) == 60
    assert set(stages) == set(Stage.values)
    assert stages[Stage.PILOT] >= 10


def test_seed_demo_leaves_pilots_stuck_in_purgatory_for_nine_months(seeded):
    from django.utils import timezone

    stuck = Initiative.objects.filter(purgatory_q())
    assert stuck.count() >= 5
    assert any((timezone.now() - initiative.stage_entered_at).days >= 270 for initiative in stuck)


def test_seed_demo_records_two_years_of_dated_moves_that_end_in_each_stage(seeded):
    from django.utils import timezone

    oldest = StageTransition.objects.order_by("at").first().at
    assert 600 <= (timezone.now() - oldest).days <= 730
    assert not StageTransition.objects.filter(at__gt=timezone.now()).exists()
    for initiative in Initiative.objects.prefetch_related("transitions"):
        moves = list(initiative.transitions.all())
        assert moves[0].from_stage == ""
        assert moves[-1].to_stage == initiative.stage
        assert moves[-1].at == initiative.stage_entered_at
        assert [m.at for m in moves] == sorted(m.at for m in moves)
        assert all(move.rationale for move in moves)


def test_seed_demo_gives_every_initiative_two_to_four_kpis_with_history(seeded):
    per_initiative = Initiative.objects.annotate(n=Count("kpis")).values_list("n", flat=True)
    assert min(per_initiative) >= 2
    assert max(per_initiative) <= 4
    assert all(kpi.target_date > kpi.baseline_date for kpi in KPI.objects.all())
    production_kpi = KPI.objects.filter(initiative__stage=Stage.SCALED).annotate(n=Count("measurements")).first()
    assert production_kpi.n >= 10
    assert not Measurement.objects.filter(kpi__initiative__stage=Stage.IDEA).exists()


def test_seed_demo_puts_owners_sponsors_and_objectives_among_the_demo_people(seeded):
    usernames = set(demo_data.USERNAMES)
    for initiative in Initiative.objects.select_related("owner", "sponsor"):
        assert initiative.owner.username in usernames
        assert initiative.sponsor.username in usernames
    assert StrategicObjective.objects.count() == len(demo_data.OBJECTIVES)
    assert Initiative.objects.filter(objectives__isnull=False).distinct().count() == 60


def test_seed_demo_users_log_in_with_the_documented_password(seeded):
    assert User.objects.filter(username__in=demo_data.USERNAMES).count() == len(demo_data.USERS) >= 20
    for username in ("cto", "admin", "compliance", "auditor", "claims-lead", "a.novak", "viewer"):
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=username, password=demo_data.DEMO_PASSWORD)
        assert user is not None and user.username == username
    assert authenticate(RequestFactory().post("/accounts/login/"), username="cto", password="wrong-password") is None
    cto = User.objects.get(username="cto")
    assert cto.groups.filter(name=GlobalRole.EXECUTIVE).exists()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff


def test_seed_demo_runs_once_and_reset_rebuilds_the_same_portfolio(seeded):
    keys_before = list(Initiative.objects.order_by("key").values_list("key", "name", "stage"))
    measurements_before = Measurement.objects.count()

    call_command("seed_demo", verbosity=0)
    assert Initiative.objects.count() == 60
    assert Measurement.objects.count() == measurements_before

    call_command("seed_demo", reset=True, verbosity=0)
    assert list(Initiative.objects.order_by("key").values_list("key", "name", "stage")) == keys_before
    assert User.objects.filter(username__in=demo_data.USERNAMES).count() == len(demo_data.USERS)
