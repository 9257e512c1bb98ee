"""Demo cost data (seed_demo_costs) and the import_costs management command."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db.models import Sum
from moto import mock_aws

from apps.costs.demo import AWS_SOURCE, AZURE_SOURCE, seed_demo_costs
from apps.costs.models import AllocationRule, CostDaily, CostImport, CostRecord, CostSource
from apps.portfolio.services import initiative_transition
from tests.costs import focus_files
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


def test_demo_costs_are_written_as_focus_files_and_imported_idempotently(admin_user, unit_a, unit_b, tmp_path):
    # given a small portfolio in several stages
    for index, (unit, stages) in enumerate([(unit_a, ["discovery", "pilot"]), (unit_b, ["discovery"]),
                                            (unit_a, ["discovery", "pilot", "production"]), (unit_b, [])]):
        initiative = make_initiative(actor=admin_user, unit=unit, key=f"AI-{index + 1:03d}", name=f"Demo {index}",
                                     ai_type=["generative", "predictive_ml", "computer_vision", "agent"][index])
        for stage in stages:
            initiative_transition(actor=admin_user, initiative=initiative, to_stage=stage, rationale="Demo.")

    # when the demo costs are seeded twice
    first = seed_demo_costs(months=2, today=date(2026, 3, 15), folder=tmp_path)
    totals = dict(CostDaily.objects.values_list("initiative__key").annotate(total=Sum("cost")))
    second = seed_demo_costs(months=2, today=date(2026, 3, 15), folder=tmp_path)

    # then an AWS gzip export and an Azure CSV export were written and imported into their own sources
    assert [path.name for path in first.files] == ["aws-focus.csv.gz", "azure-focuscost.csv"]
    assert set(CostSource.objects.values_list("name", flat=True)) == {AWS_SOURCE, AZURE_SOURCE}
    assert CostImport.objects.filter(status="succeeded").count() == 4
    # and the second run replaced the first: the same lines and the same totals
    assert CostRecord.objects.count() == first.rows == second.rows
    assert dict(CostDaily.objects.values_list("initiative__key").annotate(total=Sum("cost"))) == totals
    # and there is tagged cost for initiatives past the idea stage, and untagged platform cost
    assert {key for key in totals if key} == {"AI-001", "AI-002", "AI-003"}
    assert totals[None] > 0
    assert AllocationRule.objects.filter(sub_account_id="sub-data-platform").count() == 1


def test_import_costs_imports_files_and_reports_failures(admin_user, initiatives, focus_source, usd_rate, tmp_path):
    lines = focus_files.generate("aws", keys=["AI-001"], start=date(2025, 1, 1), days=3)
    path = focus_files.write(tmp_path / "aws.csv", "aws", lines)
    out = StringIO()
    call_command("import_costs", str(path), "--source", focus_source.name, stdout=out)
    assert f"{len(lines):,} lines (replaced 0)" in out.getvalue()
    assert CostRecord.objects.count() == len(lines)
    bad = tmp_path / "bad.csv"
    bad.write_text("ChargePeriodStart\n2025-01-01\n")
    err = StringIO()
    with pytest.raises(CommandError, match="Some imports failed"):
        call_command("import_costs", str(bad), "--source", str(focus_source.pk), stderr=err)
    assert "Required FOCUS columns missing: ChargePeriodEnd" in err.getvalue()
    with pytest.raises(CommandError, match="No cost source 'nope'"):
        call_command("import_costs", str(path), "--source", "nope")


def test_import_costs_pulls_an_aws_source(admin_user, initiatives, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    CostSource.objects.create(name="AWS", kind="aws")
    with mock_aws():
        requests.post("http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results", timeout=10, json={
            "results": [{"ResultsByTime": [{"TimePeriod": {"Start": "2025-03-01", "End": "2025-03-02"}, "Groups": [
                {"Keys": ["pilotlight-initiative$AI-002", "Amazon Bedrock"],
                 "Metrics": {"UnblendedCost": {"Amount": "7.5", "Unit": "EUR"},
                             "AmortizedCost": {"Amount": "7.5", "Unit": "EUR"}}}]}]}]})
        out = StringIO()
        call_command("import_costs", "--source", "AWS", "--pull", "--start", "2025-03-01", "--end", "2025-03-02",
                     stdout=out)
    assert "1 lines" in out.getvalue()
    assert CostDaily.objects.get().initiative.key == "AI-002"
    assert CostDaily.objects.get().cost == Decimal("7.5")


def test_import_costs_reallocates(admin_user, initiatives):
    out = StringIO()
    call_command("import_costs", "--reallocate", stdout=out)
    assert "Re-allocated" in out.getvalue()
