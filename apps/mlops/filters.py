"""FilterSets shared by the MLOps HTML lists and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from apps.mlops.choices import AlertStatus, LinkKind, RuleKind, RunStatus, Severity
from apps.mlops.models import Alert, ModelLink, ModelVersion, MonitoringRule, RegisteredModel, Run
from apps.mlops.selectors import production_aliases


class _InitiativeKeyFilterSet(django_filters.FilterSet):
    initiative = django_filters.CharFilter(field_name="initiative__key", lookup_expr="iexact",
                                           label="Initiative key")


class RunFilterSet(_InitiativeKeyFilterSet):
    """Runs by initiative, connection, MLflow experiment id, status and start time."""

    connection = django_filters.NumberFilter(field_name="connection_id")
    experiment = django_filters.CharFilter(field_name="experiment__experiment_id", label="MLflow experiment id")
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices)
    started_after = django_filters.IsoDateTimeFilter(field_name="start_time", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="start_time", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(fields=(("start_time", "start_time"), ("end_time", "end_time"),
                                                     ("name", "name")))

    class Meta:
        model = Run
        fields = ["initiative", "connection", "experiment", "status", "started_after", "started_before"]


class RegisteredModelFilterSet(_InitiativeKeyFilterSet):
    """Registered models by initiative, connection, alias, name and whether they belong to any initiative."""

    connection = django_filters.NumberFilter(field_name="connection_id")
    alias = django_filters.CharFilter(method="filter_alias", label="Holds this alias")
    production = django_filters.BooleanFilter(method="filter_production",
                                              label="Holds a production alias (production / champion)")
    linked = django_filters.BooleanFilter(field_name="initiative", lookup_expr="isnull", exclude=True,
                                          label="Belongs to an initiative")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name contains")

    class Meta:
        model = RegisteredModel
        fields = ["initiative", "connection", "alias", "production", "linked", "q"]

    def filter_alias(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(aliases__has_key=value) if value else queryset

    def filter_production(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = Q()
        for alias in production_aliases():
            condition |= Q(aliases__has_key=alias)
        return queryset.filter(condition) if value else queryset.exclude(condition)


class ModelVersionFilterSet(django_filters.FilterSet):
    """Model versions by registered model, initiative and alias."""

    registered_model = django_filters.NumberFilter(field_name="registered_model_id")
    model_name = django_filters.CharFilter(field_name="registered_model__name")
    initiative = django_filters.CharFilter(field_name="registered_model__initiative__key", lookup_expr="iexact",
                                           label="Initiative key")
    alias = django_filters.CharFilter(method="filter_alias", label="Holds this alias")

    class Meta:
        model = ModelVersion
        fields = ["registered_model", "model_name", "initiative", "alias"]

    def filter_alias(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(aliases__contains=[value]) if value else queryset


class ModelLinkFilterSet(_InitiativeKeyFilterSet):
    connection = django_filters.NumberFilter(field_name="connection_id")
    kind = django_filters.ChoiceFilter(choices=LinkKind.choices)

    class Meta:
        model = ModelLink
        fields = ["initiative", "connection", "kind"]


class MonitoringRuleFilterSet(_InitiativeKeyFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=RuleKind.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = MonitoringRule
        fields = ["initiative", "kind", "active"]


class AlertFilterSet(_InitiativeKeyFilterSet):
    """Alerts by status (default in the UI: open and acknowledged), severity and initiative."""

    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    active = django_filters.BooleanFilter(method="filter_active", label="Open or acknowledged")

    class Meta:
        model = Alert
        fields = ["initiative", "status", "severity", "active"]

    def filter_active(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        resolved = Q(status=AlertStatus.RESOLVED)
        return queryset.exclude(resolved) if value else queryset.filter(resolved)
