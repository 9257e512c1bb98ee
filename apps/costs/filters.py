"""FilterSets for cost data, shared by the HTML cost explorer and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.accounts.models import BusinessUnit
from apps.costs.models import CostAllocation, CostDaily, CostImport, CostRecord, CostSource


class CostDailyFilterSet(django_filters.FilterSet):
    """Filter the daily rollup: dates, initiative, business unit (with sub-units), provider, service, source,
    sub-account, charge category and whether the cost is allocated."""

    date_from = django_filters.DateFilter(field_name="day", lookup_expr="gte", label="From")
    date_to = django_filters.DateFilter(field_name="day", lookup_expr="lte", label="To")
    initiative = django_filters.CharFilter(method="filter_initiative", label="Initiative key")
    business_unit = django_filters.ModelChoiceFilter(
        queryset=BusinessUnit.objects.all(), to_field_name="slug", method="filter_unit", label="Business unit",
    )
    provider = django_filters.CharFilter(field_name="provider_name", lookup_expr="iexact")
    service = django_filters.CharFilter(field_name="service_name", lookup_expr="icontains")
    source = django_filters.ModelChoiceFilter(queryset=CostSource.objects.all())
    sub_account = django_filters.CharFilter(field_name="sub_account_id")
    charge_category = django_filters.CharFilter(field_name="charge_category")
    allocation = django_filters.ChoiceFilter(
        choices=[("allocated", "Allocated"), ("unallocated", "Unallocated")], method="filter_allocation",
    )

    class Meta:
        model = CostDaily
        fields = ["date_from", "date_to", "initiative", "business_unit", "provider", "service", "source",
                  "sub_account", "charge_category", "allocation"]

    def filter_initiative(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().upper()
        return queryset.filter(initiative__key=value) if value else queryset

    def filter_unit(self, queryset: QuerySet, name: str, value: BusinessUnit | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(Q(initiative__business_unit__path__startswith=value.path)
                               | Q(business_unit__path__startswith=value.path))

    def filter_allocation(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        unallocated = Q(initiative__isnull=True, business_unit__isnull=True)
        if value == "unallocated":
            return queryset.filter(unallocated)
        if value == "allocated":
            return queryset.exclude(unallocated)
        return queryset


class CostRecordFilterSet(django_filters.FilterSet):
    """Filter FOCUS line items: charge dates, source, import, provider, service, sub-account, resource-id prefix,
    currency, charge category, initiative (any share allocated to it) and tag."""

    date_from = django_filters.DateFilter(method="filter_from", help_text="Charge periods starting on or after.")
    date_to = django_filters.DateFilter(method="filter_to", help_text="Charge periods starting on or before.")
    source = django_filters.NumberFilter(field_name="source_id")
    cost_import = django_filters.NumberFilter(field_name="cost_import_id")
    provider = django_filters.CharFilter(field_name="provider_name", lookup_expr="iexact")
    service = django_filters.CharFilter(field_name="service_name", lookup_expr="iexact")
    sub_account = django_filters.CharFilter(field_name="sub_account_id")
    resource_prefix = django_filters.CharFilter(field_name="resource_id", lookup_expr="startswith")
    currency = django_filters.CharFilter(field_name="billing_currency", lookup_expr="iexact")
    charge_category = django_filters.CharFilter(field_name="charge_category")
    initiative = django_filters.CharFilter(method="filter_initiative", help_text="Initiative key, e.g. AI-042.")
    tag = django_filters.CharFilter(method="filter_tag", help_text="key=value, or key alone for any value.")

    class Meta:
        model = CostRecord
        fields = ["date_from", "date_to", "source", "cost_import", "provider", "service", "sub_account",
                  "resource_prefix", "currency", "charge_category", "initiative", "tag"]

    def filter_from(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(charge_period_start__date__gte=value)

    def filter_to(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(charge_period_start__date__lte=value)

    def filter_initiative(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        key = value.strip().upper()
        if not key:
            return queryset
        shares = CostAllocation.objects.filter(dimension_id=OuterRef("dimension_id"), initiative__key=key)
        return queryset.filter(Exists(shares))

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        key, has_value, tag_value = value.partition("=")
        key = key.strip()
        if not key:
            return queryset
        if has_value:
            return queryset.filter(dimension__tags__contains={key: tag_value.strip()})
        return queryset.filter(dimension__tags__has_key=key)


class CostImportFilterSet(django_filters.FilterSet):
    source = django_filters.NumberFilter(field_name="source_id")
    status = django_filters.CharFilter(field_name="status")

    class Meta:
        model = CostImport
        fields = ["source", "status"]
