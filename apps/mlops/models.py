"""MLflow connections, what the workers sync from them, monitoring rules and alerts, and readiness history.

Synced tables (Experiment, Run, RegisteredModel, ModelVersion, LoggedModel, MetricPoint) mirror MLflow and are
written only by the sync (apps.mlops.services.sync). Each belongs to at most one initiative, resolved from an
explicit ModelLink or the tag `pilotlight.initiative=<key>`; users see a synced row only when they may see that
initiative (restrict() through `scope_*`). Unlinked rows are visible to portfolio-wide readers only.

Connections are managed by portfolio admins only; their secrets are Fernet-encrypted (apps.mlops.crypto).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.access import ScopedByInitiative
from apps.core.models import Job, TimeStampedModel
from apps.mlops.choices import (
    AlertStatus,
    AuthType,
    LinkKind,
    LinkSource,
    Resolution,
    RuleKind,
    Severity,
    SyncErrorKind,
)
from apps.portfolio.models import Initiative


class MLflowConnection(TimeStampedModel):
    """One MLflow tracking server the workers pull from (admin-managed; the secret is encrypted at rest)."""

    name = models.CharField(max_length=100, unique=True)
    tracking_uri = models.CharField(
        max_length=500, help_text="HTTP(S) URL of the tracking server; for Databricks, the workspace URL."
    )
    auth_type = models.CharField(max_length=16, choices=AuthType.choices, default=AuthType.NONE)
    username = models.CharField(max_length=150, blank=True, help_text="For basic authentication.")
    secret_encrypted = models.TextField(blank=True, editable=False)
    verify_tls = models.BooleanField(default=True, help_text="Verify the server's TLS certificate.")
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Per request; a slow server fails fast and the sync is retried later.",
    )
    enabled = models.BooleanField(default=True, help_text="Disabled connections are not synced on schedule.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["name"]
        verbose_name = "MLflow connection"

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class SyncState(models.Model):
    """Watermarks and health of one connection's sync: operational state written by every sync (not audited)."""

    connection = models.OneToOneField(MLflowConnection, primary_key=True, on_delete=models.CASCADE,
                                      related_name="state")
    runs_watermark = models.BigIntegerField(
        null=True, blank=True, help_text="Latest run start/end time seen (ms since epoch), committed with the data."
    )
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_kind = models.CharField(max_length=16, choices=SyncErrorKind.choices, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_result = models.JSONField(default=dict, blank=True)
    last_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    server_version = models.CharField(max_length=40, blank=True)
    supports_logged_models = models.BooleanField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync state of connection {self.connection_id}"

    @property
    def healthy(self) -> bool:
        """The last attempt succeeded."""
        return self.last_success_at is not None and (
            self.last_error_at is None or self.last_error_at <= self.last_success_at
        )


class _Synced(models.Model):
    """Fields every synced row has: its connection and when the sync last changed it."""

    connection = models.ForeignKey(MLflowConnection, on_delete=models.CASCADE, related_name="+")
    synced_at = models.DateTimeField(help_text="When a sync last inserted or changed this row.")

    class Meta:
        abstract = True


class Experiment(ScopedByInitiative, _Synced):
    """An MLflow experiment."""

    experiment_id = models.CharField(max_length=64)
    name = models.CharField(max_length=500)
    lifecycle_stage = models.CharField(max_length=16, default="active")
    artifact_location = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    mlflow_created_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_at = models.DateTimeField(null=True, blank=True)
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="mlflow_experiments")
    link_source = models.CharField(max_length=16, choices=LinkSource.choices, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["connection", "experiment_id"], name="mlops_experiment_key")]
        indexes = [models.Index(fields=["initiative", "name"], name="mlops_experiment_initiative")]

    def __str__(self) -> str:
        return self.name


class Run(ScopedByInitiative, _Synced):
    """An MLflow run: status, times, user, latest metrics ({key: [value, timestamp_ms, step]}), params and tags."""

    run_id = models.CharField(max_length=64)
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    name = models.CharField(max_length=250, blank=True)
    status = models.CharField(max_length=16)
    user_id = models.CharField(max_length=250, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    lifecycle_stage = models.CharField(max_length=16, default="active")
    artifact_uri = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    datasets = models.JSONField(default=list, blank=True, help_text="Dataset inputs (data lineage).")
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="mlflow_runs")
    link_source = models.CharField(max_length=16, choices=LinkSource.choices, blank=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        constraints = [models.UniqueConstraint(fields=["connection", "run_id"], name="mlops_run_key")]
        indexes = [
            models.Index(fields=["initiative", "-start_time"], name="mlops_run_initiative_start"),
            models.Index(fields=["experiment", "-start_time"], name="mlops_run_experiment_start"),
            models.Index(fields=["connection", "status"], name="mlops_run_connection_status"),
        ]

    def __str__(self) -> str:
        return self.name or self.run_id


class RegisteredModel(ScopedByInitiative, _Synced):
    """A registered model with its tags and aliases ({alias: version})."""

    name = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=dict, blank=True)
    mlflow_created_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_at = models.DateTimeField(null=True, blank=True)
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="registered_models")
    link_source = models.CharField(max_length=16, choices=LinkSource.choices, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["connection", "name"], name="mlops_registeredmodel_key")]
        indexes = [models.Index(fields=["initiative", "name"], name="mlops_model_initiative")]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """One version of a registered model: source run, tags, and the aliases that point at it."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    aliases = models.JSONField(default=list, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    source = models.TextField(blank=True)
    status = models.CharField(max_length=32, blank=True)
    current_stage = models.CharField(max_length=32, blank=True, help_text="Deprecated MLflow stage, when set.")
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    model_card = models.CharField(max_length=500, blank=True,
                                  help_text="Path of a model card file among its source run's artifacts, if any.")
    mlflow_created_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    scope_unit_field = "registered_model__initiative__business_unit"
    scope_owner_fields = ("registered_model__initiative__owner", "registered_model__initiative__technical_lead")
    scope_initiative_field = "registered_model__initiative_id"

    class Meta:
        ordering = ["registered_model_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["registered_model", "version"], name="mlops_modelversion_key")]

    def __str__(self) -> str:
        return f"{self.registered_model_id} v{self.version}"


class LoggedModel(ScopedByInitiative, _Synced):
    """An MLflow 3 LoggedModel (id m-<32 hex>)."""

    model_id = models.CharField(max_length=64)
    experiment_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=500, blank=True)
    source_run_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32, blank=True)
    model_type = models.CharField(max_length=100, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    mlflow_created_at = models.DateTimeField(null=True, blank=True)
    mlflow_updated_at = models.DateTimeField(null=True, blank=True)
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="logged_models")
    link_source = models.CharField(max_length=16, choices=LinkSource.choices, blank=True)

    class Meta:
        ordering = ["-mlflow_created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["connection", "model_id"], name="mlops_loggedmodel_key")]
        indexes = [models.Index(fields=["initiative"], name="mlops_loggedmodel_initiative")]

    def __str__(self) -> str:
        return self.name or self.model_id


class MetricPoint(models.Model):
    """One logged value of a monitored metric of a run (history, for charts and rule evaluation)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="points")
    key = models.CharField(max_length=250)
    step = models.BigIntegerField(default=0)
    logged_at = models.DateTimeField()
    value = models.FloatField()

    scope_unit_field = "run__initiative__business_unit"
    scope_owner_fields = ("run__initiative__owner", "run__initiative__technical_lead")
    scope_initiative_field = "run__initiative_id"

    class Meta:
        ordering = ["run_id", "key", "logged_at", "step"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key", "logged_at", "step"], name="mlops_metricpoint_key")
        ]
        indexes = [models.Index(fields=["key", "logged_at"], name="mlops_point_key_time")]

    def __str__(self) -> str:
        return f"{self.key}={self.value} @ {self.logged_at:%Y-%m-%d %H:%M}"


class ModelLink(ScopedByInitiative, TimeStampedModel):
    """An explicit link from an initiative to an MLflow experiment (by id) or registered model (by name)."""

    connection = models.ForeignKey(MLflowConnection, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=20, choices=LinkKind.choices)
    target = models.CharField(max_length=500, help_text="Experiment id, or registered model name.")
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="model_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["initiative_id", "kind", "target"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "kind", "target"], name="mlops_link_one_initiative")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target} → initiative {self.initiative_id}"


class MonitoringRule(ScopedByInitiative, TimeStampedModel):
    """A check on a metric of an initiative's (or one model's) runs, evaluated after every sync."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="monitoring_rules")
    model_name = models.CharField(
        max_length=500, blank=True,
        help_text="Only this registered model: runs tagged pilotlight.model=<name> or the source runs of its "
                  "versions. Empty: every run of the initiative.",
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    metric_key = models.CharField(max_length=250, blank=True, help_text="MLflow metric key (not for staleness).")
    min_value = models.FloatField(null=True, blank=True, help_text="Threshold: breach below this value.")
    max_value = models.FloatField(null=True, blank=True, help_text="Threshold: breach above this value.")
    drop_tolerance = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Relative drop: breach when a value is more than this share below the baseline mean (0.05 = 5%).",
    )
    higher_is_better = models.BooleanField(default=True, help_text="Relative drop: direction of the metric.")
    window_days = models.PositiveSmallIntegerField(default=7, validators=[MinValueValidator(1)],
                                                   help_text="Relative drop: the recent window compared.")
    baseline_days = models.PositiveSmallIntegerField(default=30, validators=[MinValueValidator(1)],
                                                     help_text="Relative drop: the baseline window before it.")
    drift_limit = models.FloatField(null=True, blank=True,
                                    help_text="Drift: breach at or above this score (PSI 0.25 = major shift).")
    stale_days = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1)],
                                                  help_text="Staleness: no new run or model version for N days.")
    consecutive_breaches = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Open an alert only after this many breaching values in a row.",
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    recipients = models.JSONField(default=list, blank=True, help_text="Emails notified besides the owner.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["initiative_id", "name", "id"]
        indexes = [models.Index(fields=["active", "kind"], name="mlops_rule_active_kind")]

    def __str__(self) -> str:
        return self.name


class Alert(ScopedByInitiative, TimeStampedModel):
    """A breach of a monitoring rule: open → acknowledged → resolved (automatically when the rule holds again)."""

    rule = models.ForeignKey(MonitoringRule, on_delete=models.CASCADE, related_name="alerts")
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="alerts")
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True)
    observed_value = models.FloatField(null=True, blank=True)
    episode_start = models.DateTimeField(help_text="When the breach that opened this alert began.")
    last_breach_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule"], condition=~Q(status=AlertStatus.RESOLVED),
                                    name="mlops_alert_one_active_per_rule"),
        ]
        indexes = [
            models.Index(fields=["status", "-opened_at"], name="mlops_alert_status_opened"),
            models.Index(fields=["initiative", "status"], name="mlops_alert_initiative_status"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status != AlertStatus.RESOLVED


class ReadinessSnapshot(ScopedByInitiative, models.Model):
    """The MLOps readiness scorecard of an initiative at one moment; written when it changes (score history)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="readiness_snapshots")
    computed_at = models.DateTimeField()
    score = models.PositiveSmallIntegerField(help_text="Passed checks as a percentage of the applicable ones.")
    passed = models.PositiveSmallIntegerField()
    applicable = models.PositiveSmallIntegerField()
    checks = models.JSONField(default=list, help_text="[{code, label, status, reason}]")

    class Meta:
        ordering = ["initiative_id", "-computed_at", "-id"]
        indexes = [models.Index(fields=["initiative", "-computed_at"], name="mlops_readiness_latest")]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.score}% at {self.computed_at:%Y-%m-%d %H:%M}"
