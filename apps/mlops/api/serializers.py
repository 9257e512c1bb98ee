"""Input and output serializers for the MLOps API. Inputs only validate; the services write. Secrets are
write-only: no response ever contains one."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.mlops.choices import AuthType, CheckStatus, LinkKind, RuleKind, Severity
from apps.mlops.models import (
    Alert,
    MLflowConnection,
    ModelLink,
    ModelVersion,
    MonitoringRule,
    ReadinessSnapshot,
    RegisteredModel,
    Run,
    SyncState,
)


def _key_field(help_text: str = "Initiative key, e.g. AI-042.") -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True, help_text=help_text)


# --- connections ------------------------------------------------------------------------------------------------


class SyncHealthSerializer(serializers.ModelSerializer):
    """How the connection's syncs are going: when they last succeeded and failed, why, and how old the data is."""

    healthy = serializers.BooleanField(read_only=True, help_text="The last attempt succeeded.")
    lag_seconds = serializers.SerializerMethodField(help_text="Seconds since the last successful sync.")
    last_job = serializers.PrimaryKeyRelatedField(read_only=True, help_text="Id of the latest sync job.")

    class Meta:
        model = SyncState
        fields = ["healthy", "last_attempt_at", "last_success_at", "last_full_sync_at", "last_error_at",
                  "last_error_kind", "last_error", "consecutive_failures", "lag_seconds", "runs_watermark",
                  "server_version", "supports_logged_models", "last_result", "last_job"]
        read_only_fields = fields

    def get_lag_seconds(self, state: SyncState) -> int | None:
        if state.last_success_at is None:
            return None
        return int((timezone.now() - state.last_success_at).total_seconds())


class ConnectionOutputSerializer(serializers.ModelSerializer):
    """An MLflow connection with its health. The secret is never returned, only whether one is stored."""

    has_secret = serializers.BooleanField(read_only=True)
    health = SyncHealthSerializer(source="state", read_only=True, allow_null=True)
    link_count = serializers.IntegerField(read_only=True, help_text="Explicit initiative links on this server.")

    class Meta:
        model = MLflowConnection
        fields = ["id", "name", "tracking_uri", "auth_type", "username", "has_secret", "verify_tls",
                  "timeout_seconds", "enabled", "link_count", "health", "created_at", "updated_at"]
        read_only_fields = fields


class ConnectionInputSerializer(serializers.Serializer):
    """A connection's settings. `secret` (password or token) is write-only; omit it on update to keep it."""

    name = serializers.CharField(max_length=100)
    tracking_uri = serializers.CharField(max_length=500, help_text="http(s) URL of the tracking server.")
    auth_type = serializers.ChoiceField(choices=AuthType.choices, required=False)
    username = serializers.CharField(max_length=150, required=False, allow_blank=True)
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False,
                                   style={"input_type": "password"},
                                   help_text="Password (basic) or token (bearer, Databricks). Never returned.")
    verify_tls = serializers.BooleanField(required=False)
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=120, required=False)
    enabled = serializers.BooleanField(required=False)


class SyncRequestInputSerializer(serializers.Serializer):
    full = serializers.BooleanField(default=False, help_text="Full reconcile: re-read everything and remove what "
                                                            "MLflow no longer has.")


# --- synced objects ---------------------------------------------------------------------------------------------


class RunOutputSerializer(serializers.ModelSerializer):
    """A synced MLflow run: status, times, user, latest metric values, params and tags."""

    run_id = serializers.CharField(read_only=True, help_text="MLflow run id.")
    experiment_id = serializers.CharField(source="experiment.experiment_id", read_only=True)
    experiment_name = serializers.CharField(source="experiment.name", read_only=True)
    initiative = _key_field()
    metrics = serializers.SerializerMethodField(help_text="Latest value of each metric.")
    connection = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Run
        fields = ["id", "run_id", "connection", "experiment_id", "experiment_name", "name", "status", "user_id",
                  "start_time", "end_time", "lifecycle_stage", "metrics", "params", "tags", "datasets",
                  "initiative", "link_source", "synced_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_metrics(self, run: Run) -> dict:
        return {key: (entry[0] if not isinstance(entry[0], str) else None) for key, entry in run.metrics.items()}


class ModelVersionOutputSerializer(serializers.ModelSerializer):
    """One version of a registered model, with the aliases that point at it."""

    model_name = serializers.CharField(source="registered_model.name", read_only=True)
    registered_model = serializers.PrimaryKeyRelatedField(read_only=True)
    initiative = serializers.SerializerMethodField(help_text="Key of the initiative of its registered model.")

    class Meta:
        model = ModelVersion
        fields = ["id", "registered_model", "model_name", "version", "aliases", "run_id", "source", "status",
                  "current_stage", "description", "tags", "mlflow_created_at", "mlflow_updated_at", "initiative",
                  "synced_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_initiative(self, version: ModelVersion) -> str | None:
        initiative = version.registered_model.initiative
        return initiative.key if initiative is not None else None


class VersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "version", "aliases", "run_id", "status", "current_stage", "mlflow_created_at"]
        read_only_fields = fields


class RegisteredModelOutputSerializer(serializers.ModelSerializer):
    """A registered model with its aliases ({alias: version}) and the initiative it belongs to."""

    initiative = _key_field()
    connection = serializers.PrimaryKeyRelatedField(read_only=True)
    version_count = serializers.IntegerField(read_only=True)
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = RegisteredModel
        fields = ["id", "connection", "name", "description", "aliases", "tags", "version_count", "latest_version",
                  "initiative", "link_source", "mlflow_created_at", "mlflow_updated_at", "synced_at"]
        read_only_fields = fields


class RegisteredModelDetailOutputSerializer(RegisteredModelOutputSerializer):
    versions = VersionSummarySerializer(many=True, read_only=True, source="version_rows")

    class Meta(RegisteredModelOutputSerializer.Meta):
        fields = [*RegisteredModelOutputSerializer.Meta.fields, "versions"]
        read_only_fields = fields


# --- links ------------------------------------------------------------------------------------------------------


class ModelLinkOutputSerializer(serializers.ModelSerializer):
    """An explicit link from an initiative to an experiment (by MLflow id) or a registered model (by name)."""

    initiative = _key_field()
    connection = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ModelLink
        fields = ["id", "initiative", "connection", "kind", "target", "created_by", "created_at"]
        read_only_fields = fields


class ModelLinkInputSerializer(serializers.Serializer):
    initiative = serializers.CharField(help_text="Initiative key.")
    connection = serializers.IntegerField(help_text="MLflow connection id.")
    kind = serializers.ChoiceField(choices=LinkKind.choices)
    target = serializers.CharField(max_length=500, help_text="Experiment id (or name), or registered model name.")


# --- rules and alerts -------------------------------------------------------------------------------------------


class MonitoringRuleOutputSerializer(serializers.ModelSerializer):
    initiative = _key_field()
    active_alerts = serializers.IntegerField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MonitoringRule
        fields = ["id", "initiative", "name", "kind", "metric_key", "model_name", "min_value", "max_value",
                  "drop_tolerance", "higher_is_better", "window_days", "baseline_days", "drift_limit",
                  "stale_days", "consecutive_breaches", "severity", "recipients", "active", "active_alerts",
                  "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class MonitoringRuleInputSerializer(serializers.Serializer):
    """A rule: the fields that matter depend on `kind` (threshold: min/max; relative_drop: drop_tolerance and the
    windows; drift: drift_limit, default 0.25; staleness: stale_days)."""

    initiative = serializers.CharField(help_text="Initiative key (create only).", required=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=RuleKind.choices, required=False)
    metric_key = serializers.CharField(max_length=250, required=False, allow_blank=True)
    model_name = serializers.CharField(max_length=500, required=False, allow_blank=True)
    min_value = serializers.FloatField(required=False, allow_null=True)
    max_value = serializers.FloatField(required=False, allow_null=True)
    drop_tolerance = serializers.FloatField(required=False, allow_null=True)
    higher_is_better = serializers.BooleanField(required=False)
    window_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    baseline_days = serializers.IntegerField(min_value=1, max_value=730, required=False)
    drift_limit = serializers.FloatField(required=False, allow_null=True)
    stale_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, allow_null=True)
    consecutive_breaches = serializers.IntegerField(min_value=1, max_value=100, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    recipients = serializers.ListField(child=serializers.EmailField(), required=False)
    active = serializers.BooleanField(required=False)


class AlertOutputSerializer(serializers.ModelSerializer):
    initiative = _key_field()
    rule = serializers.PrimaryKeyRelatedField(read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "initiative", "rule", "rule_name", "status", "severity", "title", "message",
                  "observed_value", "episode_start", "last_breach_at", "opened_at", "acknowledged_at",
                  "acknowledged_by", "resolved_at", "resolved_by", "resolution", "notified_at"]
        read_only_fields = fields


class AlertResolveInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


# --- readiness --------------------------------------------------------------------------------------------------


class CheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    reason = serializers.CharField()


class ReadinessOutputSerializer(serializers.Serializer):
    """An initiative's current MLOps readiness: each check with its reason, and the score."""

    initiative = serializers.CharField(help_text="Initiative key.")
    name = serializers.CharField()
    stage = serializers.CharField()
    score = serializers.IntegerField(help_text="Passed checks as a percentage of the applicable ones.")
    passed = serializers.IntegerField()
    applicable = serializers.IntegerField()
    checks = CheckSerializer(many=True)


class ReadinessSnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReadinessSnapshot
        fields = ["computed_at", "score", "passed", "applicable", "checks"]
        read_only_fields = fields


class ReadinessDetailOutputSerializer(ReadinessOutputSerializer):
    history = ReadinessSnapshotSerializer(many=True, help_text="Recorded scorecards, newest first (score history).")
