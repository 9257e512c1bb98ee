"""FilterSets shared by the HTML portfolio list and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from apps.accounts.models import BusinessUnit, User
from apps.portfolio.choices import AIType, Priority, RiskTier, Stage
from apps.portfolio.models import Initiative
from apps.portfolio.selectors import purgatory_q

SORTS = (
    ("key", "key"),
    ("name", "name"),
    ("business_unit__name", "unit"),
    ("stage", "stage"),
    ("stage_entered_at", "stage_entered"),
    ("priority", "priority"),
    ("impact_score", "impact"),
    ("updated_at", "updated"),
)


# Stage and priority sort by their rank, not alphabetically.
RANKS = {
    "stage": [*Stage.values],
    "priority": [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL],
}


def _rank(field: str) -> Case:
    return Case(*(When(**{field: value}, then=Value(i)) for i, value in enumerate(RANKS[field])),
                output_field=IntegerField())


class RankedOrderingFilter(django_filters.OrderingFilter):
    """OrderingFilter that orders ranked fields (stage, priority) by rank, always with the key as a tiebreaker."""

    def filter(self, qs: QuerySet, value) -> QuerySet:
        if not value:
            return qs
        ordering = []
        for param in value:
            descending = param.startswith("-")
            field = self.param_map.get(param.lstrip("-"), param.lstrip("-"))
            if field in RANKS:
                qs = qs.annotate(**{f"{field}_rank": _rank(field)})
                field = f"{field}_rank"
            ordering.append(f"-{field}" if descending else field)
        return qs.order_by(*ordering, "key")


class InitiativeFilterSet(django_filters.FilterSet):
    """Filter initiatives by unit (including sub-units), stage, AI type, owner, purgatory and free text."""

    q = django_filters.CharFilter(method="filter_text", label="Search")
    business_unit = django_filters.ModelChoiceFilter(
        queryset=BusinessUnit.objects.all(), to_field_name="slug", method="filter_unit", label="Business unit"
    )
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices)
    ai_type = django_filters.MultipleChoiceFilter(choices=AIType.choices, label="AI type")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    risk_tier = django_filters.MultipleChoiceFilter(choices=RiskTier.choices, label="Risk tier")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.filter(is_active=True), to_field_name="username")
    purgatory = django_filters.BooleanFilter(method="filter_purgatory", label="In pilot purgatory")
    ordering = RankedOrderingFilter(fields=SORTS)

    class Meta:
        model = Initiative
        fields = ["q", "business_unit", "stage", "ai_type", "priority", "risk_tier", "owner", "purgatory"]

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(key__iexact=value) | Q(name__icontains=value) | Q(business_problem__icontains=value))

    def filter_unit(self, queryset: QuerySet, name: str, value: BusinessUnit | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(business_unit__path__startswith=value.path)

    def filter_purgatory(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(purgatory_q()) if value else queryset.exclude(purgatory_q())
