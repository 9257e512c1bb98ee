"""Cost API: sources (+ pull), imports (multipart upload -> 202 with a job, error report), line items, allocation
rules (+ re-allocation), FX rates (+ CSV upload) and the financials of an initiative."""

from __future__ import annotations

import csv
import io
import re

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.schema import (
    CREATE_ERRORS,
    DETAIL_ERRORS,
    FILTERED_LIST_ERRORS,
    LIST_ERRORS,
    UPDATE_ERRORS,
    error_responses,
)
from apps.core.api.serializers import JobOutputSerializer
from apps.costs import selectors, services
from apps.costs.api.serializers import (
    AllocationRuleInputSerializer,
    AllocationRuleOutputSerializer,
    CostImportAcceptedSerializer,
    CostImportCreateInputSerializer,
    CostImportErrorSerializer,
    CostImportOutputSerializer,
    CostRecordOutputSerializer,
    CostSourceInputSerializer,
    CostSourceOutputSerializer,
    CostSourcePulledSerializer,
    CostSourcePullInputSerializer,
    DeletedSerializer,
    FinancialsOutputSerializer,
    FxRateInputSerializer,
    FxRateOutputSerializer,
    FxRateUploadedSerializer,
    FxRateUploadInputSerializer,
)
from apps.costs.filters import CostImportFilterSet, CostRecordFilterSet
from apps.costs.models import AllocationRule, CostImport, CostRecord, CostSource, FxRate
from apps.portfolio.api.views import KEY_PATTERN
from apps.portfolio.selectors import initiative_get

MANAGER_ONLY = "Only portfolio admins may do this; executives and admins may read."


def _require_manager(request: Request) -> None:
    """Refuse (403) before parsing the body, so a role that may not write never gets a 400 instead."""
    if not services.can_manage_costs(request.user):
        raise PermissionDenied("Only portfolio admins manage cost sources, imports, allocation rules and FX rates.")


@extend_schema_view(
    list=extend_schema(
        summary="List cost sources",
        description="Executives and portfolio admins see every source; others get an empty list.",
        responses={200: CostSourceOutputSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(summary="Get one cost source",
                           responses={200: CostSourceOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
    create=extend_schema(
        summary="Register a cost source", description=MANAGER_ONLY, request=CostSourceInputSerializer,
        responses={201: CostSourceOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    partial_update=extend_schema(
        summary="Change a cost source's settings", description=MANAGER_ONLY, request=CostSourceInputSerializer,
        responses={200: CostSourceOutputSerializer, **error_responses(*UPDATE_ERRORS)},
    ),
)
class CostSourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CostSourceOutputSerializer
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[CostSource]:
        return selectors.cost_source_list(user=self.request.user)

    def _output(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(CostSourceOutputSerializer(self.get_queryset().get(pk=pk)).data, status=status_code)

    def create(self, request: Request) -> Response:
        _require_manager(request)
        serializer = CostSourceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = services.cost_source_create(actor=request.user, **serializer.validated_data)
        return self._output(source.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        _require_manager(request)
        serializer = CostSourceInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.cost_source_update(actor=request.user, source=source, **serializer.validated_data)
        return self._output(source.pk)

    @extend_schema(
        summary="Pull a source now",
        description="API sources: queue one import of the pull window (or `start`..`end`); FOCUS folder sources: "
                    "one import per new delivery in the folder. Returns 202 with the queued imports and their jobs; "
                    "an API pull replaces the source's costs for the days it covers, so overlapping pulls never count "
                    "a cost twice. " + MANAGER_ONLY,
        request=CostSourcePullInputSerializer,
        responses={202: OpenApiResponse(CostSourcePulledSerializer, description="The pull is queued: its imports and "
                                                                               "their jobs."),
                   **error_responses(*UPDATE_ERRORS)},
    )
    @action(detail=True, methods=["post"])
    def pull(self, request: Request, pk: str) -> Response:
        source = self.get_object()
        _require_manager(request)
        serializer = CostSourcePullInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        imports = services.cost_source_pull(actor=request.user, source=source, **serializer.validated_data)
        queued = selectors.cost_import_list(user=request.user).filter(pk__in=[item.pk for item in imports])
        data = {"imports": CostImportOutputSerializer(queued, many=True).data}
        return Response(data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        summary="List cost imports",
        description="Newest first; executives and portfolio admins only (others get an empty list).",
        responses={200: CostImportOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)},
    ),
    retrieve=extend_schema(summary="Get one cost import (poll it, or its job, for progress)",
                           responses={200: CostImportOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
)
class CostImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CostImportOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CostImportFilterSet
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> QuerySet[CostImport]:
        return selectors.cost_import_list(user=self.request.user)

    @extend_schema(
        summary="Upload FOCUS files as one import",
        description="multipart/form-data with `source` and one or more `file` parts (CSV, gzip CSV or Parquet, "
                    "FOCUS 1.0–1.2). Files over COST_IMPORT_MAX_BYTES (default 2 GB) are refused with 400 before "
                    "anything is stored. The import runs as a background job: 202 returns it with its job; when it "
                    "fails, `GET cost-imports/{id}/errors/` lists every bad row. The import replaces the source's "
                    "costs for the charge periods it covers. " + MANAGER_ONLY,
        request={"multipart/form-data": CostImportCreateInputSerializer},
        responses={202: OpenApiResponse(CostImportAcceptedSerializer, description="Accepted and queued: poll the job."),
                   **error_responses(*CREATE_ERRORS)},
    )
    def create(self, request: Request) -> Response:
        _require_manager(request)
        serializer = CostImportCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = serializer.validated_data["source"]
        if not selectors.cost_source_list(user=request.user).filter(pk=source.pk).exists():
            return Response({"source": ["No such cost source."]}, status=status.HTTP_400_BAD_REQUEST)
        cost_import = services.cost_import_create(actor=request.user, source=source,
                                                  uploads=serializer.validated_data["file"])
        cost_import = self.get_queryset().get(pk=cost_import.pk)
        return Response({"cost_import": CostImportOutputSerializer(cost_import).data,
                         "job": JobOutputSerializer(cost_import.job).data}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Row-level error report of an import",
        description="CSV (default) with the columns line, column, value, reason, file; `?format=json` for JSON. "
                    "Empty when the import had no errors.",
        parameters=[],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The error report as CSV."),
            (200, "application/json"): CostImportErrorSerializer(many=True),
            **error_responses(*DETAIL_ERRORS),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def errors(self, request: Request, pk: str) -> Response | HttpResponse:
        cost_import = self.get_object()
        rows = selectors.cost_import_error_list(user=request.user, cost_import=cost_import)
        if request.query_params.get("format") == "json":
            return Response(CostImportErrorSerializer(rows, many=True).data)
        return error_report_response(cost_import, rows)

    @extend_schema(
        summary="Retry a failed import from its stored files",
        request=None,
        responses={202: OpenApiResponse(CostImportOutputSerializer, description="Queued again: poll its job."),
                   **error_responses(*UPDATE_ERRORS)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def retry(self, request: Request, pk: str) -> Response:
        cost_import = services.cost_import_retry(actor=request.user, cost_import=self.get_object())
        return Response(CostImportOutputSerializer(self.get_queryset().get(pk=cost_import.pk)).data,
                        status=status.HTTP_202_ACCEPTED)


_NUMBER = re.compile(r"^-?[0-9.]+([eE][+-]?[0-9]+)?$")


def csv_safe(value):
    """A cell a spreadsheet will not run as a formula (values from billing files are untrusted)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(value):
        return "'" + value
    return value


def error_report_response(cost_import: CostImport, rows) -> HttpResponse:
    """The error report of an import as a CSV download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "column", "value", "reason", "file"])
    for error in rows:
        writer.writerow([error.line if error.line is not None else "", csv_safe(error.column), csv_safe(error.value),
                         error.reason, csv_safe(error.file)])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cost-import-{cost_import.pk}-errors.csv"'
    return response


class CostRecordPagination(CursorPagination):
    """Line items are many: cursor pagination (no counting), newest first."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema_view(
    list=extend_schema(
        summary="List FOCUS cost line items",
        description="The line items you may see: any share allocated to an initiative you may see or a unit you "
                    "read; unallocated ones only for executives and admins. Amounts are in the billing currency. "
                    "Cursor-paginated, newest first.",
        responses={200: CostRecordOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)},
    ),
    retrieve=extend_schema(summary="Get one cost line item",
                           responses={200: CostRecordOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
)
class CostRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CostRecordOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CostRecordFilterSet
    pagination_class = CostRecordPagination

    def get_queryset(self) -> QuerySet[CostRecord]:
        return selectors.cost_record_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(
        summary="List allocation rules in the order they apply",
        description="Executives and portfolio admins only (others get an empty list).",
        responses={200: AllocationRuleOutputSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(summary="Get one allocation rule",
                           responses={200: AllocationRuleOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
    create=extend_schema(
        summary="Add an allocation rule",
        description="Queues the re-allocation of all cost history (a job). " + MANAGER_ONLY,
        request=AllocationRuleInputSerializer,
        responses={201: AllocationRuleOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    partial_update=extend_schema(
        summary="Change an allocation rule",
        description="Queues the re-allocation of all cost history (a job). " + MANAGER_ONLY,
        request=AllocationRuleInputSerializer,
        responses={200: AllocationRuleOutputSerializer, **error_responses(*UPDATE_ERRORS)},
    ),
    destroy=extend_schema(
        summary="Delete an allocation rule",
        description="Queues the re-allocation of all cost history (a job). " + MANAGER_ONLY,
        responses={200: DeletedSerializer, **error_responses(401, 403, 404)},
    ),
)
class AllocationRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AllocationRuleOutputSerializer
    filter_backends: list = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[AllocationRule]:
        return selectors.allocation_rule_list(user=self.request.user)

    def _output(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(AllocationRuleOutputSerializer(self.get_queryset().get(pk=pk)).data, status=status_code)

    def create(self, request: Request) -> Response:
        _require_manager(request)
        serializer = AllocationRuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = services.allocation_rule_create(actor=request.user, **serializer.validated_data)
        return self._output(rule.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        rule = self.get_object()
        _require_manager(request)
        serializer = AllocationRuleInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.allocation_rule_update(actor=request.user, rule=rule, **serializer.validated_data)
        return self._output(rule.pk)

    def destroy(self, request: Request, pk: str) -> Response:
        rule = self.get_object()
        job = services.allocation_rule_delete(actor=request.user, rule=rule)
        return Response({"deleted": int(pk), "job": JobOutputSerializer(job).data})

    @extend_schema(
        summary="Re-allocate all cost history now",
        description="Re-evaluates every cost dimension against the rules and the current initiatives and rebuilds "
                    "the daily rollup with the current FX rates, as a job. " + MANAGER_ONLY,
        request=None,
        responses={202: OpenApiResponse(JobOutputSerializer, description="The re-allocation job (a queued one is "
                                                                        "reused)."),
                   **error_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def reallocate(self, request: Request) -> Response:
        job = services.cost_reallocate_schedule(actor=request.user, reason="requested through the API")
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List FX rates", description="By currency, newest first.",
                       responses={200: FxRateOutputSerializer(many=True), **error_responses(*LIST_ERRORS)}),
    retrieve=extend_schema(summary="Get one FX rate",
                           responses={200: FxRateOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
    create=extend_schema(
        summary="Set an FX rate",
        description="1 `currency` = `rate` reporting-currency units from `valid_from` on (replaces that day's rate). "
                    "A wrong ISO 4217 code is refused. Queues the re-conversion of the daily rollup. " + MANAGER_ONLY,
        request=FxRateInputSerializer,
        responses={201: FxRateOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    destroy=extend_schema(summary="Delete an FX rate", description=MANAGER_ONLY,
                          responses={200: DeletedSerializer, **error_responses(401, 403, 404)}),
)
class FxRateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = FxRateOutputSerializer
    filter_backends: list = []
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[FxRate]:
        return selectors.fx_rate_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        _require_manager(request)
        serializer = FxRateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fx_rate = services.fx_rate_set(actor=request.user, **serializer.validated_data)
        return Response(FxRateOutputSerializer(fx_rate).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        job = services.fx_rate_delete(actor=request.user, fx_rate=self.get_object())
        return Response({"deleted": int(pk), "job": JobOutputSerializer(job).data})

    @extend_schema(
        summary="Set many FX rates from CSV, all or nothing",
        description="Lines `currency,valid_from,rate[,note]`. Any bad line: 400 naming the line and column, nothing "
                    "saved. " + MANAGER_ONLY,
        request=FxRateUploadInputSerializer,
        responses={201: FxRateUploadedSerializer, **error_responses(*CREATE_ERRORS)},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def upload(self, request: Request) -> Response:
        _require_manager(request)
        serializer = FxRateUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = services.fx_rates_import_csv(actor=request.user, text=serializer.validated_data["csv"])
        job = services.cost_reallocate_schedule(actor=request.user, reason="FX rates uploaded")
        return Response({"saved": saved, "job": JobOutputSerializer(job).data}, status=status.HTTP_201_CREATED)


class InitiativeFinancialsView(APIView):
    """GET initiatives/{key}/financials/."""

    @extend_schema(
        summary="Cost and return of an initiative",
        description="Cost to date, monthly run rate, budget and burn, realized value (from the KPIs), ROI = (value − "
                    "cost) / cost, payback month and the monthly cost by service, in the reporting currency. Read "
                    "from the daily rollup: fast whatever the history.",
        responses={200: FinancialsOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    )
    def get(self, request: Request, key: str) -> Response:
        initiative = initiative_get(user=request.user, key=key.upper())
        financials = selectors.initiative_financials(user=request.user, initiative=initiative)
        return Response(FinancialsOutputSerializer(financials).data)


FINANCIALS_PATH = rf"^initiatives/(?P<key>{KEY_PATTERN})/financials/$"
