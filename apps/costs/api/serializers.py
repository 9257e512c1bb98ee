"""Input and output serializers for the cost API. Inputs only validate; the services write."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import BusinessUnit
from apps.core.api.serializers import JobOutputSerializer
from apps.costs.choices import AwsMetric, AzureCostType, RuleKind, SourceKind
from apps.costs.models import (
    AllocationRule,
    CostAllocation,
    CostImport,
    CostImportError,
    CostRecord,
    CostSource,
    FxRate,
)
from apps.portfolio.models import Initiative


class AmountField(serializers.DecimalField):
    """An exact decimal amount as a string, with as many decimals as it has (never a float)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(max_digits=None, decimal_places=None, coerce_to_string=True, **kwargs)

    def to_representation(self, value) -> str | None:
        if value is None:
            return None
        # Exact, without the trailing zeros share arithmetic leaves (and never in exponent notation).
        text = format(Decimal(value).normalize(), "f")
        return "0" if text in ("-0", "") else text


# --- sources -----------------------------------------------------------------------------------------------------


class CostSourceOutputSerializer(serializers.ModelSerializer):
    """A cost source and when it was last pulled."""

    import_count = serializers.IntegerField(read_only=True, help_text="Imports into this source so far.")

    class Meta:
        model = CostSource
        fields = [
            "id", "name", "kind", "enabled", "folder", "tag_key", "aws_role_arn", "aws_region", "aws_metric",
            "azure_scope", "azure_cost_type", "lookback_days", "initial_days", "last_pulled_at", "pulled_until",
            "last_error", "import_count", "created_at", "updated_at",
        ]
        read_only_fields = fields


class CostSourceInputSerializer(serializers.Serializer):
    """The settings of a cost source; only the fields of its kind matter."""

    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    enabled = serializers.BooleanField(required=False)
    folder = serializers.CharField(max_length=255, required=False, allow_blank=True)
    tag_key = serializers.CharField(max_length=128, required=False)
    aws_role_arn = serializers.CharField(max_length=255, required=False, allow_blank=True)
    aws_external_id = serializers.CharField(max_length=255, required=False, allow_blank=True, write_only=True)
    aws_region = serializers.CharField(max_length=32, required=False)
    aws_metric = serializers.ChoiceField(choices=AwsMetric.choices, required=False)
    azure_scope = serializers.CharField(max_length=255, required=False, allow_blank=True)
    azure_cost_type = serializers.ChoiceField(choices=AzureCostType.choices, required=False)
    lookback_days = serializers.IntegerField(min_value=0, max_value=90, required=False)
    initial_days = serializers.IntegerField(min_value=1, max_value=730, required=False)


class CostSourcePullInputSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day to pull (API sources); default: the pull "
                                                            "window (last pull minus the look-back).")
    end = serializers.DateField(required=False, help_text="Day after the last one to pull; default: today.")


# --- imports -----------------------------------------------------------------------------------------------------


class ImportFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField(required=False)


class CostImportOutputSerializer(serializers.ModelSerializer):
    """An import: its files, the periods it covers, what it wrote, and its Job (poll it for progress)."""

    source_name = serializers.CharField(source="source.name", read_only=True)
    files = serializers.SerializerMethodField()
    job = JobOutputSerializer(read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CostImport
        fields = [
            "id", "source", "source_name", "origin", "status", "files", "requested_start", "requested_end",
            "period_start", "period_end", "rows_imported", "rows_replaced", "error_count", "totals", "error",
            "attempts", "job", "requested_by", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ImportFileSerializer(many=True))
    def get_files(self, obj: CostImport) -> list[dict]:
        return [{"name": entry.get("name", ""), "size": entry.get("size", 0), "sha256": entry.get("sha256", "")}
                for entry in obj.files]


class CostImportCreateInputSerializer(serializers.Serializer):
    """A multipart upload: the source and one or more FOCUS files (CSV, gzip CSV or Parquet) forming one import."""

    source = serializers.PrimaryKeyRelatedField(queryset=CostSource.objects.all())
    file = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=False,
                                 help_text="Repeat the field to send the parts of one export together.")


class CostImportErrorSerializer(serializers.ModelSerializer):
    """One row-level problem of a failed import."""

    class Meta:
        model = CostImportError
        fields = ["file", "line", "column", "value", "reason"]
        read_only_fields = fields


class CostImportAcceptedSerializer(serializers.Serializer):
    """202: the import was accepted and queued; poll the job (or the import) until it finishes."""

    cost_import = CostImportOutputSerializer(source="*")
    job = JobOutputSerializer()


class CostSourcePulledSerializer(serializers.Serializer):
    """202: the imports the pull queued (none when a FOCUS folder had nothing new)."""

    imports = CostImportOutputSerializer(many=True)


# --- records -----------------------------------------------------------------------------------------------------


class AllocationShareSerializer(serializers.ModelSerializer):
    """The share of a line item's cost going to an initiative, a business unit, or nowhere (both empty)."""

    initiative = serializers.SlugRelatedField(slug_field="key", read_only=True)
    business_unit = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    share = serializers.DecimalField(max_digits=13, decimal_places=12, read_only=True)

    class Meta:
        model = CostAllocation
        fields = ["initiative", "business_unit", "rule", "share"]
        read_only_fields = fields


class CostRecordOutputSerializer(serializers.ModelSerializer):
    """A FOCUS line item as imported; amounts in its billing currency."""

    billed_cost = AmountField()
    effective_cost = AmountField()
    consumed_quantity = AmountField(allow_null=True)
    tags = serializers.JSONField(source="dimension.tags", read_only=True)
    allocations = serializers.SerializerMethodField(help_text="Where its cost goes (the shares you may see).")

    class Meta:
        model = CostRecord
        fields = [
            "id", "source", "cost_import", "line", "charge_period_start", "charge_period_end", "charge_category",
            "billed_cost", "effective_cost", "billing_currency", "provider_name", "service_name", "service_category",
            "sub_account_id", "sub_account_name", "resource_id", "resource_name", "region_id", "sku_id",
            "consumed_quantity", "tags", "extra", "allocations",
        ]
        read_only_fields = fields

    @extend_schema_field(AllocationShareSerializer(many=True))
    def get_allocations(self, obj: CostRecord) -> list[dict]:
        shares = getattr(obj.dimension, "visible_allocations", [])
        return AllocationShareSerializer(shares, many=True).data


# --- allocation rules --------------------------------------------------------------------------------------------


class AllocationRuleOutputSerializer(serializers.ModelSerializer):
    """An allocation rule, in the order rules apply (lower priority numbers first)."""

    initiative = serializers.SlugRelatedField(slug_field="key", read_only=True)
    business_unit = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    matcher = serializers.CharField(read_only=True, help_text="The condition in words.")

    class Meta:
        model = AllocationRule
        fields = ["id", "name", "kind", "tag_key", "tag_value", "sub_account_id", "resource_prefix", "initiative",
                  "business_unit", "priority", "share", "enabled", "note", "matcher", "created_at", "updated_at"]
        read_only_fields = fields


class AllocationRuleInputSerializer(serializers.Serializer):
    """A rule: a condition (tag key and value, sub-account, or resource-id prefix) and a target (initiative key or
    business unit slug) with a share. A tag rule without value and without target reads the value as an
    initiative key."""

    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    tag_key = serializers.CharField(max_length=128, required=False, allow_blank=True)
    tag_value = serializers.CharField(max_length=256, required=False, allow_blank=True)
    sub_account_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    resource_prefix = serializers.CharField(max_length=512, required=False, allow_blank=True)
    initiative = serializers.SlugRelatedField(slug_field="key", queryset=Initiative.objects.all(), required=False,
                                              allow_null=True)
    business_unit = serializers.SlugRelatedField(slug_field="slug", queryset=BusinessUnit.objects.all(),
                                                 required=False, allow_null=True)
    priority = serializers.IntegerField(min_value=0, required=False)
    share = serializers.DecimalField(max_digits=7, decimal_places=6, required=False)
    enabled = serializers.BooleanField(required=False)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


# --- FX rates ----------------------------------------------------------------------------------------------------


class FxRateOutputSerializer(serializers.ModelSerializer):
    """1 unit of `currency` is worth `rate` units of the reporting currency from `valid_from` on."""

    rate = serializers.DecimalField(max_digits=20, decimal_places=10, read_only=True)

    class Meta:
        model = FxRate
        fields = ["id", "currency", "valid_from", "rate", "note", "created_at", "updated_at"]
        read_only_fields = fields


class FxRateInputSerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=8, help_text="ISO 4217 code, e.g. USD.")
    valid_from = serializers.DateField()
    rate = serializers.DecimalField(max_digits=20, decimal_places=10,
                                    help_text="Units of the reporting currency per unit of `currency`.")
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


class FxRateUploadInputSerializer(serializers.Serializer):
    csv = serializers.CharField(help_text="Lines `currency,valid_from,rate[,note]`; a header line is allowed.")


class FxRateUploadedSerializer(serializers.Serializer):
    saved = serializers.IntegerField()
    job = JobOutputSerializer(help_text="The re-conversion of the daily rollup it queued.")


class DeletedSerializer(serializers.Serializer):
    """200 after a delete: what was deleted and the re-allocation job it queued."""

    deleted = serializers.IntegerField()
    job = JobOutputSerializer()


# --- financials --------------------------------------------------------------------------------------------------


class ServiceCostSerializer(serializers.Serializer):
    service = serializers.CharField()
    cost = AmountField()


class MonthCostSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the month.")
    cost = AmountField()
    cumulative = AmountField(help_text="Cost to the end of this month.")
    by_service = serializers.SerializerMethodField()

    @extend_schema_field(ServiceCostSerializer(many=True))
    def get_by_service(self, obj) -> list[dict]:
        return [{"service": name, "cost": AmountField().to_representation(cost)}
                for name, cost in sorted(obj.by_service.items())]


class FinancialsOutputSerializer(serializers.Serializer):
    """Cost and return of one initiative, in the reporting currency."""

    initiative = serializers.CharField(source="initiative.key")
    currency = serializers.CharField(help_text="The reporting currency (REPORTING_CURRENCY).")
    cost_to_date = AmountField()
    run_rate = AmountField(help_text="Monthly run rate: average of the last 3 complete months.")
    budget = AmountField(allow_null=True)
    budget_used = AmountField(allow_null=True, help_text="Burn: cost to date / budget.")
    budget_remaining = AmountField(allow_null=True)
    budget_exhausted_month = serializers.DateField(allow_null=True,
                                                   help_text="When the budget runs out at the run rate.")
    realized_value = AmountField(allow_null=True, help_text="Sum of the KPIs' realized values.")
    value_date = serializers.DateField(allow_null=True, help_text="Latest KPI measurement behind the value.")
    roi = AmountField(allow_null=True, help_text="(realized value − cost) / cost.")
    payback_month = serializers.DateField(allow_null=True)
    paid_back = serializers.BooleanField()
    first_day = serializers.DateField(allow_null=True)
    last_day = serializers.DateField(allow_null=True)
    unconverted_currencies = serializers.ListField(
        child=serializers.CharField(), help_text="Billing currencies without an FX rate (their cost is not counted)."
    )
    services = serializers.SerializerMethodField()
    months = MonthCostSerializer(many=True)

    @extend_schema_field(ServiceCostSerializer(many=True))
    def get_services(self, obj) -> list[dict]:
        return [{"service": name, "cost": AmountField().to_representation(cost)} for name, cost in obj.services]
