"""Django admin for MLOps. Synced tables are read-only here (the sync owns them); connection secrets are never
shown; links, rules and alerts read through restrict() for staff who are not superusers."""

from django.contrib import admin

from apps.core.admin_mixins import RestrictedAdminMixin
from apps.mlops.models import (
    Alert,
    Experiment,
    LoggedModel,
    MetricPoint,
    MLflowConnection,
    ModelLink,
    ModelVersion,
    MonitoringRule,
    ReadinessSnapshot,
    RegisteredModel,
    Run,
    SyncState,
)


class ReadOnlyAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    """Synced from MLflow: browse, never edit (a change here would be overwritten by the next sync)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class SyncStateInline(admin.StackedInline):
    model = SyncState
    can_delete = False
    readonly_fields = [field.name for field in SyncState._meta.fields]


@admin.register(MLflowConnection)
class MLflowConnectionAdmin(admin.ModelAdmin):
    """Secrets are set in the portal's connection form (encrypted there), never here."""

    list_display = ("name", "tracking_uri", "auth_type", "enabled")
    exclude = ("secret_encrypted",)
    readonly_fields = ("created_by",)
    inlines = [SyncStateInline]

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser


@admin.register(Experiment)
class ExperimentAdmin(ReadOnlyAdmin):
    list_display = ("name", "experiment_id", "connection", "initiative", "link_source", "lifecycle_stage")
    list_select_related = ("connection", "initiative")
    list_filter = ("connection", "lifecycle_stage", "link_source")
    search_fields = ("name", "experiment_id")


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("run_id", "name", "experiment", "status", "start_time", "initiative")
    list_select_related = ("experiment", "initiative")
    list_filter = ("status", "connection")
    search_fields = ("run_id", "name")


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ("name", "connection", "initiative", "link_source")
    list_select_related = ("connection", "initiative")
    search_fields = ("name",)


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("registered_model", "version", "aliases", "status", "mlflow_created_at")
    list_select_related = ("registered_model",)


@admin.register(LoggedModel)
class LoggedModelAdmin(ReadOnlyAdmin):
    list_display = ("model_id", "name", "status", "initiative")
    list_select_related = ("initiative",)


@admin.register(MetricPoint)
class MetricPointAdmin(ReadOnlyAdmin):
    list_display = ("run", "key", "step", "logged_at", "value")
    list_select_related = ("run",)


@admin.register(ModelLink)
class ModelLinkAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    list_display = ("initiative", "kind", "target", "connection", "created_by", "created_at")
    list_select_related = ("initiative", "connection", "created_by")

    def has_add_permission(self, request) -> bool:
        return False  # links go through the service, which applies them at once

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MonitoringRule)
class MonitoringRuleAdmin(ReadOnlyAdmin):
    """Rules are validated per kind by the service: change them on the initiative's Models page."""

    list_display = ("name", "initiative", "kind", "metric_key", "severity", "active")
    list_select_related = ("initiative",)
    list_filter = ("kind", "severity", "active")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("title", "initiative", "status", "severity", "opened_at", "resolved_at")
    list_select_related = ("initiative",)
    list_filter = ("status", "severity")


@admin.register(ReadinessSnapshot)
class ReadinessSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("initiative", "computed_at", "score", "passed", "applicable")
    list_select_related = ("initiative",)
