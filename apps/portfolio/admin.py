from django.contrib import admin

from apps.core.admin_mixins import RestrictedAdminMixin
from apps.portfolio.models import Initiative, StageTransition, StrategicObjective


class StageTransitionInline(admin.TabularInline):
    model = StageTransition
    extra = 0
    can_delete = False
    readonly_fields = ("from_stage", "to_stage", "at", "by", "decision", "rationale")

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # stage moves go through the transition service, which checks the rules


@admin.register(Initiative)
class InitiativeAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("key", "name", "business_unit", "stage", "owner", "priority", "risk_tier")
    list_filter = ("stage", "ai_type", "priority", "risk_tier", "business_unit")
    list_select_related = ("business_unit", "owner")
    search_fields = ("key", "name")
    readonly_fields = ("stage", "stage_entered_at")
    autocomplete_fields = ("sponsor", "owner", "technical_lead")
    filter_horizontal = ("objectives",)
    inlines = [StageTransitionInline]


@admin.register(StageTransition)
class StageTransitionAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("initiative", "from_stage", "to_stage", "decision", "at", "by")
    list_select_related = ("initiative", "by")
    list_filter = ("to_stage", "decision")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StrategicObjective)
class StrategicObjectiveAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "business_unit", "owner", "target_date")
    list_select_related = ("business_unit", "owner")
    search_fields = ("title",)
