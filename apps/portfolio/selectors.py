"""Reads for the portfolio, scoped by restrict(): lists, details and the overview figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import BusinessUnit
from apps.core.access import get_restricted_or_404, restrict
from apps.portfolio.choices import LIFECYCLE, Stage
from apps.portfolio.models import Initiative, StageTransition, StrategicObjective


def purgatory_cutoff(now: datetime | None = None) -> datetime:
    """Pilots entered before this moment are in pilot purgatory."""
    return (now or timezone.now()) - timedelta(days=settings.PILOT_PURGATORY_DAYS)


def purgatory_q(now: datetime | None = None) -> Q:
    """Initiatives in pilot for longer than PILOT_PURGATORY_DAYS."""
    return Q(stage=Stage.PILOT, stage_entered_at__lt=purgatory_cutoff(now))


def initiative_list(*, user) -> QuerySet[Initiative]:
    """Initiatives the user may see, with their unit and people joined (filter with InitiativeFilterSet)."""
    return restrict(
        Initiative.objects.select_related("business_unit", "owner", "sponsor", "technical_lead"), user, "view"
    )


def initiative_get(*, user, key: str, action: str = "view") -> Initiative:
    """One initiative by key within the user's scope, or 404."""
    return get_restricted_or_404(
        Initiative.objects.select_related("business_unit", "owner", "sponsor", "technical_lead"),
        user, action, key=key,
    )


def transition_list(*, user, initiative: Initiative) -> QuerySet[StageTransition]:
    """An initiative's stage moves, oldest first, with who made them."""
    return restrict(StageTransition.objects.filter(initiative=initiative).select_related("by"), user, "view")


def objective_list(*, user) -> QuerySet[StrategicObjective]:
    """Strategic objectives the user may see: company-wide ones and those of their units."""
    queryset = StrategicObjective.objects.select_related("business_unit", "owner").annotate(
        initiative_count=Count("initiatives", distinct=True)
    )
    visible = Q(business_unit__isnull=True) | Q(pk__in=restrict(queryset, user, "view").values("pk"))
    # Meta.ordering is not applied to GROUP BY queries, so order explicitly (stable pages).
    return queryset.filter(visible).order_by("title", "id")


@dataclass(frozen=True)
class UnitPilotDays:
    unit: BusinessUnit
    median_days: float
    initiatives: int


@dataclass(frozen=True)
class Overview:
    total: int
    stage_counts: dict[str, int]
    funnel: list[tuple[str, str, int]]  # (stage, label, initiatives that reached at least this stage)
    ever_pilot: int
    reached_production: int
    purgatory_count: int
    purgatory: list[Initiative]
    pilot_days_by_unit: list[UnitPilotDays]

    @property
    def conversion(self) -> float | None:
        """Share of initiatives that entered pilot and went on to production."""
        return self.reached_production / self.ever_pilot if self.ever_pilot else None


_PILOT_DAYS_SQL = """
WITH scoped AS ({scoped}),
t AS (
    SELECT st.initiative_id, st.to_stage, st.at,
           LEAD(st.at) OVER (PARTITION BY st.initiative_id ORDER BY st.at, st.id) AS next_at
    FROM portfolio_stagetransition st
    WHERE st.initiative_id IN (SELECT id FROM scoped)
),
p AS (
    SELECT initiative_id, SUM(EXTRACT(EPOCH FROM (COALESCE(next_at, %s) - at))) / 86400.0 AS days
    FROM t WHERE to_stage = 'pilot' GROUP BY initiative_id
)
SELECT i.business_unit_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY p.days), COUNT(*)
FROM p JOIN portfolio_initiative i ON i.id = p.initiative_id
GROUP BY i.business_unit_id
"""

_REACHED_SQL = """
WITH scoped AS ({scoped})
SELECT
    COUNT(DISTINCT initiative_id) FILTER (WHERE to_stage = 'pilot'),
    COUNT(DISTINCT initiative_id) FILTER (WHERE to_stage IN ('production', 'scaled')
        AND initiative_id IN (SELECT initiative_id FROM portfolio_stagetransition WHERE to_stage = 'pilot')),
    {reached_columns}
FROM portfolio_stagetransition WHERE initiative_id IN (SELECT id FROM scoped)
"""


def portfolio_overview(*, user, purgatory_limit: int = 25) -> Overview:
    """Stage counts, the lifecycle funnel, pilot-to-production conversion, median pilot days per unit and the
    purgatory list (oldest first) over the initiatives the user may see. A fixed number of queries at any size."""
    now = timezone.now()
    scoped = initiative_list(user=user)
    # The purgatory count rides on the stage-count query, so the query count does not depend on how many
    # initiatives are in purgatory.
    stage_rows = list(
        scoped.order_by().values("stage").annotate(n=Count("id"), stuck=Count("id", filter=purgatory_q(now)))
    )
    counts = {row["stage"]: row["n"] for row in stage_rows}
    stage_counts = {stage: counts.get(stage, 0) for stage in Stage.values}

    scoped_ids = restrict(Initiative.objects.all(), user, "view").values("id")
    try:
        scoped_sql, scoped_params = scoped_ids.query.sql_with_params()
    except EmptyResultSet:  # a user who may see nothing: the scope compiles to no SQL at all
        return Overview(
            total=0, stage_counts=stage_counts, funnel=[(stage.value, stage.label, 0) for stage in LIFECYCLE],
            ever_pilot=0, reached_production=0, purgatory_count=0, purgatory=[], pilot_days_by_unit=[],
        )
    reached_columns = ", ".join(
        f"COUNT(DISTINCT initiative_id) FILTER (WHERE to_stage IN ({', '.join(repr(s.value) for s in LIFECYCLE[i:])}))"
        for i in range(len(LIFECYCLE))
    )
    with connection.cursor() as cursor:
        cursor.execute(_REACHED_SQL.format(scoped=scoped_sql, reached_columns=reached_columns), scoped_params)
        ever_pilot, reached_production, *reached = cursor.fetchone()
        cursor.execute(_PILOT_DAYS_SQL.format(scoped=scoped_sql), [*scoped_params, now])
        pilot_rows = cursor.fetchall()
    funnel = [(stage.value, stage.label, reached[i]) for i, stage in enumerate(LIFECYCLE)]

    units = BusinessUnit.objects.in_bulk([row[0] for row in pilot_rows])
    pilot_days = sorted(
        (UnitPilotDays(units[unit_id], float(median), count) for unit_id, median, count in pilot_rows),
        key=lambda row: -row.median_days,
    )
    purgatory_qs = scoped.filter(purgatory_q(now)).order_by("stage_entered_at")
    purgatory = list(purgatory_qs[:purgatory_limit])
    purgatory_count = sum(row["stuck"] for row in stage_rows)
    return Overview(
        total=sum(stage_counts.values()), stage_counts=stage_counts, funnel=funnel, ever_pilot=ever_pilot,
        reached_production=reached_production, purgatory_count=purgatory_count, purgatory=purgatory,
        pilot_days_by_unit=pilot_days,
    )


def initiative_grant_list(*, user, initiative: Initiative) -> list:
    """Per-object grants on an initiative (user, access), for those who manage its access."""
    from apps.portfolio.models import InitiativeUserObjectPermission

    rows = (InitiativeUserObjectPermission.objects.filter(content_object=initiative)
            .select_related("user", "permission").order_by("user__username"))
    access: dict[int, tuple] = {}
    for row in rows:
        level = "change" if row.permission.codename == "change_initiative" else "view"
        current = access.get(row.user_id)
        if current is None or level == "change":
            access[row.user_id] = (row.user, level)
    return list(access.values())
