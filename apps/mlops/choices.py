from django.db import models


class AuthType(models.TextChoices):
    NONE = "none", "No authentication"
    BASIC = "basic", "Basic (username and password)"
    BEARER = "bearer", "Bearer token"
    DATABRICKS = "databricks", "Databricks (workspace URL and personal access token)"


class LinkKind(models.TextChoices):
    EXPERIMENT = "experiment", "Experiment"
    REGISTERED_MODEL = "registered_model", "Registered model"


class LinkSource(models.TextChoices):
    """How a synced object came to belong to an initiative."""

    NONE = "", "Not linked"
    EXPLICIT = "explicit", "Linked explicitly"
    TAG = "tag", "Tag pilotlight.initiative"
    EXPERIMENT = "experiment", "Through its experiment"
    RUN = "run", "Through its source run"


class RunStatus(models.TextChoices):
    RUNNING = "RUNNING", "Running"
    SCHEDULED = "SCHEDULED", "Scheduled"
    FINISHED = "FINISHED", "Finished"
    FAILED = "FAILED", "Failed"
    KILLED = "KILLED", "Killed"


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", "Threshold (min / max)"
    RELATIVE_DROP = "relative_drop", "Relative drop vs baseline window"
    DRIFT = "drift", "Drift score above limit"
    STALENESS = "staleness", "Staleness (retraining overdue)"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Resolution(models.TextChoices):
    NONE = "", "—"
    AUTO = "auto", "Resolved automatically (the rule holds again)"
    MANUAL = "manual", "Resolved by a person"


class CheckStatus(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    NOT_APPLICABLE = "n/a", "Not applicable"


class SyncErrorKind(models.TextChoices):
    NONE = "", "—"
    UNREACHABLE = "unreachable", "MLflow unreachable"
    TIMEOUT = "timeout", "MLflow timed out"
    SERVER_ERROR = "server_error", "MLflow server error"
    AUTH = "auth", "Credentials refused"
    TLS = "tls", "TLS certificate not verified"
    BAD_REQUEST = "bad_request", "Request refused"
    NOT_FOUND = "not_found", "Not found"
    ERROR = "error", "Error"
