"""Demo cloud costs: FOCUS files for the demo portfolio, imported through the normal import service.

`seed_demo_costs(months=6)` writes an AWS-shaped (USD, gzip CSV) and an Azure-shaped (EUR, CSV) FOCUS export under
var/demo-focus/ with a few months of daily costs for the initiatives in the database — most tagged
`pilotlight-initiative=<key>`, some shared platform cost untagged, one data-platform subscription mapped to its
business unit by a rule — and imports them synchronously. Idempotent: the files are regenerated deterministically
and each import replaces its source's costs for the periods it covers.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from apps.accounts.choices import GlobalRole
from apps.costs.choices import ImportOrigin, RuleKind, SourceKind
from apps.costs.models import AllocationRule, CostSource, FxRate
from apps.costs.selectors import add_months, month_start
from apps.costs.services import allocation_rule_create, cost_import_file, fx_rate_set
from apps.portfolio.choices import AIType, Stage
from apps.portfolio.models import Initiative

DEMO_DIR_NAME = "demo-focus"
AWS_SOURCE = "AWS Data Exports (FOCUS 1.0)"
AZURE_SOURCE = "Azure FocusCost export"
USD_RATE = Decimal("0.92")
COLUMNS = [
    "BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory",
    "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "ConsumedQuantity",
    "ConsumedUnit", "EffectiveCost", "ListCost", "ProviderName", "PublisherName", "RegionId", "ResourceId",
    "ResourceName", "ServiceCategory", "ServiceName", "SkuId", "SubAccountId", "SubAccountName", "Tags",
]
DAILY_BASE = {  # EUR-ish per day when fully ramped, by stage
    Stage.DISCOVERY: 25, Stage.PILOT: 180, Stage.PRODUCTION: 520, Stage.SCALED: 1400, Stage.ON_HOLD: 40,
    Stage.RETIRED: 300, Stage.CANCELLED: 90,
}
SERVICES = {
    "aws": {
        AIType.GENERATIVE: [("Amazon Bedrock", "AI and Machine Learning", 0.6), ("AWS Lambda", "Compute", 0.1)],
        AIType.AGENT: [("Amazon Bedrock", "AI and Machine Learning", 0.55), ("Amazon DynamoDB", "Databases", 0.15)],
        AIType.COMPUTER_VISION: [("Amazon Elastic Compute Cloud", "Compute", 0.55),
                                 ("Amazon Simple Storage Service", "Storage", 0.2)],
        None: [("Amazon SageMaker", "AI and Machine Learning", 0.55), ("Amazon Simple Storage Service", "Storage",
                                                                         0.15)],
    },
    "azure": {
        AIType.GENERATIVE: [("Azure OpenAI", "AI and Machine Learning", 0.6), ("Azure Functions", "Compute", 0.1)],
        AIType.AGENT: [("Azure OpenAI", "AI and Machine Learning", 0.5), ("Azure Cosmos DB", "Databases", 0.2)],
        AIType.COMPUTER_VISION: [("Virtual Machines", "Compute", 0.55), ("Storage", "Storage", 0.2)],
        None: [("Azure Machine Learning", "AI and Machine Learning", 0.55), ("Storage", "Storage", 0.15)],
    },
}
SHARED = {  # platform cost nobody tagged: stays unallocated (or goes to a unit through a rule)
    "aws": [("Amazon CloudWatch", "Management and Governance", "111122223333", 95),
            ("AWS Support (Business)", "Support", "111122223333", 60)],
    "azure": [("Azure Monitor", "Management and Governance", "sub-platform-01", 70),
              ("Azure Data Factory", "Analytics", "sub-data-platform", 140)],
}


@dataclass
class DemoCosts:
    files: list[Path]
    imports: list[int]
    rows: int


def _rng(*parts: object) -> random.Random:
    return random.Random(int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16))


def _admin():
    users = get_user_model().objects.filter(is_active=True)
    return (users.filter(is_superuser=True).order_by("pk").first()
            or users.filter(groups__name=GlobalRole.PORTFOLIO_ADMIN).order_by("pk").first())


def _provider(initiative: Initiative) -> str:
    return "aws" if _rng("provider", initiative.key).random() < 0.55 else "azure"


def _ramp(initiative: Initiative, day: date) -> float:
    """Cost grows after the current stage was entered (and stops for retired/cancelled ones)."""
    entered = initiative.stage_entered_at.date()
    if initiative.stage in (Stage.RETIRED, Stage.CANCELLED):
        return 1.0 if day < entered else 0.0
    if day < entered:
        return 0.45
    return min(1.0, 0.45 + (day - entered).days / 60)


def _lines(initiatives: list[Initiative], provider: str, start: date, end: date, currency: str):
    for offset in range((end - start).days):
        day = start + timedelta(days=offset)
        weekday = 0.8 if day.weekday() >= 5 else 1.0
        for initiative in initiatives:
            base = DAILY_BASE.get(initiative.stage, 0) * _ramp(initiative, day)
            if not base:
                continue
            rng = _rng(initiative.key, day)
            services = SERVICES[provider].get(initiative.ai_type) or SERVICES[provider][None]
            services = [*services, ("Shared networking", "Networking", 1 - sum(s for _, _, s in services))]
            account = f"{provider}-{initiative.business_unit.slug}"
            for index, (service, category, share) in enumerate(services):
                amount = Decimal(str(round(base * share * weekday * rng.uniform(0.8, 1.2), 6)))
                if currency == "USD":
                    amount = (amount / USD_RATE).quantize(Decimal("0.000001"))
                tags = {"pilotlight-initiative": initiative.key, "env": "prod"} if index < len(services) - 1 else {}
                yield day, service, category, account, f"{provider}/{initiative.key.lower()}/{index}", amount, tags
        for service, category, account, daily in SHARED[provider]:
            amount = Decimal(str(round(daily * _rng(service, day).uniform(0.9, 1.1), 6)))
            yield day, service, category, account, f"{provider}/platform/{service.lower().replace(' ', '-')}", \
                amount, {"team": "platform"}


def _write(path: Path, provider: str, rows, currency: str) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    count = 0
    name = "AWS" if provider == "aws" else "Microsoft"
    for day, service, category, account, resource, amount, tags in rows:
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        month = month_start(day)
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        effective = (amount * Decimal("0.96")).quantize(Decimal("0.000001"))
        writer.writerow([
            amount, f"{provider}-billing", currency, add_months(month, 1).isoformat(), month.isoformat(), "Usage",
            f"{service} usage", "Usage-Based", end.strftime(stamp), start.strftime(stamp),
            "24", "Hours", effective, amount, name, name, "eu-west-1" if provider == "aws" else "westeurope",
            resource, resource.rsplit("/", 1)[-1], category, service, "SKU-DEMO", account, account,
            json.dumps(tags) if tags else "",
        ])
        count += 1
    data = buffer.getvalue().encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return count


def seed_demo_costs(*, months: int = 6, today: date | None = None, folder: Path | None = None) -> DemoCosts:
    """Write and import demo FOCUS files for the initiatives in the database (idempotent); files go to
    var/demo-focus/ unless another folder is given."""
    actor = _admin()
    if actor is None:
        raise RuntimeError("seed_demo_costs needs a superuser or a portfolio admin (run seed_demo first).")
    today = today or timezone.localdate()
    end = today
    start = add_months(month_start(today), -months)
    folder = folder or Path(getattr(settings, "VAR_DIR", Path(settings.BASE_DIR) / "var")) / DEMO_DIR_NAME
    folder.mkdir(parents=True, exist_ok=True)
    initiatives = list(
        Initiative.objects.select_related("business_unit").exclude(Q(stage=Stage.IDEA)).order_by("key")
    )
    aws_source, _ = CostSource.objects.get_or_create(name=AWS_SOURCE, defaults={"kind": SourceKind.FOCUS})
    azure_source, _ = CostSource.objects.get_or_create(name=AZURE_SOURCE, defaults={"kind": SourceKind.FOCUS})
    if settings.REPORTING_CURRENCY != "USD" and not FxRate.objects.filter(currency="USD").exists():
        fx_rate_set(actor=actor, currency="USD", valid_from=add_months(start, -12), rate=USD_RATE,
                    note="Demo rate", schedule=False)
    data_unit = next((initiative.business_unit for initiative in initiatives), None)
    if data_unit is not None and not AllocationRule.objects.filter(sub_account_id="sub-data-platform").exists():
        allocation_rule_create(actor=actor, name="Data platform subscription", kind=RuleKind.SUB_ACCOUNT,
                               sub_account_id="sub-data-platform", business_unit=data_unit, priority=200,
                               note="Shared data pipelines are charged to the unit that runs them.")
    files, imports, rows = [], [], 0
    for provider, source, currency, name in (("aws", aws_source, "USD", "aws-focus.csv.gz"),
                                             ("azure", azure_source, "EUR", "azure-focuscost.csv")):
        mine = [initiative for initiative in initiatives if _provider(initiative) == provider]
        path = folder / name
        rows += _write(path, provider, _lines(mine, provider, start, end, currency), currency)
        cost_import = cost_import_file(actor=actor, source=source, paths=[path], origin=ImportOrigin.DEMO)
        if cost_import.status != "succeeded":
            raise RuntimeError(f"Demo cost import failed: {cost_import.error}")
        files.append(path)
        imports.append(cost_import.pk)
    return DemoCosts(files=files, imports=imports, rows=rows)
