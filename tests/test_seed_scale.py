"""seed_scale writes a valid portfolio: the counts asked for and every invariant the services enforce."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.choices import GlobalRole
from apps.accounts.models import BusinessUnit, User
from apps.kpis.models import KPI, Measurement
from apps.portfolio.choices import Stage
from apps.portfolio.models import Initiative, StageTransition
from apps.portfolio.selectors import portfolio_overview, purgatory_q
from apps.portfolio.services import initiative_transition
from apps.portfolio.stages import check_move
from tests.factories import make_admin, make_initiative, make_unit, make_user

pytestmark = pytest.mark.django_db

N = 30


def seed(**options) -> None:
    call_command("seed_scale", initiatives=N, reset=True, verbosity=0, **options)


def test_seed_scale_writes_the_requested_counts():
    # given an empty portfolio / when seeding 30 initiatives with the default shape
    seed()
    # then 30 initiatives, 4 KPIs each, 100 measurements per KPI, 3-5 transitions each, 50 units, 300 users
    assert Initiative.objects.count() == N
    assert KPI.objects.count() == N * 4
    assert Measurement.objects.count() == N * 4 * 100
    per_initiative = Initiative.objects.annotate(moves=Count("transitions")).values_list("moves", flat=True)
    assert min(per_initiative) >= 3 and max(per_initiative) <= 5
    assert BusinessUnit.objects.filter(slug__startswith="scale-").count() == 50
    assert User.objects.filter(username__startswith="scale-").count() == 300


def test_seed_scale_honours_the_size_options():
    # when seeding with smaller KPI and measurement counts
    seed(kpis_per=2, measurements_per=7, units=5, users=10)
    # then the counts follow the options
    assert KPI.objects.count() == N * 2
    assert Measurement.objects.count() == N * 2 * 7
    assert BusinessUnit.objects.filter(slug__startswith="scale-").count() == 5
    assert set(Initiative.objects.values_list("owner__username", flat=True)) <= {
        f"scale-user-{i:04d}" for i in range(1, 11)
    }


def test_seed_scale_keys_are_unique_and_well_formed():
    seed()
    keys = list(Initiative.objects.values_list("key", flat=True))
    assert len(set(keys)) == N
    assert all(re.fullmatch(r"AI-\d{5}", key) for key in keys)
    assert sorted(keys) == [f"AI-{i:05d}" for i in range(1, N + 1)]


def test_seed_scale_keys_continue_after_existing_initiatives():
    # given a hand-made initiative AI-007 in another unit
    admin = make_admin(username="admin")
    make_initiative(actor=admin, unit=make_unit("Claims"), key="AI-007")
    # when seeding
    seed()
    # then generated keys start after it and the existing initiative is untouched
    assert Initiative.objects.filter(key="AI-007").exists()
    assert Initiative.objects.filter(key="AI-00008").exists()
    assert Initiative.objects.count() == N + 1


def test_seed_scale_transitions_follow_the_stage_rules():
    seed()
    now = timezone.now()
    for initiative in Initiative.objects.all():
        moves = list(initiative.transitions.order_by("at", "id"))
        # the first move opens the initiative in idea; every later one is legal with its recorded decision
        assert (moves[0].from_stage, moves[0].to_stage, moves[0].decision) == ("", Stage.IDEA, "advance")
        paused_from = None
        for previous, move in zip(moves, moves[1:], strict=False):
            assert move.from_stage == previous.to_stage
            assert move.at > previous.at
            assert check_move(move.from_stage, move.to_stage, move.decision, paused_from) == move.decision
            paused_from = move.from_stage if move.to_stage == Stage.ON_HOLD else paused_from
        # the last move is the current stage, entered when it was recorded, never in the future
        assert initiative.stage == moves[-1].to_stage
        assert initiative.stage_entered_at == moves[-1].at
        assert moves[-1].at <= now
        assert all(move.rationale and move.by_id == initiative.owner_id for move in moves)
        # key dates are stamped like initiative_transition stamps them: the first entry into each stage
        first_entry = {}
        for move in moves:
            first_entry.setdefault(move.to_stage, timezone.localdate(move.at))
        assert initiative.pilot_started_on == first_entry.get(Stage.PILOT)
        assert initiative.production_on == first_entry.get(Stage.PRODUCTION)
        assert initiative.retired_on == first_entry.get(Stage.RETIRED)
        assert initiative.started_on == first_entry.get(Stage.DISCOVERY)


def test_seed_scale_spreads_initiatives_over_stages_with_pilots_in_purgatory():
    call_command("seed_scale", initiatives=400, kpis_per=0, reset=True, verbosity=0)
    stages = set(Initiative.objects.values_list("stage", flat=True))
    assert stages == set(Stage.values)
    pilots = Initiative.objects.filter(stage=Stage.PILOT)
    in_purgatory = pilots.filter(purgatory_q()).count()
    assert 0 < in_purgatory < pilots.count()


def test_seed_scale_kpis_have_targets_after_and_beyond_their_baselines():
    seed()
    for kpi in KPI.objects.all():
        assert kpi.target_date > kpi.baseline_date
        if kpi.direction == "up":
            assert kpi.target_value > kpi.baseline_value
        else:
            assert kpi.target_value < kpi.baseline_value
    names = KPI.objects.values("initiative", "name").annotate(n=Count("id")).aggregate(most=Max("n"))
    assert names["most"] == 1


def test_seed_scale_measurements_are_one_per_kpi_and_day_and_never_in_the_future():
    seed()
    today = timezone.localdate()
    assert Measurement.objects.filter(date__gt=today).count() == 0
    duplicates = Measurement.objects.values("kpi", "date").annotate(n=Count("id")).filter(n__gt=1)
    assert duplicates.count() == 0
    kpi = KPI.objects.first()
    dates = list(kpi.measurements.order_by("date").values_list("date", flat=True))
    assert dates[0] > kpi.baseline_date
    assert dates[-1] >= today - timedelta(days=6)


def test_seed_scale_units_form_a_tree_with_materialised_paths():
    seed()
    for unit in BusinessUnit.objects.filter(slug__startswith="scale-").select_related("parent"):
        expected = f"{unit.parent.path if unit.parent else '/'}{unit.pk}/"
        assert unit.path == expected
    assert Initiative.objects.filter(business_unit__parent__isnull=True).count() == 0


def test_seed_scale_reset_replaces_the_generated_data():
    # given a generated portfolio
    seed()
    first_ids = set(Initiative.objects.values_list("id", flat=True))
    # when seeding again with --reset
    seed()
    # then the same counts, new rows, and no leftovers
    assert Initiative.objects.count() == N
    assert Measurement.objects.count() == N * 4 * 100
    assert not first_ids & set(Initiative.objects.values_list("id", flat=True))
    assert User.objects.filter(username__startswith="scale-").count() == 300


def test_seed_scale_without_reset_refuses_to_add_a_second_generated_portfolio():
    seed()
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_scale", initiatives=5, verbosity=0)
    assert Initiative.objects.count() == N


def test_seed_scale_reset_keeps_hand_made_initiatives():
    # given a hand-made initiative next to generated ones
    admin = make_admin(username="admin")
    own = make_initiative(actor=admin, unit=make_unit("Claims"), key="AI-001")
    seed()
    # when re-seeding
    seed()
    # then the hand-made initiative and its opening transition survive
    assert Initiative.objects.filter(pk=own.pk).exists()
    assert StageTransition.objects.filter(initiative=own).count() == 1
    assert Initiative.objects.count() == N + 1


def test_seed_scale_restores_foreign_keys_and_audit_triggers():
    seed()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'kpis_measurement'::regclass"
        )
        (foreign_keys,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'")
        (disabled,) = cursor.fetchone()
    assert foreign_keys == 2  # kpi and recorded_by
    assert disabled == 0


def test_generated_initiatives_accept_moves_through_the_service():
    # given a generated pilot
    seed()
    pilot = Initiative.objects.filter(stage=Stage.PILOT).first()
    admin = make_admin(username="admin")
    # when it advances through the real service
    initiative_transition(actor=admin, initiative=pilot, to_stage=Stage.PRODUCTION, rationale="Gate passed.")
    # then the move is recorded after the generated history
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PRODUCTION
    assert pilot.transitions.order_by("-at").first().to_stage == Stage.PRODUCTION


def _overview_queries(user) -> tuple[int, int]:
    user = User.objects.get(pk=user.pk)  # a fresh object: the access scope is cached on the instance
    with CaptureQueriesContext(connection) as captured:
        overview = portfolio_overview(user=user)
    return len(captured.captured_queries), overview.purgatory_count


def test_overview_query_count_does_not_depend_on_how_many_pilots_are_in_purgatory():
    # given an executive, and portfolios with fewer and with more purgatory pilots than the list shows (25)
    executive = make_user(role=GlobalRole.EXECUTIVE, username="exec")
    call_command("seed_scale", initiatives=20, kpis_per=0, reset=True, verbosity=0)
    few_queries, few = _overview_queries(executive)
    call_command("seed_scale", initiatives=400, kpis_per=0, reset=True, verbosity=0)
    many_queries, many = _overview_queries(executive)
    # then the counts are right and the number of queries is the same
    assert few < 25 < many
    assert many == Initiative.objects.filter(purgatory_q()).count()
    assert few_queries == many_queries
