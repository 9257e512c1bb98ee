"""MLOps API: MLflow connections (admins; test and sync as 202 jobs), links, synced registry and runs, monitoring
rules, alerts (acknowledge / resolve) and readiness. Reads go through selectors, writes through services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.schema import (
    CREATE_ERRORS,
    DETAIL_ERRORS,
    FILTERED_LIST_ERRORS,
    UPDATE_ERRORS,
    error_responses,
)
from apps.core.api.serializers import JobOutputSerializer
from apps.core.models import Job
from apps.mlops import selectors, services
from apps.mlops.api.serializers import (
    AlertOutputSerializer,
    AlertResolveInputSerializer,
    ConnectionInputSerializer,
    ConnectionOutputSerializer,
    ModelLinkInputSerializer,
    ModelLinkOutputSerializer,
    ModelVersionOutputSerializer,
    MonitoringRuleInputSerializer,
    MonitoringRuleOutputSerializer,
    ReadinessDetailOutputSerializer,
    ReadinessOutputSerializer,
    ReadinessSnapshotSerializer,
    RegisteredModelDetailOutputSerializer,
    RegisteredModelOutputSerializer,
    RunOutputSerializer,
    SyncRequestInputSerializer,
)
from apps.mlops.filters import (
    AlertFilterSet,
    ModelLinkFilterSet,
    ModelVersionFilterSet,
    MonitoringRuleFilterSet,
    RegisteredModelFilterSet,
    RunFilterSet,
)
from apps.mlops.models import MLflowConnection
from apps.portfolio.models import Initiative
from apps.portfolio.selectors import initiative_get, initiative_list

ADMIN_ERRORS = (401, 403)
ADMIN_DETAIL_ERRORS = (401, 403, 404)
KEY_PATTERN = "[A-Za-z][A-Za-z0-9]{0,9}-[0-9]{1,6}"
ADMIN_ONLY = "Portfolio admins only (403 for everyone else)."


def _job_response(job: Job) -> Response:
    job = Job.objects.select_related("requested_by").get(pk=job.pk)
    return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _initiative_for_input(user, key: str, field: str = "initiative") -> Initiative:
    """An initiative named in a request body: one the user may see, else a 400 on that field."""
    try:
        return initiative_get(user=user, key=(key or "").strip().upper())
    except Http404 as exc:
        raise ValidationError({field: f"No initiative {key!r} that you may see."}) from exc


# --- connections ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List MLflow connections with their sync health", description=ADMIN_ONLY,
                       responses={200: ConnectionOutputSerializer(many=True), **error_responses(*ADMIN_ERRORS)}),
    retrieve=extend_schema(summary="Get one MLflow connection with its sync health", description=ADMIN_ONLY,
                           responses={200: ConnectionOutputSerializer, **error_responses(*ADMIN_DETAIL_ERRORS)}),
    create=extend_schema(
        summary="Register an MLflow tracking server",
        description=f"{ADMIN_ONLY} The secret (password or token) is encrypted at rest and never returned.",
        request=ConnectionInputSerializer,
        responses={201: ConnectionOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    update=extend_schema(summary="Replace a connection's settings (omit `secret` to keep it)",
                         request=ConnectionInputSerializer,
                         responses={200: ConnectionOutputSerializer, **error_responses(*UPDATE_ERRORS)}),
    partial_update=extend_schema(summary="Change some of a connection's settings", request=ConnectionInputSerializer,
                                 responses={200: ConnectionOutputSerializer, **error_responses(*UPDATE_ERRORS)}),
    destroy=extend_schema(summary="Delete a connection and everything synced from it",
                          responses={204: OpenApiResponse(description="Deleted."),
                                     **error_responses(*ADMIN_DETAIL_ERRORS)}),
)
class MLflowConnectionViewSet(viewsets.GenericViewSet):
    serializer_class = ConnectionOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[MLflowConnection]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no admin user
            return MLflowConnection.objects.none()
        return selectors.connection_list(user=self.request.user)

    def _get(self, pk) -> MLflowConnection:
        try:
            return selectors.connection_get(user=self.request.user, pk=int(pk))
        except ValueError as exc:
            raise Http404 from exc

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConnectionOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(ConnectionOutputSerializer(self._get(pk)).data)

    def create(self, request: Request) -> Response:
        serializer = ConnectionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conn = services.connection_create(actor=request.user, **serializer.validated_data)
        return Response(ConnectionOutputSerializer(self._get(conn.pk)).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        conn = self._get(pk)
        serializer = ConnectionInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        services.connection_update(actor=request.user, connection=conn, secret=data.pop("secret", None), **data)
        return Response(ConnectionOutputSerializer(self._get(pk)).data)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk=None) -> Response:
        services.connection_delete(actor=request.user, connection=self._get(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Test the connection (queued; poll the job)",
        description="A worker authenticates and lists one experiment; web requests never call MLflow. The job's "
                    "`message` says what happened, e.g. “Connected to MLflow 3.1 in 42 ms.”",
        request=None,
        responses={202: OpenApiResponse(JobOutputSerializer, description="The queued test job; poll "
                                                                         "/api/v1/jobs/{id}/."),
                   **error_responses(400, *ADMIN_DETAIL_ERRORS)},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk=None) -> Response:
        return _job_response(services.connection_test_request(actor=request.user, connection=self._get(pk)))

    @extend_schema(
        summary="Sync the connection now (queued; poll the job for progress)",
        description="Incremental by default; `full: true` re-reads everything and removes what MLflow no longer "
                    "has. Progress and the counts of what changed are on the job.",
        request=SyncRequestInputSerializer,
        responses={202: OpenApiResponse(JobOutputSerializer, description="The queued sync job; poll "
                                                                         "/api/v1/jobs/{id}/."),
                   **error_responses(400, *ADMIN_DETAIL_ERRORS)},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk=None) -> Response:
        conn = self._get(pk)
        serializer = SyncRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.connection_sync_request(actor=request.user, connection=conn,
                                               full=serializer.validated_data["full"])
        return _job_response(job)


# --- synced objects (read) --------------------------------------------------------------------------------------


SCOPE_NOTE = ("Only objects of initiatives you may see; objects that belong to no initiative only for "
              "portfolio-wide readers (executives, portfolio admins, compliance officers, auditors).")


@extend_schema_view(
    list=extend_schema(summary="List registered models", description=SCOPE_NOTE,
                       responses={200: RegisteredModelOutputSerializer(many=True),
                                  **error_responses(*FILTERED_LIST_ERRORS)}),
    retrieve=extend_schema(summary="Get a registered model with its versions",
                           responses={200: RegisteredModelDetailOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
)
class RegisteredModelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = RegisteredModelOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = RegisteredModelFilterSet

    def get_queryset(self):
        return selectors.registered_model_list(user=self.request.user).order_by("name", "id")

    def retrieve(self, request: Request, pk=None) -> Response:
        model = selectors.registered_model_get(user=request.user, pk=_int(pk))
        return Response(RegisteredModelDetailOutputSerializer(model).data)


@extend_schema_view(
    list=extend_schema(summary="List model versions (with the aliases pointing at each)", description=SCOPE_NOTE,
                       responses={200: ModelVersionOutputSerializer(many=True),
                                  **error_responses(*FILTERED_LIST_ERRORS)}),
    retrieve=extend_schema(summary="Get one model version",
                           responses={200: ModelVersionOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
)
class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ModelVersionOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModelVersionFilterSet

    def get_queryset(self):
        return selectors.model_version_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List synced MLflow runs, newest first", description=SCOPE_NOTE,
                       responses={200: RunOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)}),
    retrieve=extend_schema(summary="Get one synced run",
                           responses={200: RunOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RunOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = RunFilterSet

    def get_queryset(self):
        return selectors.run_list(user=self.request.user)


# --- links ------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List explicit initiative ↔ MLflow links",
                       responses={200: ModelLinkOutputSerializer(many=True),
                                  **error_responses(*FILTERED_LIST_ERRORS)}),
    retrieve=extend_schema(summary="Get one link",
                           responses={200: ModelLinkOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
    create=extend_schema(
        summary="Link an experiment or a registered model to an initiative",
        description="Needs change rights on the initiative. Applies at once to what is already synced; an object "
                    "can belong to one initiative only. The tag pilotlight.initiative=<key> links without this.",
        request=ModelLinkInputSerializer,
        responses={201: ModelLinkOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    destroy=extend_schema(summary="Remove a link (the object's tag, if any, applies again)",
                          responses={204: OpenApiResponse(description="Removed."),
                                     **error_responses(*UPDATE_ERRORS)}),
)
class ModelLinkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ModelLinkOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ModelLinkFilterSet

    def get_queryset(self):
        return selectors.model_link_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        serializer = ModelLinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        initiative = _initiative_for_input(request.user, data["initiative"])
        conn = selectors.connection_choices().filter(pk=data["connection"]).first()
        if conn is None:
            raise ValidationError({"connection": f"No MLflow connection {data['connection']}."})
        link = services.model_link_create(actor=request.user, initiative=initiative, connection=conn,
                                          kind=data["kind"], target=data["target"])
        return Response(ModelLinkOutputSerializer(selectors.model_link_get(user=request.user, pk=link.pk)).data,
                        status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk=None) -> Response:
        services.model_link_delete(actor=request.user, link=selectors.model_link_get(user=request.user, pk=_int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- rules and alerts -------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List monitoring rules", responses={
        200: MonitoringRuleOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)}),
    retrieve=extend_schema(summary="Get one monitoring rule",
                           responses={200: MonitoringRuleOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
    create=extend_schema(
        summary="Add a monitoring rule to an initiative (evaluated at once and after every sync)",
        request=MonitoringRuleInputSerializer,
        responses={201: MonitoringRuleOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    update=extend_schema(summary="Replace a rule's settings", request=MonitoringRuleInputSerializer,
                         responses={200: MonitoringRuleOutputSerializer, **error_responses(*UPDATE_ERRORS)}),
    partial_update=extend_schema(summary="Change some of a rule's settings (active=false pauses it)",
                                 request=MonitoringRuleInputSerializer,
                                 responses={200: MonitoringRuleOutputSerializer, **error_responses(*UPDATE_ERRORS)}),
    destroy=extend_schema(summary="Delete a rule and its alerts",
                          responses={204: OpenApiResponse(description="Deleted."), **error_responses(*UPDATE_ERRORS)}),
)
class MonitoringRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = MonitoringRuleOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MonitoringRuleFilterSet

    def get_queryset(self):
        return selectors.rule_list(user=self.request.user)

    def _output(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(MonitoringRuleOutputSerializer(selectors.rule_get(user=self.request.user, pk=pk)).data,
                        status=code)

    def create(self, request: Request) -> Response:
        serializer = MonitoringRuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "initiative" not in data:
            raise ValidationError({"initiative": "This field is required."})
        if "kind" not in data:
            raise ValidationError({"kind": "This field is required."})
        initiative = _initiative_for_input(request.user, data.pop("initiative"))
        rule = services.rule_create(actor=request.user, initiative=initiative, **data)
        return self._output(rule.pk, status.HTTP_201_CREATED)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        rule = selectors.rule_get(user=request.user, pk=_int(pk))
        serializer = MonitoringRuleInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("initiative", rule.initiative.key).upper() != rule.initiative.key:
            raise ValidationError({"initiative": "A rule cannot move to another initiative; create a new one."})
        services.rule_update(actor=request.user, rule=rule, **data)
        return self._output(rule.pk)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)

    def destroy(self, request: Request, pk=None) -> Response:
        services.rule_delete(actor=request.user, rule=selectors.rule_get(user=request.user, pk=_int(pk)))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List alerts, newest first",
                       description="Filter `active=true` for open and acknowledged ones.",
                       responses={200: AlertOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)}),
    retrieve=extend_schema(summary="Get one alert",
                           responses={200: AlertOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AlertOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return selectors.alert_list(user=self.request.user)

    @extend_schema(summary="Acknowledge an open alert", request=None,
                   responses={200: AlertOutputSerializer, **error_responses(*UPDATE_ERRORS)})
    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request: Request, pk=None) -> Response:
        alert = selectors.alert_get(user=request.user, pk=_int(pk))
        services.alert_acknowledge(actor=request.user, alert=alert)
        return Response(AlertOutputSerializer(selectors.alert_get(user=request.user, pk=alert.pk)).data)

    @extend_schema(summary="Resolve an alert by hand (the same breach does not reopen it)",
                   request=AlertResolveInputSerializer,
                   responses={200: AlertOutputSerializer, **error_responses(*UPDATE_ERRORS)})
    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request: Request, pk=None) -> Response:
        alert = selectors.alert_get(user=request.user, pk=_int(pk))
        serializer = AlertResolveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.alert_resolve(actor=request.user, alert=alert, note=serializer.validated_data.get("note", ""))
        return Response(AlertOutputSerializer(selectors.alert_get(user=request.user, pk=alert.pk)).data)


# --- readiness --------------------------------------------------------------------------------------------------


def _readiness_row(initiative: Initiative, card) -> dict:
    return {"initiative": initiative.key, "name": initiative.name, "stage": initiative.stage, "score": card.score,
            "passed": card.passed, "applicable": card.applicable, "checks": card.as_list()}


@extend_schema_view(
    list=extend_schema(
        summary="MLOps readiness of the initiatives you may see",
        description="Computed now from the synced data, one scorecard per initiative, with each check's reason.",
        parameters=[OpenApiParameter("stage", str, many=True, description="Only initiatives in these stages.")],
        responses={200: ReadinessOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)},
    ),
    retrieve=extend_schema(summary="MLOps readiness of one initiative, with its score history",
                           responses={200: ReadinessDetailOutputSerializer, **error_responses(*DETAIL_ERRORS)}),
)
class ReadinessViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ReadinessOutputSerializer
    filter_backends: list = []
    lookup_field = "key"
    lookup_value_regex = KEY_PATTERN

    def get_queryset(self):
        queryset = initiative_list(user=self.request.user).order_by("key")
        stage = self.request.query_params.getlist("stage")
        return queryset.filter(stage__in=stage) if stage else queryset

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        cards = selectors.readiness_compute(initiative_ids=[i.pk for i in page])
        return self.get_paginated_response([_readiness_row(i, cards[i.pk]) for i in page])

    def retrieve(self, request: Request, key: str) -> Response:
        initiative = initiative_get(user=request.user, key=key.upper())
        card = selectors.readiness_compute(initiative_ids=[initiative.pk])[initiative.pk]
        history = selectors.readiness_history(user=request.user, initiative=initiative)
        data = _readiness_row(initiative, card)
        data["history"] = ReadinessSnapshotSerializer(history, many=True).data
        return Response(data)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
