"""Django admin for compliance data. Writes that carry rules (classification, results, evidence, gates) belong in
the compliance pages and API; the admin is for inspection, so the governed models are read-only here except the
reference data (frameworks, requirements, gate criteria)."""

from __future__ import annotations

from django.contrib import admin

from apps.compliance import models
from apps.core.admin_mixins import RestrictedAdminMixin


class ReadOnlyAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    """Initiative-scoped compliance data: visible through restrict(), changed only through the services."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RequirementInline(admin.TabularInline):
    model = models.Requirement
    fields = ["code", "title", "section", "applies_from", "risk_tiers", "operator_roles", "stages", "checks",
              "active"]
    extra = 0
    show_change_link = True


@admin.register(models.Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ["short_name", "name", "kind", "version", "active", "builtin"]
    list_filter = ["kind", "active", "builtin"]
    search_fields = ["slug", "name", "short_name"]
    inlines = [RequirementInline]


@admin.register(models.Requirement)
class RequirementAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "framework", "section", "applies_from", "active"]
    list_filter = ["framework", "active", "personal_data_only"]
    search_fields = ["code", "title", "summary"]
    list_select_related = ["framework"]


@admin.register(models.GateCriterion)
class GateCriterionAdmin(admin.ModelAdmin):
    list_display = ["target_stage", "criterion", "risk_tiers", "active"]
    list_filter = ["target_stage", "active"]


@admin.register(models.RiskClassification)
class RiskClassificationAdmin(ReadOnlyAdmin):
    list_display = ["initiative", "risk_tier", "operator_role", "classified_by", "classified_at"]
    list_filter = ["risk_tier", "operator_role"]
    search_fields = ["initiative__key"]
    list_select_related = ["initiative", "classified_by"]


@admin.register(models.Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ["initiative", "framework", "status", "approved_by", "approved_at"]
    list_filter = ["framework", "status"]
    search_fields = ["initiative__key"]
    list_select_related = ["initiative", "framework", "approved_by"]


@admin.register(models.RequirementResult)
class RequirementResultAdmin(ReadOnlyAdmin):
    list_display = ["initiative", "requirement", "status", "automatic", "reviewed_by"]
    list_filter = ["status", "automatic"]
    search_fields = ["initiative__key", "requirement__code"]
    list_select_related = ["initiative", "requirement", "reviewed_by"]


@admin.register(models.Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["title", "initiative", "kind", "category", "sha256", "created_at"]
    list_filter = ["kind", "category"]
    search_fields = ["title", "initiative__key", "sha256"]
    list_select_related = ["initiative"]


@admin.register(models.Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["initiative", "check_code", "severity", "status", "first_seen", "last_seen"]
    list_filter = ["status", "severity", "check_code"]
    search_fields = ["initiative__key", "message"]
    list_select_related = ["initiative"]


@admin.register(models.Risk)
class RiskAdmin(ReadOnlyAdmin):
    list_display = ["title", "initiative", "category", "likelihood", "impact", "status", "review_date"]
    list_filter = ["category", "status"]
    search_fields = ["title", "initiative__key"]
    list_select_related = ["initiative"]


@admin.register(models.DataAsset)
class DataAssetAdmin(ReadOnlyAdmin):
    list_display = ["name", "business_unit", "owner", "legal_basis", "retention_days", "quality_status"]
    list_filter = ["legal_basis", "quality_status"]
    search_fields = ["name", "source_system"]
    list_select_related = ["business_unit", "owner"]


@admin.register(models.GateReview)
class GateReviewAdmin(ReadOnlyAdmin):
    list_display = ["initiative", "target_stage", "status", "requested_by", "expires_at"]
    list_filter = ["status", "target_stage"]
    search_fields = ["initiative__key"]
    list_select_related = ["initiative", "requested_by"]
