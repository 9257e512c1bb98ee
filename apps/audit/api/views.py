"""Audit events API: read-only, filterable, scoped like everything else, cursor-paginated (newest first)."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.pagination import CursorPagination

from apps.audit.api.serializers import AuditEventOutputSerializer
from apps.audit.filters import AuditEventFilterSet
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_event_list
from apps.core.api.schema import DETAIL_ERRORS, FILTERED_LIST_ERRORS, error_responses


class AuditEventPagination(CursorPagination):
    ordering = "-seq"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema_view(
    list=extend_schema(
        summary="List audit events",
        description="Newest first. Auditors and portfolio admins see the whole trail; everyone else sees the data "
                    "events of the business units they may see. Cursor-paginated: follow `next`.",
        responses={200: AuditEventOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get one audit event by sequence number",
        responses={200: AuditEventOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    ),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventOutputSerializer
    pagination_class = AuditEventPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilterSet
    lookup_field = "seq"
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_event_list(user=self.request.user)
