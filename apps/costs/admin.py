"""Django admin for cost data. Everything is read-only here: imports, allocation and rollups belong to the pipeline,
and sources, rules and FX rates change through the app's services (which validate and re-allocate)."""

from django.contrib import admin

from apps.costs.models import (
    AllocationRule,
    CostAllocation,
    CostDaily,
    CostDimension,
    CostImport,
    CostImportError,
    CostMonthly,
    CostRecord,
    CostSource,
    FxRate,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CostSource)
class CostSourceAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "enabled", "last_pulled_at", "pulled_until")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)


class CostImportErrorInline(admin.TabularInline):
    model = CostImportError
    extra = 0
    can_delete = False
    readonly_fields = ("file", "line", "column", "value", "reason")
    max_num = 0


@admin.register(CostImport)
class CostImportAdmin(ReadOnlyAdmin):
    list_display = ("id", "source", "origin", "status", "rows_imported", "rows_replaced", "error_count", "created_at")
    list_filter = ("status", "origin", "source")
    list_select_related = ("source",)
    inlines = [CostImportErrorInline]


@admin.register(CostRecord)
class CostRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "source", "charge_period_start", "service_name", "effective_cost", "billing_currency")
    list_select_related = ("source",)
    show_full_result_count = False


@admin.register(CostDimension)
class CostDimensionAdmin(ReadOnlyAdmin):
    list_display = ("id", "sub_account_id", "resource_id")
    search_fields = ("resource_id", "sub_account_id")


@admin.register(CostAllocation)
class CostAllocationAdmin(ReadOnlyAdmin):
    list_display = ("dimension", "initiative", "business_unit", "rule", "share")
    list_select_related = ("initiative", "business_unit", "rule")


@admin.register(CostDaily)
class CostDailyAdmin(ReadOnlyAdmin):
    list_display = ("day", "source", "initiative", "business_unit", "service_name", "billing_currency", "cost")
    list_select_related = ("source", "initiative", "business_unit")
    date_hierarchy = "day"
    show_full_result_count = False


@admin.register(CostMonthly)
class CostMonthlyAdmin(ReadOnlyAdmin):
    list_display = ("month", "source", "initiative", "business_unit", "service_name", "billing_currency", "cost")
    list_select_related = ("source", "initiative", "business_unit")


@admin.register(AllocationRule)
class AllocationRuleAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "priority", "initiative", "business_unit", "share", "enabled")
    list_select_related = ("initiative", "business_unit")


@admin.register(FxRate)
class FxRateAdmin(ReadOnlyAdmin):
    list_display = ("currency", "valid_from", "rate", "note")
    list_filter = ("currency",)
