"""Reads for cloud costs, scoped to what the user may see.

Cost follows initiative visibility: cost allocated to an initiative is visible to whoever may see the initiative
(restrict() on Initiative, guardian grants included); cost allocated straight to a business unit to readers of that
unit; unallocated cost only to executives and portfolio admins. Sources, imports and allocation rules (which expose
unallocated cost) follow the same rule as unallocated cost. Aggregation happens in SQL over the daily rollup.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import BusinessUnit
from apps.accounts.selectors import business_unit_list, user_access_scope
from apps.core.access import restrict
from apps.costs.models import (
    AllocationRule,
    CostAllocation,
    CostDaily,
    CostImport,
    CostImportError,
    CostMonthly,
    CostRecord,
    CostSource,
    FxRate,
)
from apps.costs.services import can_see_unallocated
from apps.kpis.selectors import kpi_list, kpi_status_of
from apps.portfolio.models import Initiative
from apps.portfolio.selectors import initiative_list

ZERO = Decimal(0)
RUN_RATE_MONTHS = 3
PAYBACK_HORIZON_MONTHS = 120


# --- visibility --------------------------------------------------------------------------------------------------


def cost_visibility_q(*, user) -> Q | None:
    """Rows with initiative_id / business_unit_id the user may see (None: everything)."""
    scope = user_access_scope(user=user)
    unallocated = Q(initiative_id__isnull=True, business_unit_id__isnull=True)
    if scope.read_all:
        return None if can_see_unallocated(user) else ~unallocated
    visible = Q(initiative_id__in=restrict(Initiative.objects.all(), user, "view").values("id"))
    if scope.read_units:
        visible |= Q(initiative_id__isnull=True, business_unit_id__in=sorted(scope.read_units))
    return visible


def cost_daily_list(*, user) -> QuerySet[CostDaily]:
    """Daily rollup rows the user may see."""
    condition = cost_visibility_q(user=user)
    queryset = CostDaily.objects.all()
    return queryset if condition is None else queryset.filter(condition)


def cost_monthly_list(*, user) -> QuerySet[CostMonthly]:
    """Monthly rollup rows the user may see."""
    condition = cost_visibility_q(user=user)
    queryset = CostMonthly.objects.all()
    return queryset if condition is None else queryset.filter(condition)


def _visible_allocations(user) -> QuerySet[CostAllocation]:
    condition = cost_visibility_q(user=user)
    queryset = CostAllocation.objects.select_related("initiative", "business_unit")
    return queryset if condition is None else queryset.filter(condition)


def cost_record_list(*, user) -> QuerySet[CostRecord]:
    """Line items the user may see (any share of them allocated to something visible), newest first, with their
    dimension and the allocations the user may see."""
    queryset = CostRecord.objects.select_related("dimension").prefetch_related(
        Prefetch("dimension__allocations", queryset=_visible_allocations(user).order_by("-share", "id"),
                 to_attr="visible_allocations")
    )
    condition = cost_visibility_q(user=user)
    if condition is not None:
        allowed = CostAllocation.objects.filter(condition, dimension_id=OuterRef("dimension_id"))
        queryset = queryset.filter(Exists(allowed))
    return queryset.order_by("-id")


def cost_record_get(*, user, pk: int) -> CostRecord:
    """One visible line item, or 404."""
    return get_object_or_404(cost_record_list(user=user), pk=pk)


def _require_cost_reader(user) -> bool:
    return can_see_unallocated(user)


def cost_source_list(*, user) -> QuerySet[CostSource]:
    """Cost sources, for executives and portfolio admins (others see none), with their import counts."""
    queryset = CostSource.objects.annotate(import_count=Count("imports")).order_by("name")
    return queryset if _require_cost_reader(user) else queryset.none()


def cost_source_get(*, user, pk: int) -> CostSource:
    """One cost source, or 404."""
    return get_object_or_404(cost_source_list(user=user), pk=pk)


def cost_import_list(*, user, source: CostSource | None = None) -> QuerySet[CostImport]:
    """Imports (newest first) with their source and job, for executives and portfolio admins."""
    queryset = CostImport.objects.select_related("source", "job__requested_by", "requested_by")
    if source is not None:
        queryset = queryset.filter(source=source)
    return queryset if _require_cost_reader(user) else queryset.none()


def cost_import_get(*, user, pk: int) -> CostImport:
    """One import, or 404."""
    return get_object_or_404(cost_import_list(user=user), pk=pk)


def cost_import_error_list(*, user, cost_import: CostImport) -> QuerySet[CostImportError]:
    """The row-level errors of an import, in file and line order."""
    if not _require_cost_reader(user):
        raise Http404
    return CostImportError.objects.filter(cost_import=cost_import).order_by("file", "line", "id")


def allocation_rule_list(*, user) -> QuerySet[AllocationRule]:
    """Allocation rules in the order they apply, for executives and portfolio admins."""
    queryset = AllocationRule.objects.select_related("initiative", "business_unit").order_by("priority", "id")
    return queryset if _require_cost_reader(user) else queryset.none()


def allocation_rule_get(*, user, pk: int) -> AllocationRule:
    """One allocation rule, or 404."""
    return get_object_or_404(allocation_rule_list(user=user), pk=pk)


def fx_rate_list(*, user) -> QuerySet[FxRate]:
    """FX rates (reference data every signed-in user may read), by currency then newest first."""
    return FxRate.objects.all().order_by("currency", "-valid_from") if user.is_authenticated else FxRate.objects.none()


def fx_rate_get(*, user, pk: int) -> FxRate:
    """One FX rate, or 404."""
    return get_object_or_404(fx_rate_list(user=user), pk=pk)


# --- money arithmetic (pure) -------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def run_rate(*, first_day: date | None, window_cost: Decimal, month_to_date: Decimal, today: date) -> Decimal:
    """Monthly run rate: the average of the last RUN_RATE_MONTHS complete months (only those since costs began);
    before a first complete month, this month's cost so far scaled to the whole month."""
    if first_day is None:
        return ZERO
    current = month_start(today)
    window_start = add_months(current, -RUN_RATE_MONTHS)
    first_month = month_start(first_day)
    months = sum(1 for offset in range(RUN_RATE_MONTHS)
                 if add_months(window_start, offset) >= first_month)
    if months:
        return window_cost / months
    days = calendar.monthrange(today.year, today.month)[1]
    return month_to_date * days / max(1, today.day)


def roi(*, value: Decimal | None, cost: Decimal) -> Decimal | None:
    """(value − cost) / cost; None without cost or without a value."""
    if value is None or not cost:
        return None
    return (value - cost) / cost


def payback_month(*, monthly_costs: list[tuple[date, Decimal]], value: Decimal | None, value_date: date | None,
                  rate: Decimal) -> date | None:
    """The first month in which cumulative value covers cumulative cost.

    Value is known only as a level (KPI realized value) at `value_date`; it is taken to have accrued evenly from the
    first month with cost up to then and to continue at that pace. Cost is actual, then projected at the monthly
    run rate. None when there is no value, or it would not pay back within ten years.
    """
    if not monthly_costs or value is None or value <= 0 or value_date is None:
        return None
    first = monthly_costs[0][0]
    elapsed = max(1, (value_date.year - first.year) * 12 + value_date.month - first.month + 1)
    value_rate = value / elapsed
    by_month = dict(monthly_costs)
    last = monthly_costs[-1][0]
    cumulative_cost = ZERO
    for index in range(PAYBACK_HORIZON_MONTHS):
        month = add_months(first, index)
        cumulative_cost += by_month.get(month, ZERO) if month <= last else rate
        if cumulative_cost > 0 and value_rate * (index + 1) >= cumulative_cost:
            return month
    return None


def _realized(kpis) -> tuple[Decimal | None, date | None]:
    values = [(kpi_status_of(kpi).realized_value, getattr(kpi, "latest_date", None)) for kpi in kpis]
    known = [(value, day) for value, day in values if value is not None]
    if not known:
        return None, None
    return sum((value for value, _ in known), ZERO), max((day for _, day in known if day), default=None)


# --- initiative financials ---------------------------------------------------------------------------------------


@dataclass
class MonthCost:
    month: date
    cost: Decimal
    cumulative: Decimal
    by_service: dict[str, Decimal]


@dataclass
class Financials:
    """What an initiative costs and returns, in the reporting currency."""

    initiative: Initiative
    currency: str
    cost_to_date: Decimal
    run_rate: Decimal
    budget: Decimal | None
    realized_value: Decimal | None
    value_date: date | None
    roi: Decimal | None
    payback_month: date | None
    months: list[MonthCost]
    services: list[tuple[str, Decimal]]
    first_day: date | None
    last_day: date | None
    unconverted_currencies: list[str] = field(default_factory=list)
    kpi_count: int = 0

    @property
    def budget_used(self) -> Decimal | None:
        """Burn: share of the budget spent so far."""
        return self.cost_to_date / self.budget if self.budget else None

    @property
    def budget_remaining(self) -> Decimal | None:
        return self.budget - self.cost_to_date if self.budget is not None else None

    @property
    def budget_exhausted_month(self) -> date | None:
        """When the budget runs out at the current run rate (None without budget, or when already spent)."""
        if not self.budget or self.run_rate <= 0 or self.last_day is None:
            return None
        remaining = self.budget - self.cost_to_date
        if remaining <= 0:
            return None
        months = int((remaining / self.run_rate).to_integral_value(rounding="ROUND_CEILING"))
        return add_months(month_start(self.last_day), months)

    @property
    def has_costs(self) -> bool:
        return self.first_day is not None

    @property
    def paid_back(self) -> bool:
        return self.payback_month is not None and self.payback_month <= month_start(timezone.localdate())


def initiative_financials(*, user, initiative: Initiative, today: date | None = None) -> Financials:
    """Cost to date, monthly run rate, budget and burn, realized value (from the KPI selectors), ROI, payback month
    and the monthly cost by service of one initiative the caller may see (get it with initiative_get first)."""
    today = today or timezone.localdate()
    current = month_start(today)
    window_start = add_months(current, -RUN_RATE_MONTHS)
    rows = list(
        CostMonthly.objects.filter(initiative=initiative)
        .values("month", "service_name")
        .annotate(amount=Sum("cost"), first=Min("first_day"), last=Max("last_day"),
                  unconverted=ArrayAgg("billing_currency", filter=Q(cost__isnull=True), distinct=True))
        .order_by("month", "service_name")
    )
    by_month: dict[date, dict[str, Decimal]] = defaultdict(dict)
    services: dict[str, Decimal] = defaultdict(Decimal)
    unconverted: set[str] = set()
    first_day = min((row["first"] for row in rows), default=None)
    last_day = max((row["last"] for row in rows), default=None)
    for row in rows:
        cost = row["amount"] or ZERO
        name = row["service_name"] or "(no service)"
        by_month[row["month"]][name] = by_month[row["month"]].get(name, ZERO) + cost
        services[name] += cost
        unconverted.update(currency for currency in row["unconverted"] or [] if currency)
    months: list[MonthCost] = []
    cumulative = ZERO
    for month in sorted(by_month):
        total = sum(by_month[month].values(), ZERO)
        cumulative += total
        months.append(MonthCost(month=month, cost=total, cumulative=cumulative, by_service=by_month[month]))
    window_cost = sum((item.cost for item in months if window_start <= item.month < current), ZERO)
    month_to_date = sum((item.cost for item in months if item.month == current), ZERO)
    rate = run_rate(first_day=first_day, window_cost=window_cost, month_to_date=month_to_date, today=today)
    kpis = list(kpi_list(user=user, initiative_id=initiative.pk))
    value, value_date = _realized(kpis)
    return Financials(
        initiative=initiative, currency=settings.REPORTING_CURRENCY, cost_to_date=cumulative, run_rate=rate,
        budget=initiative.budget, realized_value=value, value_date=value_date, roi=roi(value=value, cost=cumulative),
        payback_month=payback_month(monthly_costs=[(item.month, item.cost) for item in months], value=value,
                                    value_date=value_date, rate=rate),
        months=months, services=sorted(services.items(), key=lambda item: -item[1]), first_day=first_day,
        last_day=last_day, unconverted_currencies=sorted(unconverted), kpi_count=len(kpis),
    )


def initiative_ids_with_costs(*, initiative_ids: list[int]) -> set[int]:
    """Which of these initiatives have cost allocated to them (readiness checks; callers pass ids already scoped)."""
    return set(
        CostMonthly.objects.filter(initiative_id__in=initiative_ids).order_by()
        .values_list("initiative_id", flat=True).distinct()
    )


def costs_initiative_summary(*, user, initiative: Initiative) -> Financials:
    """The cost and ROI summary the initiative page embeds (templates/costs/_initiative_summary.html)."""
    return initiative_financials(user=user, initiative=initiative)


# --- portfolio ---------------------------------------------------------------------------------------------------


@dataclass
class InitiativeRow:
    initiative: Initiative
    cost: Decimal
    run_rate: Decimal
    value: Decimal | None

    @property
    def roi(self) -> Decimal | None:
        return roi(value=self.value, cost=self.cost)

    @property
    def budget_used(self) -> Decimal | None:
        budget = self.initiative.budget
        return self.cost / budget if budget else None


@dataclass
class UnitRow:
    unit: BusinessUnit
    cost: Decimal  # the unit and its sub-units: their initiatives plus cost allocated to the units directly
    direct: Decimal
    value: Decimal | None
    budget: Decimal
    initiatives: int

    @property
    def roi(self) -> Decimal | None:
        return roi(value=self.value, cost=self.cost)


@dataclass
class PortfolioFinancials:
    currency: str
    initiatives: list[InitiativeRow]
    units: list[UnitRow]
    cost: Decimal  # everything the user may see, unallocated included when they may see it
    allocated: Decimal
    value: Decimal | None
    budget: Decimal
    run_rate: Decimal
    unallocated: Decimal | None  # None: not shown to this user
    unconverted_currencies: list[str]

    @property
    def roi(self) -> Decimal | None:
        return roi(value=self.value, cost=self.allocated)


def portfolio_financials(*, user, today: date | None = None) -> PortfolioFinancials:
    """Cost, run rate, value and ROI per visible initiative with cost, rolled up per business unit (with sub-units)
    and for the portfolio; unallocated cost for executives and admins. A fixed number of queries at any size."""
    today = today or timezone.localdate()
    current = month_start(today)
    window_start = add_months(current, -RUN_RATE_MONTHS)
    monthly = cost_monthly_list(user=user)
    per_target = {
        (row["initiative_id"], row["business_unit_id"]): row
        for row in monthly.values("initiative_id", "business_unit_id").annotate(
            amount=Sum("cost"), first=Min("first_day"),
            window=Sum("cost", filter=Q(month__gte=window_start, month__lt=current)),
            mtd=Sum("cost", filter=Q(month__gte=current)),
        ).order_by()
    }
    unconverted = sorted(
        currency for currency in monthly.filter(cost__isnull=True).values_list("billing_currency", flat=True)
        .distinct().order_by() if currency
    )
    # ROI needs cost: the figures cover the initiatives with cost allocated to them (so the page stays light on a
    # portfolio of thousands where most have no cloud cost).
    with_cost = sorted(initiative_id for initiative_id, _ in per_target if initiative_id is not None)
    initiatives = list(initiative_list(user=user).filter(pk__in=with_cost).order_by("key"))
    values: dict[int, list] = defaultdict(list)
    for kpi in kpi_list(user=user).filter(initiative_id__in=with_cost):
        values[kpi.initiative_id].append(kpi)
    rows: list[InitiativeRow] = []
    for initiative in initiatives:
        data = per_target.get((initiative.pk, None))
        value, _ = _realized(values.get(initiative.pk, []))
        cost = (data["amount"] or ZERO) if data else ZERO
        rate = run_rate(first_day=data["first"], window_cost=data["window"] or ZERO, month_to_date=data["mtd"] or ZERO,
                        today=today) if data else ZERO
        rows.append(InitiativeRow(initiative=initiative, cost=cost, run_rate=rate, value=value))
    direct: dict[int, Decimal] = defaultdict(Decimal)
    direct_rate = ZERO
    for (initiative_id, unit_id), data in per_target.items():
        if initiative_id is None and unit_id is not None:
            direct[unit_id] += data["amount"] or ZERO
            direct_rate += run_rate(first_day=data["first"], window_cost=data["window"] or ZERO,
                                    month_to_date=data["mtd"] or ZERO, today=today)
    unallocated_row = per_target.get((None, None))
    show_unallocated = can_see_unallocated(user)
    unallocated = ((unallocated_row["amount"] or ZERO) if unallocated_row else ZERO) if show_unallocated else None
    units = _unit_rows(user=user, rows=rows, direct=direct)
    allocated = sum((row.cost for row in rows), ZERO) + sum(direct.values(), ZERO)
    known_values = [row.value for row in rows if row.value is not None]
    return PortfolioFinancials(
        currency=settings.REPORTING_CURRENCY, initiatives=rows, units=units,
        cost=allocated + (unallocated or ZERO), allocated=allocated,
        value=sum(known_values, ZERO) if known_values else None,
        budget=sum((row.initiative.budget or ZERO for row in rows), ZERO),
        run_rate=sum((row.run_rate for row in rows), ZERO) + direct_rate, unallocated=unallocated,
        unconverted_currencies=unconverted,
    )


def _unit_rows(*, user, rows: list[InitiativeRow], direct: dict[int, Decimal]) -> list[UnitRow]:
    units = list(business_unit_list(user=user).order_by("path"))
    by_id = {unit.pk: unit for unit in units}
    own: dict[int, list[InitiativeRow]] = defaultdict(list)
    for row in rows:
        own[row.initiative.business_unit_id].append(row)
    result = []
    for unit in units:
        members = [row for unit_id, items in own.items() if unit_id in by_id
                   and by_id[unit_id].path.startswith(unit.path) for row in items]
        unit_direct = sum((amount for unit_id, amount in direct.items() if unit_id in by_id
                           and by_id[unit_id].path.startswith(unit.path)), ZERO)
        values = [row.value for row in members if row.value is not None]
        cost = sum((row.cost for row in members), ZERO) + unit_direct
        if not members and not unit_direct:
            continue
        result.append(UnitRow(unit=unit, cost=cost, direct=unit_direct, value=sum(values, ZERO) if values else None,
                              budget=sum((row.initiative.budget or ZERO for row in members), ZERO),
                              initiatives=len(members)))
    return result


# --- explorer ----------------------------------------------------------------------------------------------------

GROUPINGS = {
    "month": ("Month", "month"),
    "day": ("Day", "day"),
    "initiative": ("Initiative", "initiative__key"),
    "business_unit": ("Business unit", "unit_name"),
    "service": ("Service", "service_name"),
    "provider": ("Provider", "provider_name"),
    "sub_account": ("Sub-account", "sub_account_id"),
    "charge_category": ("Charge category", "charge_category"),
    "source": ("Source", "source__name"),
    "currency": ("Billing currency", "billing_currency"),
}


def cost_explorer_rows(*, queryset: QuerySet[CostDaily], group_by: list[str]) -> QuerySet:
    """Cost grouped by the chosen dimensions (see GROUPINGS), largest first: one SQL aggregate."""
    from django.db.models import F
    from django.db.models.functions import Coalesce

    group_by = [name for name in group_by if name in GROUPINGS] or ["month", "initiative"]
    annotations = {}
    if "month" in group_by:
        annotations["month"] = TruncMonth("day")
    if "business_unit" in group_by:
        annotations["unit_name"] = Coalesce(F("initiative__business_unit__name"), F("business_unit__name"))
    fields = [GROUPINGS[name][1] for name in group_by]
    ordering = [field_name for field_name in fields if field_name in ("month", "day")]
    return (
        queryset.annotate(**annotations).values(*fields)
        .annotate(amount=Sum("cost"), effective=Sum("effective_cost"), line_items=Sum("records"))
        .order_by(*ordering, F("amount").desc(nulls_last=True), *fields)
    )


def cost_explorer_total(*, queryset: QuerySet[CostDaily]) -> dict[str, Decimal | int | None]:
    """The total of the filtered rollup rows."""
    return queryset.aggregate(amount=Sum("cost"), line_items=Sum("records"), first=Min("day"), last=Max("day"))


def last_cost_day(*, user) -> date | None:
    """The most recent day with visible cost."""
    return cost_daily_list(user=user).aggregate(last=Max("day"))["last"]


def days_ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)
