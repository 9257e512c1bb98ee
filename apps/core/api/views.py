"""Read-only API over background jobs, so integrations can poll what they started."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from apps.core.api.schema import DETAIL_ERRORS, LIST_ERRORS, error_responses
from apps.core.api.serializers import JobOutputSerializer
from apps.core.models import Job
from apps.core.selectors import job_list


@extend_schema_view(
    list=extend_schema(
        summary="List background jobs",
        description="Portfolio admins see every job; everyone else the jobs they started. Newest first.",
        responses={200: JobOutputSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get one background job (poll it for progress)",
        responses={200: JobOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    ),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = JobOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Job]:
        return job_list(user=self.request.user)
