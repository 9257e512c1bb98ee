"""Reads for KPIs and measurements, scoped by restrict()."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from apps.core.access import get_restricted_or_404, restrict
from apps.kpis.calculations import KPIStatus, kpi_status
from apps.kpis.models import KPI, Measurement


def _latest(field: str) -> Subquery:
    return Subquery(Measurement.objects.filter(kpi=OuterRef("pk")).order_by("-date").values(field)[:1])


def kpi_list(*, user, initiative_id: int | None = None) -> QuerySet[KPI]:
    """KPIs the user may see, each annotated with its latest measurement (latest_value, latest_date)."""
    queryset = KPI.objects.select_related("initiative")
    if initiative_id is not None:
        queryset = queryset.filter(initiative_id=initiative_id)
    return restrict(queryset, user, "view").annotate(latest_value=_latest("value"), latest_date=_latest("date"))


def kpi_status_of(kpi: KPI) -> KPIStatus:
    """Progress, on-track status and realized value of a KPI annotated by kpi_list()."""
    return kpi_status(
        direction=kpi.direction, baseline=kpi.baseline_value, baseline_date=kpi.baseline_date,
        target=kpi.target_value, target_date=kpi.target_date, value_per_unit=kpi.value_per_unit,
        current=getattr(kpi, "latest_value", None), current_date=getattr(kpi, "latest_date", None),
    )


def measurement_list(*, user, kpi_ids: list[int] | None = None) -> QuerySet[Measurement]:
    """Measurements the user may see, oldest first per KPI."""
    queryset = Measurement.objects.all()
    if kpi_ids is not None:
        queryset = queryset.filter(kpi_id__in=kpi_ids)
    return restrict(queryset, user, "view").order_by("kpi_id", "date")


def kpi_get(*, user, pk: int, action: str = "view") -> KPI:
    """One KPI by id within the user's scope, with its initiative and unit, or 404."""
    return get_restricted_or_404(
        KPI.objects.select_related("initiative__business_unit", "initiative__owner"), user, action, pk=pk
    )
