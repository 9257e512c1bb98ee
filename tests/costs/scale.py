"""Grow a cost dataset to N rows of everything, for query-count tests (equal at 5 and at 50)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from apps.core.models import Job
from apps.costs.choices import ImportOrigin, ImportStatus, RuleKind
from apps.costs.models import AllocationRule, CostImport, CostImportError, CostSource, FxRate
from apps.costs.services import allocation_rule_create, cost_import_file
from apps.kpis.services import measurement_record
from apps.portfolio.models import Initiative
from tests.factories import make_initiative, make_kpi

HEADER = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName," \
         "ServiceName,SubAccountId,Tags"


def grow(*, n: int, admin, unit, source: CostSource, folder: Path) -> None:
    """Make sure there are n of each: initiatives with cost and a KPI value, imports, import errors, rules, FX
    rates, and 2n line items (plus n unallocated)."""
    have = Initiative.objects.filter(key__startswith="QC-").count()
    for index in range(have, n):
        initiative = make_initiative(actor=admin, unit=unit, key=f"QC-{index + 1:03d}", name=f"Scaled {index}",
                                     budget=Decimal("10000"))
        kpi = make_kpi(actor=admin, initiative=initiative, baseline_value=Decimal("100"), target_value=Decimal("50"),
                       value_per_unit=Decimal("10"))
        measurement_record(actor=admin, kpi=kpi, date=date(2026, 2, 1), value=Decimal("90"))
        allocation_rule_create(actor=admin, name=f"Rule {index}", kind=RuleKind.TAG, tag_key="app",
                               tag_value=f"app-{index}", initiative=initiative)
        FxRate.objects.create(currency="USD", valid_from=date(2020, 1, 1) + timedelta(days=index), rate=Decimal("0.9"))
        job = Job.objects.create(kind="costs.import", requested_by=admin)
        failed = CostImport.objects.create(source=source, job=job, origin=ImportOrigin.UPLOAD,
                                           status=ImportStatus.FAILED, files=[{"name": f"f{index}.csv", "size": 1}],
                                           requested_by=admin, error="bad", error_count=1)
        CostImportError.objects.create(cost_import=failed, file=f"f{index}.csv", line=2, column="BilledCost",
                                       value="x", reason="not a decimal number")
    lines = []
    for index in range(n):
        key = f"QC-{index + 1:03d}"
        tags = json.dumps({"pilotlight-initiative": key}).replace('"', '""')
        for day in (1, 2):
            lines.append(f'2026-01-{day:02d}T00:00:00Z,2026-01-{day + 1:02d}T00:00:00Z,{index + 1}.5,{index + 1},'
                         f'USD,Usage,AWS,Service {index % 7},acct-{index % 3},"{tags}"')
        lines.append("2026-01-03T00:00:00Z,2026-01-04T00:00:00Z,1,1,EUR,Usage,AWS,Shared,acct-x,")
    path = folder / f"scale-{n}.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    cost_import = cost_import_file(actor=admin, source=source, paths=[path])
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert AllocationRule.objects.count() >= n
