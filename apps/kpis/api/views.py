"""KPI and measurement API: KPIs with their computed status, and measurements one at a time or in bulk."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.schema import (
    CREATE_ERRORS,
    DETAIL_ERRORS,
    FILTERED_LIST_ERRORS,
    LIST_ERRORS,
    UPDATE_ERRORS,
    BulkErrorSerializer,
    ValidationErrorSerializer,
    error_responses,
)
from apps.kpis.api.filters import KPIFilterSet, MeasurementFilterSet
from apps.kpis.api.parsers import BulkJSONParser
from apps.kpis.api.serializers import (
    BulkCreatedSerializer,
    KPICreateInputSerializer,
    KPIInputSerializer,
    KPIOutputSerializer,
    MeasurementBulkInputSerializer,
    MeasurementInputSerializer,
    MeasurementOutputSerializer,
)
from apps.kpis.choices import KPISource
from apps.kpis.models import KPI, Measurement
from apps.kpis.selectors import kpi_list, measurement_list
from apps.kpis.services import BulkValidationError, kpi_create, kpi_update, measurement_record, measurements_record_bulk


@extend_schema_view(
    list=extend_schema(
        summary="List KPIs",
        description="KPIs of the initiatives you may see, each with its latest measurement and status.",
        responses={200: KPIOutputSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get one KPI with its status",
        responses={200: KPIOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    ),
    create=extend_schema(
        summary="Define a KPI for an initiative",
        request=KPICreateInputSerializer,
        responses={201: KPIOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    update=extend_schema(
        summary="Replace a KPI's definition",
        request=KPIInputSerializer,
        responses={200: KPIOutputSerializer, **error_responses(*UPDATE_ERRORS)},
    ),
    partial_update=extend_schema(
        summary="Change part of a KPI's definition",
        request=KPIInputSerializer,
        responses={200: KPIOutputSerializer, **error_responses(*UPDATE_ERRORS)},
    ),
)
class KPIViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = KPIOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = KPIFilterSet

    def get_queryset(self) -> QuerySet[KPI]:
        return kpi_list(user=self.request.user)

    def _output(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        kpi = self.get_queryset().get(pk=pk)
        return Response(KPIOutputSerializer(kpi).data, status=status_code)

    def create(self, request: Request) -> Response:
        serializer = KPICreateInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        kpi = kpi_create(actor=request.user, **serializer.validated_data)
        return self._output(kpi.pk, status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        kpi = self.get_object()
        serializer = KPIInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        kpi_update(actor=request.user, kpi=kpi, **serializer.validated_data)
        return self._output(kpi.pk)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)


@extend_schema_view(
    list=extend_schema(
        summary="List measurements",
        description="Measurements of the KPIs you may see, oldest first per KPI.",
        responses={200: MeasurementOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get one measurement",
        responses={200: MeasurementOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    ),
    create=extend_schema(
        summary="Record one measurement",
        description="A measurement for a day the KPI already has replaces it. Recorded with source `api`.",
        request=MeasurementInputSerializer,
        responses={201: MeasurementOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
)
class MeasurementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = MeasurementOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MeasurementFilterSet

    def get_queryset(self) -> QuerySet[Measurement]:
        return measurement_list(user=self.request.user).select_related("recorded_by")

    def create(self, request: Request) -> Response:
        serializer = MeasurementInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            measurement = measurement_record(actor=request.user, source=KPISource.API, **serializer.validated_data)
        except BulkValidationError as exc:
            # One row: report its errors per field, like any other single-object write.
            raise ValidationError({error.field: [error.message] for error in exc.row_errors}) from exc
        measurement = self.get_queryset().get(pk=measurement.pk)
        return Response(MeasurementOutputSerializer(measurement).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record many measurements at once, all or nothing",
        description="Up to MEASUREMENT_BULK_MAX (default 10,000) rows in one request (a JSON body of up to 1 KiB "
                    "per row). If any row is invalid, "
                    "nothing is written and the 400 names every bad row (1-based) and field. A row for a day the "
                    "KPI already has replaces that measurement.",
        request=MeasurementBulkInputSerializer,
        responses={
            201: BulkCreatedSerializer,
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="MeasurementBulkError",
                    serializers=[BulkErrorSerializer, ValidationErrorSerializer],
                    resource_type_field_name=None,
                ),
                description="Row errors (`errors`, nothing written), or a malformed request (too many or no rows).",
            ),
            **error_responses(401, 403, 413),
        },
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None, parser_classes=[BulkJSONParser])
    def bulk(self, request: Request) -> Response:
        serializer = MeasurementBulkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = measurements_record_bulk(
            actor=request.user, rows=serializer.validated_data["measurements"], source=KPISource.API
        )
        return Response({"created": created}, status=status.HTTP_201_CREATED)
