"""Business units over the API: everyone reads the units they may see; portfolio admins create units."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

import apps.accounts.api.schema  # noqa: F401  (registers the token auth scheme with drf-spectacular)
from apps.accounts.api.serializers import BusinessUnitInputSerializer, BusinessUnitOutputSerializer
from apps.accounts.choices import GlobalRole
from apps.accounts.models import BusinessUnit
from apps.accounts.selectors import business_unit_list, user_access_scope
from apps.accounts.services import business_unit_create
from apps.core.api.schema import CREATE_ERRORS, DETAIL_ERRORS, LIST_ERRORS, error_responses


class PortfolioAdminCreates(permissions.BasePermission):
    """Only portfolio admins (and superusers) create business units."""

    message = "Only portfolio admins can create business units."

    def has_permission(self, request: Request, view) -> bool:
        if view.action != "create":
            return True
        return user_access_scope(user=request.user).has_role(GlobalRole.PORTFOLIO_ADMIN)


@extend_schema_view(
    list=extend_schema(
        summary="List business units",
        description="The units you may see (all of them for executives and admins), in tree order.",
        responses={200: BusinessUnitOutputSerializer(many=True), **error_responses(*LIST_ERRORS)},
    ),
    retrieve=extend_schema(
        summary="Get one business unit by slug",
        responses={200: BusinessUnitOutputSerializer, **error_responses(*DETAIL_ERRORS)},
    ),
    create=extend_schema(
        summary="Create a business unit (portfolio admins)",
        request=BusinessUnitInputSerializer,
        responses={201: BusinessUnitOutputSerializer, **error_responses(*CREATE_ERRORS)},
    ),
)
class BusinessUnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BusinessUnitOutputSerializer
    permission_classes = [permissions.IsAuthenticated, PortfolioAdminCreates]
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[BusinessUnit]:
        return business_unit_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        serializer = BusinessUnitInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        unit = business_unit_create(**serializer.validated_data)
        unit = self.get_queryset().get(pk=unit.pk)
        return Response(BusinessUnitOutputSerializer(unit).data, status=status.HTTP_201_CREATED)
