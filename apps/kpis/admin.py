from django.contrib import admin

from apps.core.admin_mixins import RestrictedAdminMixin
from apps.kpis.models import KPI, Measurement


@admin.register(KPI)
class KPIAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "initiative", "category", "direction", "baseline_value", "target_value", "target_date")
    list_select_related = ("initiative",)
    list_filter = ("category", "direction", "source")
    search_fields = ("name", "initiative__key")
    raw_id_fields = ("initiative",)


@admin.register(Measurement)
class MeasurementAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("kpi", "date", "value", "source", "recorded_by")
    list_select_related = ("kpi", "recorded_by")
    raw_id_fields = ("kpi",)
    date_hierarchy = "date"
