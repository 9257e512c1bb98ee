from django.db import models


class SourceKind(models.TextChoices):
    FOCUS = "focus", "FOCUS files"
    AWS = "aws", "AWS Cost Explorer"
    AZURE = "azure", "Azure Cost Management"


class ImportOrigin(models.TextChoices):
    UPLOAD = "upload", "Upload"
    FOLDER = "folder", "Folder"
    COMMAND = "command", "Command line"
    AWS = "aws", "AWS Cost Explorer pull"
    AZURE = "azure", "Azure Cost Management pull"
    DEMO = "demo", "Demo data"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RuleKind(models.TextChoices):
    TAG = "tag", "Tag"
    SUB_ACCOUNT = "sub_account", "Sub-account"
    RESOURCE_PREFIX = "resource_prefix", "Resource id prefix"


class AwsMetric(models.TextChoices):
    """Cost Explorer metric used as EffectiveCost (BilledCost is always UnblendedCost)."""

    AMORTIZED = "AmortizedCost", "Amortized cost"
    NET_AMORTIZED = "NetAmortizedCost", "Net amortized cost"
    UNBLENDED = "UnblendedCost", "Unblended cost"


class AzureCostType(models.TextChoices):
    ACTUAL = "ActualCost", "Actual cost"
    AMORTIZED = "AmortizedCost", "Amortized cost"
