"""One FilterSet for the audit log page, its CSV export and the API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from apps.accounts.models import User
from apps.audit.choices import EventKind
from apps.audit.models import AuditEvent
from apps.portfolio.models import Initiative


class AuditEventFilterSet(django_filters.FilterSet):
    """Filter events by kind, action, table, actor, initiative and time."""

    kind = django_filters.ChoiceFilter(choices=EventKind.choices)
    action = django_filters.CharFilter()
    table = django_filters.CharFilter(field_name="table_name")
    actor = django_filters.CharFilter(method="filter_actor", label="Actor (username)")
    initiative = django_filters.CharFilter(method="filter_initiative", label="Initiative key")
    request_id = django_filters.CharFilter()
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["kind", "action", "table", "actor", "initiative", "request_id", "occurred_after", "occurred_before"]

    def filter_actor(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(actor_id__in=User.objects.filter(username=value.strip()).values("pk"))

    def filter_initiative(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(initiative_id__in=Initiative.objects.filter(key=value.strip().upper()).values("pk"))
