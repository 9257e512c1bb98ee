"""Cloud costs: sources, imports, FOCUS line items, allocation to initiatives and business units, FX rates.

Line items (CostRecord) are high-volume and written only by apps.costs.pipeline with COPY and set-based SQL; they
are not row-audited (each import and each re-allocation is one audit event instead). What a person configures —
sources, allocation rules and FX rates — is governed data with audit triggers.

How allocation is stored: records point at a CostDimension, the distinct (sub-account, resource id, tags) they were
billed under; rules are evaluated per dimension into CostAllocation rows whose shares sum to exactly 1 (the part no
rule claims is an allocation with neither initiative nor unit: unallocated). CostDaily is the rollup every page and
the financials endpoint read: cost per day, allocation target and service, converted to the reporting currency.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.accounts.models import BusinessUnit
from apps.core.models import Job, TimeStampedModel
from apps.costs.choices import AwsMetric, AzureCostType, ImportOrigin, ImportStatus, RuleKind, SourceKind
from apps.portfolio.models import Initiative

DEFAULT_TAG_KEY = "pilotlight-initiative"
# Amounts and quantities must be finite and below 10^18 (NaN and Infinity are numeric in PostgreSQL: refused here).
AMOUNT_LIMIT = Decimal(10) ** 18


class Amount(models.DecimalField):
    """A decimal stored as PostgreSQL `numeric` without precision: billing amounts are kept exactly as the
    provider wrote them (no rounding, no overflow); Python sees Decimals."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 38)
        kwargs.setdefault("decimal_places", 12)
        super().__init__(*args, **kwargs)

    def db_type(self, connection) -> str:
        return "numeric"


class CostSource(TimeStampedModel):
    """Where costs come from: FOCUS files (uploads or a folder), AWS Cost Explorer or Azure Cost Management.

    Managed by portfolio admins; read by executives and admins. Each import replaces this source's line items for the
    charge periods it covers, so sources must not overlap (one source per billing export or account).
    """

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    enabled = models.BooleanField(default=True, help_text="Pulled every day by the scheduler.")
    folder = models.CharField(
        max_length=255, blank=True,
        help_text="FOCUS files: folder under COST_IMPORT_DIR scanned by the daily pull (new files are imported).",
    )
    tag_key = models.CharField(
        max_length=128, default=DEFAULT_TAG_KEY,
        help_text="AWS and Azure: the cost-allocation tag the pull groups by.",
    )
    aws_role_arn = models.CharField(
        max_length=255, blank=True,
        help_text="AWS: role to assume (STS) for Cost Explorer; empty uses the standard credential chain.",
    )
    aws_external_id = models.CharField(max_length=255, blank=True)
    aws_region = models.CharField(max_length=32, default="us-east-1")
    aws_metric = models.CharField(max_length=32, choices=AwsMetric.choices, default=AwsMetric.AMORTIZED)
    azure_scope = models.CharField(
        max_length=255, blank=True, help_text="Azure: e.g. /subscriptions/<id> or a billing account scope.",
    )
    azure_cost_type = models.CharField(max_length=16, choices=AzureCostType.choices, default=AzureCostType.ACTUAL)
    lookback_days = models.PositiveSmallIntegerField(
        default=5, validators=[MaxValueValidator(90)],
        help_text="API pulls re-read this many days before the last pull, because providers restate recent costs.",
    )
    initial_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(730)],
        help_text="API pulls: how far back the first pull reaches.",
    )
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    pulled_until = models.DateField(null=True, blank=True, help_text="Exclusive end of the last successful pull.")
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CostImport(models.Model):
    """One import into a source — uploaded or found files, or an API pull — run as a Job, all or nothing."""

    source = models.ForeignKey(CostSource, on_delete=models.PROTECT, related_name="imports")
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="cost_import")
    origin = models.CharField(max_length=16, choices=ImportOrigin.choices)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED,
                              db_index=True)
    files = models.JSONField(default=list, blank=True, help_text="[{name, path, size, sha256, format}]")
    requested_start = models.DateField(null=True, blank=True, help_text="API pulls: first day requested.")
    requested_end = models.DateField(null=True, blank=True, help_text="API pulls: day after the last one requested.")
    period_start = models.DateTimeField(null=True, blank=True, help_text="Covered charge periods (inclusive).")
    period_end = models.DateTimeField(null=True, blank=True, help_text="Covered charge periods (exclusive).")
    rows_imported = models.BigIntegerField(default=0)
    rows_replaced = models.BigIntegerField(default=0, help_text="Earlier line items of the period it replaced.")
    error_count = models.BigIntegerField(default=0)
    totals = models.JSONField(default=dict, blank=True, help_text="{currency: {billed, effective}} imported.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of a running import.")
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "-created_at"], name="costimport_source_created")]

    def __str__(self) -> str:
        return f"Import #{self.pk} into {self.source_id} ({self.status})"

    @property
    def file_names(self) -> list[str]:
        return [entry.get("name", "") for entry in self.files]

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)


class CostImportError(models.Model):
    """One row-level problem of a failed import: where (file, line, column), the value and why."""

    cost_import = models.ForeignKey(CostImport, on_delete=models.CASCADE, related_name="errors")
    file = models.CharField(max_length=255, blank=True)
    line = models.BigIntegerField(null=True, blank=True)
    column = models.CharField(max_length=128, blank=True)
    value = models.TextField(blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["cost_import_id", "id"]

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.column}: {self.reason}"


class CostDimension(models.Model):
    """A distinct (sub-account, resource id, tags) combination line items were billed under; allocation rules are
    evaluated once per dimension rather than once per line item."""

    fingerprint = models.UUIDField(unique=True)
    sub_account_id = models.TextField(blank=True)
    resource_id = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.sub_account_id or '—'} {self.resource_id or '—'} {self.tags}"


class CostRecord(models.Model):
    """One FOCUS cost line item, amounts in its billing currency (written only by the import pipeline)."""

    # No database-level foreign keys on this high-volume table: the pipeline is its only writer and checks them;
    # per-row RI triggers would halve the import rate.
    source = models.ForeignKey(CostSource, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="+")
    cost_import = models.ForeignKey(CostImport, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                    related_name="+")
    dimension = models.ForeignKey(CostDimension, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                  related_name="records")
    line = models.BigIntegerField(help_text="Line (CSV) or row (Parquet) in its file.")
    charge_period_start = models.DateTimeField()
    charge_period_end = models.DateTimeField()
    charge_category = models.CharField(max_length=16)
    billed_cost = Amount()
    effective_cost = Amount()
    billing_currency = models.CharField(max_length=3)
    provider_name = models.TextField()
    service_name = models.TextField(blank=True)
    service_category = models.TextField(blank=True)
    sub_account_id = models.TextField(blank=True)
    sub_account_name = models.TextField(blank=True)
    resource_id = models.TextField(blank=True)
    resource_name = models.TextField(blank=True)
    region_id = models.TextField(blank=True)
    sku_id = models.TextField(blank=True)
    consumed_quantity = Amount(null=True, blank=True)
    extra = models.JSONField(null=True, blank=True, help_text="The file's x_ custom columns.")

    class Meta:
        # Few, cheap indexes: each one costs import time on every line. (source, start) serves the replacement
        # delete and the rollup; the BRIN index date-range filters; the primary key the newest-first listing.
        indexes = [
            models.Index(fields=["source", "charge_period_start"], name="costrecord_source_start"),
            BrinIndex(fields=["charge_period_start"], name="costrecord_start_brin"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(billed_cost__gt=-AMOUNT_LIMIT, billed_cost__lt=AMOUNT_LIMIT),
                                   name="costrecord_billed_cost_finite"),
            models.CheckConstraint(
                condition=models.Q(effective_cost__gt=-AMOUNT_LIMIT, effective_cost__lt=AMOUNT_LIMIT),
                name="costrecord_effective_cost_finite"),
            models.CheckConstraint(
                condition=models.Q(consumed_quantity__isnull=True)
                | models.Q(consumed_quantity__gt=-AMOUNT_LIMIT, consumed_quantity__lt=AMOUNT_LIMIT),
                name="costrecord_consumed_quantity_finite"),
        ]

    def __str__(self) -> str:
        return f"{self.charge_period_start:%Y-%m-%d} {self.service_name} {self.effective_cost} {self.billing_currency}"


class AllocationRule(TimeStampedModel):
    """Send the cost of matching line items to an initiative or a business unit, in whole or in part.

    Matching: a tag key and value (a tag rule without a value reads the value as an initiative key), a sub-account,
    or a resource-id prefix. Lower priority numbers win; all rules matching at the winning priority split the cost
    by their shares (scaled down if they exceed 1; a remainder stays unallocated). The built-in tag convention
    (`pilotlight-initiative` = initiative key) applies at COST_TAG_CONVENTION_PRIORITY.
    """

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    tag_key = models.CharField(max_length=128, blank=True)
    tag_value = models.CharField(max_length=256, blank=True)
    sub_account_id = models.CharField(max_length=128, blank=True)
    resource_prefix = models.CharField(max_length=512, blank=True)
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="allocation_rules")
    business_unit = models.ForeignKey(BusinessUnit, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="allocation_rules")
    priority = models.PositiveIntegerField(default=100, help_text="Lower numbers are applied first.")
    share = models.DecimalField(max_digits=7, decimal_places=6, default=Decimal(1),
                                validators=[MinValueValidator(Decimal("0.000001")), MaxValueValidator(Decimal(1))],
                                help_text="Share of the matching cost, 0–1.")
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=255, blank=True)

    scope_unit_field = "business_unit"
    scope_owner_fields: tuple[str, ...] = ()
    scope_initiative_field = "initiative_id"

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(initiative__isnull=False, business_unit__isnull=True)
                | models.Q(initiative__isnull=True, business_unit__isnull=False)
                | models.Q(kind="tag", tag_value="", initiative__isnull=True, business_unit__isnull=True),
                name="allocationrule_one_target",
            ),
            models.CheckConstraint(condition=models.Q(share__gt=0, share__lte=1), name="allocationrule_share_range"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def matcher(self) -> str:
        """The condition in words, e.g. 'tag team = fraud'."""
        if self.kind == RuleKind.TAG:
            return f"tag {self.tag_key} = {self.tag_value}" if self.tag_value else f"tag {self.tag_key} = <key>"
        if self.kind == RuleKind.SUB_ACCOUNT:
            return f"sub-account {self.sub_account_id}"
        return f"resource id starts with {self.resource_prefix}"


class CostAllocation(models.Model):
    """The share of a dimension's cost that goes to an initiative, a business unit, or nowhere (unallocated)."""

    dimension = models.ForeignKey(CostDimension, on_delete=models.CASCADE, related_name="allocations")
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    business_unit = models.ForeignKey(BusinessUnit, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    rule = models.ForeignKey(AllocationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="Empty for the tag convention and for the unallocated remainder.")
    share = models.DecimalField(max_digits=13, decimal_places=12)

    scope_unit_field = "business_unit"
    scope_owner_fields: tuple[str, ...] = ()
    scope_initiative_field = "initiative_id"

    class Meta:
        indexes = [models.Index(fields=["initiative"], name="costallocation_initiative")]

    def __str__(self) -> str:
        return f"{self.dimension_id} → {self.initiative_id or self.business_unit_id or 'unallocated'} × {self.share}"


class CostDaily(models.Model):
    """Daily rollup of allocated cost per source, target and service; what pages and the API aggregate."""

    source = models.ForeignKey(CostSource, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="+")
    day = models.DateField()
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
                                   related_name="+")
    business_unit = models.ForeignKey(BusinessUnit, null=True, blank=True, on_delete=models.SET_NULL,
                                      db_index=False, related_name="+",
                                      help_text="Set for cost allocated to a unit directly (not via an initiative).")
    provider_name = models.TextField()
    service_name = models.TextField(blank=True)
    service_category = models.TextField(blank=True)
    sub_account_id = models.TextField(blank=True)
    charge_category = models.CharField(max_length=16)
    billing_currency = models.CharField(max_length=3)
    billed_cost = Amount()
    effective_cost = Amount()
    cost = Amount(null=True, blank=True,
                  help_text="Effective cost in the reporting currency; empty while no FX rate is known.")
    records = models.BigIntegerField(default=0)

    scope_unit_field = "business_unit"
    scope_owner_fields: tuple[str, ...] = ()
    scope_initiative_field = "initiative_id"

    class Meta:
        indexes = [
            models.Index(fields=["initiative", "day"], name="costdaily_initiative_day"),
            models.Index(fields=["business_unit", "day"], name="costdaily_unit_day"),
            models.Index(fields=["source", "day"], name="costdaily_source_day"),
            models.Index(fields=["day"], name="costdaily_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.initiative_id or self.business_unit_id or '—'} {self.service_name} {self.cost}"


class CostMonthly(models.Model):
    """Monthly rollup of CostDaily per source, target, service and currency: what the financials endpoint, the
    initiative page and the portfolio figures read (a few hundred rows for years of an initiative's costs)."""

    source = models.ForeignKey(CostSource, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="+")
    month = models.DateField(help_text="First day of the month.")
    initiative = models.ForeignKey(Initiative, null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
                                   related_name="+")
    business_unit = models.ForeignKey(BusinessUnit, null=True, blank=True, on_delete=models.SET_NULL,
                                      db_index=False, related_name="+")
    service_name = models.TextField(blank=True)
    billing_currency = models.CharField(max_length=3)
    billed_cost = Amount()
    effective_cost = Amount()
    cost = Amount(null=True, blank=True, help_text="Effective cost in the reporting currency.")
    records = models.BigIntegerField(default=0)
    first_day = models.DateField()
    last_day = models.DateField()

    scope_unit_field = "business_unit"
    scope_owner_fields: tuple[str, ...] = ()
    scope_initiative_field = "initiative_id"

    class Meta:
        indexes = [
            models.Index(fields=["initiative", "month"], name="costmonthly_initiative_month"),
            models.Index(fields=["source", "month"], name="costmonthly_source_month"),
        ]

    def __str__(self) -> str:
        target = self.initiative_id or self.business_unit_id or "—"
        return f"{self.month:%Y-%m} {target} {self.service_name} {self.cost}"


class FxRate(TimeStampedModel):
    """1 unit of `currency` is worth `rate` units of the reporting currency from `valid_from` on."""

    currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    rate = models.DecimalField(max_digits=20, decimal_places=10, validators=[MinValueValidator(Decimal("0"))])
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="fxrate_unique_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fxrate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {settings.REPORTING_CURRENCY} from {self.valid_from}"
