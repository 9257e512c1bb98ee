"""Portfolio API: strategic objectives and initiatives (looked up by key), with stage transitions as a sub-route."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.schema import (
    CREATE_ERRORS,
    DETAIL_ERRORS,
    FILTERED_LIST_ERRORS,
    LIST_ERRORS,
    UPDATE_ERRORS,
    error_responses,
)
from apps.kpis.selectors import kpi_list
from apps.portfolio.api.serializers import (
    InitiativeCreateInputSerializer,
    InitiativeDetailOutputSerializer,
    InitiativeInputSerializer,
    InitiativeListOutputSerializer,
    ObjectiveInputSerializer,
    ObjectiveOutputSerializer,
    TransitionInputSerializer,
    TransitionOutputSerializer,
)
from apps.portfolio.filters import InitiativeFilterSet
from apps.portfolio.models import Initiative, StrategicObjective
from apps.portfolio.selectors import initiative_get, initiative_list, objective_list, transition_list
from apps.portfolio.services import initiative_create, initiative_transition, initiative_update, objective_create

# Initiative keys look like AI-042; matched case-insensitively and upper-cased before the lookup.
KEY_PATTERN = "[A-Za-z][A-Za-z0-9]{0,9}-[0-9]{1,6}"


@extend_schema_view(
    list=extend_schema(
        summary="List strategic objectives",
        description="Company-wide objectives and those of the business units you may see.",
        responses={200: ObjectiveOutputSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get one strategic objective",
        responses={200: ObjectiveOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    ),
    create=extend_schema(
        summary="Create a strategic objective",
        description="Company-wide objectives (no business unit) need a portfolio admin; unit objectives need a lead "
                    "or contributor of that unit.",
        request=ObjectiveInputSerializer,
        responses={201: ObjectiveOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
)
class ObjectiveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ObjectiveOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[StrategicObjective]:
        return objective_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        serializer = ObjectiveInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        objective = objective_create(actor=request.user, **serializer.validated_data)
        objective = self.get_queryset().get(pk=objective.pk)
        return Response(ObjectiveOutputSerializer(objective).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="List initiatives",
        description="The initiatives you may see, filtered like the portfolio page. `business_unit` includes its "
                    "sub-units; `q` matches the key exactly or the name / business problem in part.",
        responses={200: InitiativeListOutputSerializer(many=True), **error_responses(*FILTERED_LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get one initiative by key, with its KPIs",
        responses={200: InitiativeDetailOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    ),
    create=extend_schema(
        summary="Register an initiative (it starts in the idea stage)",
        request=InitiativeCreateInputSerializer,
        responses={201: InitiativeDetailOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
    update=extend_schema(
        summary="Replace an initiative's editable fields",
        description="The stage is not editable: record a transition instead. Only portfolio admins move an "
                    "initiative to another business unit.",
        request=InitiativeInputSerializer,
        responses={200: InitiativeDetailOutputSerializer, **error_responses(*UPDATE_ERRORS)},
    ),
    partial_update=extend_schema(
        summary="Change some of an initiative's editable fields",
        request=InitiativeInputSerializer,
        responses={200: InitiativeDetailOutputSerializer, **error_responses(*UPDATE_ERRORS)},
    ),
)
class InitiativeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = InitiativeListOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = InitiativeFilterSet
    lookup_field = "key"
    lookup_value_regex = KEY_PATTERN

    def get_queryset(self) -> QuerySet[Initiative]:
        return initiative_list(user=self.request.user)

    def get_serializer_context(self) -> dict:
        # One clock for the whole response, so days in stage and purgatory agree across rows.
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _initiative(self, key: str) -> Initiative:
        return initiative_get(user=self.request.user, key=key.upper())

    def _detail(self, initiative: Initiative, status_code: int = status.HTTP_200_OK) -> Response:
        user = self.request.user
        initiative.kpi_rows = list(kpi_list(user=user, initiative_id=initiative.pk))
        initiative.transition_rows = list(transition_list(user=user, initiative=initiative))
        data = InitiativeDetailOutputSerializer(initiative, context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def retrieve(self, request: Request, key: str) -> Response:
        return self._detail(self._initiative(key))

    def create(self, request: Request) -> Response:
        serializer = InitiativeCreateInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        initiative = initiative_create(actor=request.user, **serializer.validated_data)
        return self._detail(self._initiative(initiative.key), status.HTTP_201_CREATED)

    def update(self, request: Request, key: str, partial: bool = False) -> Response:
        initiative = self._initiative(key)
        serializer = InitiativeInputSerializer(initiative, data=request.data, partial=partial,
                                               context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        initiative_update(actor=request.user, initiative=initiative, **serializer.validated_data)
        return self._detail(self._initiative(key))

    def partial_update(self, request: Request, key: str) -> Response:
        return self.update(request, key, partial=True)

    @extend_schema(
        summary="Move an initiative to another stage",
        description="Records who, when, the decision (advance / pivot / pause / kill) and the rationale. Illegal "
                    "moves are refused with 400 naming the stages allowed next; 403 when you may see the initiative "
                    "but only its owner, a lead of its unit or a portfolio admin may move it.",
        request=TransitionInputSerializer,
        responses={
            200: OpenApiResponse(TransitionOutputSerializer, description="The recorded stage move."),
            **error_responses(*UPDATE_ERRORS),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def transition(self, request: Request, key: str) -> Response:
        initiative = self._initiative(key)
        serializer = TransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        moved = initiative_transition(actor=request.user, initiative=initiative, **serializer.validated_data)
        return Response(TransitionOutputSerializer(moved).data, status=status.HTTP_200_OK)

    @extend_schema(
        summary="List an initiative's stage moves, oldest first",
        responses={200: TransitionOutputSerializer(many=True), **error_responses(*DETAIL_ERRORS)},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def transitions(self, request: Request, key: str) -> Response:
        initiative = self._initiative(key)
        rows = transition_list(user=request.user, initiative=initiative)
        return Response(TransitionOutputSerializer(rows, many=True).data)
