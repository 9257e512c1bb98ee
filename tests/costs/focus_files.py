"""FOCUS files shaped like real exports (AWS Data Exports, Azure FocusCost, Google Cloud), written by the tests.

Each generator returns the lines it wrote as `Line`s, so a test can compute the expected totals independently of
the import (plain Decimal sums in Python).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

TAG_KEY = "pilotlight-initiative"

AWS_1_0 = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
    "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
    "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId",
    "SubAccountName", "Tags", "x_CostCategories", "x_Discounts", "x_Operation", "x_ServiceCode", "x_UsageType",
]
AZURE_1_0 = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity",
    "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId",
    "SkuPriceId", "SubAccountId", "SubAccountName", "SubAccountType", "Tags", "x_AccountName", "x_BilledCostInUsd",
    "x_BillingProfileId", "x_CostCenter", "x_EffectiveCostInUsd", "x_ResourceGroupName", "x_SkuMeterCategory",
]
# FOCUS 1.2 (Azure FocusCost 1.2-preview): 1.1 and 1.2 additions, in the order Microsoft writes them.
AZURE_1_2 = [
    *AZURE_1_0[:8], "CapacityReservationId", "CapacityReservationStatus", *AZURE_1_0[8:], "InvoiceId",
    "PricingCurrency", "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice", "ServiceSubcategory", "SkuMeter", "SkuPriceDetails",
]
GCP_1_0 = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
    "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "EffectiveCost", "InvoiceIssuerName",
    "ListCost", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId",
    "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId",
    "SkuPriceId", "SubAccountId", "SubAccountName", "Tags", "x_ProjectNumber",
]
SHAPES = {"aws": AWS_1_0, "azure": AZURE_1_0, "azure12": AZURE_1_2, "gcp": GCP_1_0}
PROVIDERS = {"aws": "AWS", "azure": "Microsoft", "azure12": "Microsoft", "gcp": "Google Cloud"}
SERVICES = {
    "aws": [("Amazon SageMaker", "AI and Machine Learning"), ("Amazon Elastic Compute Cloud", "Compute"),
            ("Amazon Simple Storage Service", "Storage"), ("Amazon Bedrock", "AI and Machine Learning")],
    "azure": [("Azure Machine Learning", "AI and Machine Learning"), ("Virtual Machines", "Compute"),
              ("Storage", "Storage"), ("Azure OpenAI", "AI and Machine Learning")],
    "gcp": [("Vertex AI", "AI and Machine Learning"), ("Compute Engine", "Compute"), ("Cloud Storage", "Storage")],
}
SERVICES["azure12"] = SERVICES["azure"]


@dataclass
class Line:
    start: datetime
    end: datetime
    billed: Decimal
    effective: Decimal
    currency: str
    category: str
    provider: str
    service: str
    service_category: str
    sub_account: str
    resource_id: str
    tags: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def initiative_key(self) -> str | None:
        value = self.tags.get(TAG_KEY) or self.tags.get(f"user:{TAG_KEY}")
        return value.upper() if isinstance(value, str) and value else None

    @property
    def month(self) -> str:
        return self.start.strftime("%Y-%m")


def generate(shape: str, *, keys: list[str], start: date, days: int, per_day: int = 6, currency: str = "USD",
             seed: int = 7, untagged_share: float = 0.25) -> list[Line]:
    """Daily lines over `days` days: most tagged with an initiative key, some untagged, a few credits."""
    rnd = random.Random(seed)
    provider = PROVIDERS[shape]
    lines: list[Line] = []
    for offset in range(days):
        day = datetime.combine(start + timedelta(days=offset), datetime.min.time(), tzinfo=UTC)
        for index in range(per_day):
            service, category = rnd.choice(SERVICES[shape])
            tagged = rnd.random() > untagged_share
            key = rnd.choice(keys) if tagged else None
            amount = Decimal(f"{rnd.uniform(0.01, 250):.10f}")
            charge_category = "Usage"
            if rnd.random() < 0.04:
                amount, charge_category = -Decimal(f"{rnd.uniform(0.5, 20):.4f}"), "Credit"
            effective = (amount * Decimal("0.93")).quantize(Decimal("0.0000000001")) if charge_category == "Usage" \
                else amount
            tags: dict = {"env": rnd.choice(["prod", "dev"])}
            if key:
                tags[TAG_KEY if shape != "aws" or index % 2 else f"user:{TAG_KEY}"] = key if index % 3 else key.lower()
            if shape == "gcp" and index % 4 == 0:
                tags["goog-managed"] = True  # a valueless tag
            lines.append(Line(
                start=day, end=day + timedelta(days=1), billed=amount, effective=effective, currency=currency,
                category=charge_category, provider=provider, service=service, service_category=category,
                sub_account=f"{shape}-acct-{index % 3}", resource_id=f"{shape}/res/{index}/{offset % 5}",
                tags=tags, extra={"x_note": f"n{index}"},
            ))
    return lines


def _timestamp(shape: str, moment: datetime) -> str:
    if shape == "aws":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if shape.startswith("azure"):
        return moment.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _cells(shape: str, line: Line, columns: list[str]) -> dict[str, object]:
    month = line.start.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    values = {
        "BilledCost": str(line.billed), "EffectiveCost": str(line.effective), "ListCost": str(abs(line.billed)),
        "ContractedCost": str(line.billed), "BillingCurrency": line.currency, "ChargeCategory": line.category,
        "ChargePeriodStart": _timestamp(shape, line.start), "ChargePeriodEnd": _timestamp(shape, line.end),
        "BillingPeriodStart": _timestamp(shape, month), "BillingPeriodEnd": _timestamp(shape, next_month),
        "ProviderName": line.provider, "PublisherName": line.provider, "InvoiceIssuerName": line.provider,
        "ServiceName": line.service, "ServiceCategory": line.service_category, "SubAccountId": line.sub_account,
        "SubAccountName": f"Account {line.sub_account}", "ResourceId": line.resource_id,
        "ResourceName": line.resource_id.rsplit("/", 1)[-1], "RegionId": "eu-west-1", "RegionName": "Europe",
        "SkuId": "SKU-1", "ConsumedQuantity": "1.5", "ConsumedUnit": "Hours", "ChargeFrequency": "Usage-Based",
        "ChargeDescription": f"{line.service}, with a comma", "BillingAccountId": "billing-1",
        "Tags": json.dumps(line.tags) if line.tags else "", "x_CostCenter": "CC-1", "x_UsageType": "BoxUsage",
        "x_ProjectNumber": "12345",
    }
    return {column: values.get(column, "") for column in columns}


def write(path: Path, shape: str, lines: list[Line], *, fmt: str = "csv", columns: list[str] | None = None) -> Path:
    """Write lines as a FOCUS file of the given shape: csv, csv.gz or parquet."""
    columns = columns or SHAPES[shape]
    if fmt == "parquet":
        _write_parquet(path, shape, lines, columns)
        return path
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n" if shape.startswith("azure") else "\n")
    writer.writeheader()
    for line in lines:
        writer.writerow(_cells(shape, line, columns))
    data = buffer.getvalue().encode("utf-8")
    if fmt == "csv.gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def _write_parquet(path: Path, shape: str, lines: list[Line], columns: list[str]) -> None:
    """AWS-style Parquet: typed timestamps and decimals/doubles, tags as a map<string, string>."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for column in columns:
        if column in ("ChargePeriodStart", "ChargePeriodEnd"):
            attribute = "start" if column == "ChargePeriodStart" else "end"
            arrays[column] = pa.array([getattr(line, attribute) for line in lines], pa.timestamp("us", tz="UTC"))
        elif column == "BilledCost":
            arrays[column] = pa.array([line.billed for line in lines], pa.decimal128(24, 10))
        elif column == "EffectiveCost":
            arrays[column] = pa.array([line.effective for line in lines], pa.decimal128(24, 10))
        elif column == "ConsumedQuantity":
            arrays[column] = pa.array([1.5 for _ in lines], pa.float64())
        elif column == "Tags":
            arrays[column] = pa.array(
                [[(key, str(value).lower() if value is True else str(value)) for key, value in line.tags.items()]
                 for line in lines], pa.map_(pa.string(), pa.string()))
        else:
            arrays[column] = pa.array([str(_cells(shape, line, [column])[column]) for line in lines], pa.string())
    pq.write_table(pa.table(arrays), path, row_group_size=max(1, len(lines) // 3))


def expected_totals(lines: list[Line]) -> tuple[dict[str | None, Decimal], dict[tuple[str | None, str], Decimal]]:
    """Effective cost per initiative key (None = untagged) and per (key, month), summed independently."""
    per_key: dict[str | None, Decimal] = defaultdict(Decimal)
    per_month: dict[tuple[str | None, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        per_key[line.initiative_key] += line.effective
        per_month[(line.initiative_key, line.month)] += line.effective
    return dict(per_key), dict(per_month)
