"""FilterSets shared by the compliance HTML lists and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.compliance.choices import (
    AssessmentStatus,
    CheckCode,
    EvidenceCategory,
    FindingStatus,
    GateReviewStatus,
    ResultStatus,
    RiskCategory,
    RiskStatus,
    Severity,
)
from apps.compliance.models import (
    Assessment,
    DataAsset,
    Evidence,
    Finding,
    GateReview,
    Requirement,
    RequirementResult,
    Risk,
    RiskClassification,
)
from apps.portfolio.choices import AIType, OperatorRole, RiskTier, Stage


def _by_unit(queryset: QuerySet, field: str, slug: str) -> QuerySet:
    from apps.accounts.models import BusinessUnit

    unit = BusinessUnit.objects.filter(slug=slug).only("path").first()
    if unit is None:
        return queryset.none()
    return queryset.filter(**{f"{field}__path__startswith": unit.path})


class _InitiativeFilter(django_filters.FilterSet):
    initiative = django_filters.CharFilter(field_name="initiative__key", label="Initiative key",
                                           method="filter_initiative")
    business_unit = django_filters.CharFilter(method="filter_unit", label="Business unit slug (with sub-units)")

    def filter_initiative(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(initiative__key=value.strip().upper()) if value.strip() else queryset

    def filter_unit(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _by_unit(queryset, "initiative__business_unit", value) if value else queryset


class RequirementFilterSet(django_filters.FilterSet):
    framework = django_filters.CharFilter(field_name="framework__slug", label="Framework slug")
    q = django_filters.CharFilter(method="filter_text", label="Search code, title or summary")
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices, method="filter_array", label="Applies to tier")
    operator_role = django_filters.ChoiceFilter(choices=OperatorRole.choices, method="filter_array",
                                                label="Applies to role")
    ai_type = django_filters.ChoiceFilter(choices=AIType.choices, method="filter_array", label="Applies to AI type")
    stage = django_filters.ChoiceFilter(choices=Stage.choices, method="filter_array", label="Applies in stage")
    check = django_filters.ChoiceFilter(choices=CheckCode.choices, field_name="checks", lookup_expr="contains",
                                        method="filter_check", label="Proven by automated check")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Requirement
        fields = ["framework", "q", "risk_tier", "operator_role", "ai_type", "stage", "check", "active"]

    _ARRAYS = {"risk_tier": "risk_tiers", "operator_role": "operator_roles", "ai_type": "ai_types", "stage": "stages"}

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(title__icontains=value) | Q(summary__icontains=value))

    def filter_array(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        field = self._ARRAYS[name]
        return queryset.filter(Q(**{field: []}) | Q(**{f"{field}__contains": [value]}))

    def filter_check(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(checks__contains=[value])


class ClassificationFilterSet(_InitiativeFilter):
    risk_tier = django_filters.MultipleChoiceFilter(choices=RiskTier.choices)

    class Meta:
        model = RiskClassification
        fields = ["initiative", "business_unit", "risk_tier"]


class AssessmentFilterSet(_InitiativeFilter):
    framework = django_filters.CharFilter(field_name="framework__slug", label="Framework slug")
    status = django_filters.ChoiceFilter(choices=AssessmentStatus.choices)

    class Meta:
        model = Assessment
        fields = ["initiative", "business_unit", "framework", "status"]


class ResultFilterSet(_InitiativeFilter):
    assessment = django_filters.NumberFilter(field_name="assessment_id")
    framework = django_filters.CharFilter(field_name="requirement__framework__slug", label="Framework slug")
    status = django_filters.MultipleChoiceFilter(choices=ResultStatus.choices)
    automatic = django_filters.BooleanFilter()
    signed_off = django_filters.BooleanFilter(field_name="reviewed_at", lookup_expr="isnull", exclude=True,
                                              label="Signed off")

    class Meta:
        model = RequirementResult
        fields = ["initiative", "business_unit", "assessment", "framework", "status", "automatic", "signed_off"]


class EvidenceFilterSet(_InitiativeFilter):
    category = django_filters.MultipleChoiceFilter(choices=EvidenceCategory.choices)
    current = django_filters.BooleanFilter(field_name="superseded_by", lookup_expr="isnull",
                                           label="Current (not superseded)")
    requirement = django_filters.NumberFilter(field_name="requirements", label="Supports requirement id")

    class Meta:
        model = Evidence
        fields = ["initiative", "business_unit", "category", "current", "requirement"]


class FindingFilterSet(_InitiativeFilter):
    status = django_filters.ChoiceFilter(choices=FindingStatus.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    check = django_filters.ChoiceFilter(field_name="check_code", choices=CheckCode.choices)

    class Meta:
        model = Finding
        fields = ["initiative", "business_unit", "status", "severity", "check"]


class RiskFilterSet(_InitiativeFilter):
    status = django_filters.MultipleChoiceFilter(choices=RiskStatus.choices)
    category = django_filters.MultipleChoiceFilter(choices=RiskCategory.choices)
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Review overdue")
    min_score = django_filters.NumberFilter(method="filter_min_score", label="Likelihood × impact at least")

    class Meta:
        model = Risk
        fields = ["initiative", "business_unit", "status", "category", "overdue", "min_score"]

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(review_date__lt=timezone.localdate()) & ~Q(status=RiskStatus.CLOSED)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_min_score(self, queryset: QuerySet, name: str, value) -> QuerySet:
        from django.db.models import F

        return queryset.alias(score=F("likelihood") * F("impact")).filter(score__gte=value) if value else queryset


class DataAssetFilterSet(django_filters.FilterSet):
    business_unit = django_filters.CharFilter(method="filter_unit", label="Business unit slug (with sub-units)")
    q = django_filters.CharFilter(method="filter_text", label="Search name or source system")
    personal_data = django_filters.BooleanFilter(method="filter_personal", label="Holds personal data")
    retention_missing = django_filters.BooleanFilter(field_name="retention_days", lookup_expr="isnull",
                                                     label="No retention set")
    initiative = django_filters.CharFilter(method="filter_initiative", label="Used by initiative key")

    class Meta:
        model = DataAsset
        fields = ["business_unit", "q", "personal_data", "retention_missing", "initiative"]

    def filter_unit(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _by_unit(queryset, "business_unit", value) if value else queryset

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(source_system__icontains=value)) if value else queryset

    def filter_personal(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        holds = ~Q(personal_data_categories=[]) | ~Q(special_categories=[])
        return queryset.filter(holds) if value else queryset.exclude(holds)

    def filter_initiative(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(links__initiative__key=value.strip().upper()) if value.strip() else queryset


class GateReviewFilterSet(_InitiativeFilter):
    status = django_filters.MultipleChoiceFilter(choices=GateReviewStatus.choices)
    target_stage = django_filters.ChoiceFilter(choices=Stage.choices)

    class Meta:
        model = GateReview
        fields = ["initiative", "business_unit", "status", "target_stage"]
