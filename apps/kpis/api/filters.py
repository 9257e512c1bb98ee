"""FilterSets for the KPI and measurement API lists."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from apps.kpis.models import KPI, Measurement


class KPIFilterSet(django_filters.FilterSet):
    initiative = django_filters.CharFilter(method="filter_initiative", help_text="Initiative key, e.g. AI-042.")

    class Meta:
        model = KPI
        fields = ["initiative"]

    def filter_initiative(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(initiative__key=value.strip().upper())


class MeasurementFilterSet(django_filters.FilterSet):
    kpi = django_filters.NumberFilter(field_name="kpi_id", help_text="KPI id.")
    date = django_filters.DateFromToRangeFilter(
        help_text="`date_after` and `date_before` (YYYY-MM-DD), both inclusive."
    )

    class Meta:
        model = Measurement
        fields = ["kpi", "date"]
