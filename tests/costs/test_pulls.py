"""Pulls: AWS Cost Explorer (moto) and Azure Cost Management (recorded responses) through the import service,
overlapping pulls, FOCUS folders, failures and the daily schedule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests
from azure.mgmt.costmanagement import CostManagementClient
from django.db.models import Sum
from django.utils import timezone
from moto import mock_aws

from apps.costs.choices import ImportOrigin, ImportStatus, SourceKind
from apps.costs.models import CostDaily, CostImport, CostRecord, CostSource
from apps.costs.services import (
    cost_import_run,
    cost_source_pull,
    cost_sources_pull_all,
    pull_window,
)
from apps.integrations import azure_costs
from tests.costs import focus_files
from tests.integrations.azure_replay import StaticCredential, replay

pytestmark = pytest.mark.django_db

RESULTS_URL = "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def aws_source(db):
    return CostSource.objects.create(name="AWS production account", kind=SourceKind.AWS,
                                     tag_key="pilotlight-initiative", lookback_days=3)


def day_result(day: date, *groups: tuple[str, str, str]) -> dict:
    return {
        "TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}, "Total": {},
        "Groups": [{"Keys": [f"pilotlight-initiative${key}", service],
                    "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "EUR"},
                                "AmortizedCost": {"Amount": amount, "Unit": "EUR"}}}
                   for key, service, amount in groups],
    }


def queue(*pages: dict) -> None:
    assert requests.post(RESULTS_URL, json={"results": list(pages)}, timeout=10).status_code == 201


def pull(admin_user, source, start: date, end: date) -> CostImport:
    (cost_import,) = cost_source_pull(actor=admin_user, source=source, start=start, end=end, enqueue=False)
    cost_import_run(import_id=cost_import.pk)
    cost_import.refresh_from_db()
    return cost_import


def per_day_and_key() -> dict[tuple[date, str | None], Decimal]:
    rows = CostDaily.objects.values("day", "initiative__key").annotate(total=Sum("effective_cost"))
    return {(row["day"], row["initiative__key"]): row["total"] for row in rows}


def test_an_aws_pull_imports_two_pages_of_cost_explorer_results(aws, admin_user, initiatives, aws_source):
    # given Cost Explorer answering in two pages
    first = day_result(date(2025, 3, 1), ("AI-001", "Amazon SageMaker", "100.5"), ("", "AmazonCloudWatch", "3"))
    first["NextPageToken"] = "next"
    queue({"ResultsByTime": [first], "NextPageToken": "next"},
          {"ResultsByTime": [day_result(date(2025, 3, 2), ("AI-002", "Amazon Bedrock", "20.25"))]})

    # when the source is pulled for March 1-2
    cost_import = pull(admin_user, aws_source, date(2025, 3, 1), date(2025, 3, 3))

    # then both pages are imported, allocated by the tag, and the source remembers how far it got
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert cost_import.origin == ImportOrigin.AWS
    assert cost_import.files[0]["pages"] == 2 and cost_import.files[0]["rows"] == 3
    assert per_day_and_key() == {(date(2025, 3, 1), "AI-001"): Decimal("100.5"),
                                 (date(2025, 3, 1), None): Decimal("3"),
                                 (date(2025, 3, 2), "AI-002"): Decimal("20.25")}
    aws_source.refresh_from_db()
    assert aws_source.pulled_until == date(2025, 3, 3) and aws_source.last_pulled_at is not None


def test_overlapping_pulls_never_count_a_day_twice(aws, admin_user, initiatives, aws_source):
    # given a pull of March 1-3
    queue({"ResultsByTime": [day_result(date(2025, 3, day), ("AI-001", "Amazon SageMaker", "10"))
                             for day in (1, 2, 3)]},
          {"ResultsByTime": [day_result(date(2025, 3, 2), ("AI-001", "Amazon SageMaker", "12")),
                             day_result(date(2025, 3, 3), ("AI-001", "Amazon SageMaker", "13")),
                             day_result(date(2025, 3, 4), ("AI-001", "Amazon SageMaker", "14"))]})
    pull(admin_user, aws_source, date(2025, 3, 1), date(2025, 3, 4))

    # when a later pull covers March 2-4 again (the provider restated March 2 and 3)
    second = pull(admin_user, aws_source, date(2025, 3, 2), date(2025, 3, 5))

    # then March 2 and 3 hold the restated values once, March 1 the first pull's and March 4 the new one
    assert second.rows_replaced == 2
    assert per_day_and_key() == {(date(2025, 3, day), "AI-001"): Decimal(amount)
                                 for day, amount in ((1, "10"), (2, "12"), (3, "13"), (4, "14"))}
    assert CostRecord.objects.count() == 4

    # and pulling the very same days again adds nothing (Cost Explorer answers the same for the same question)
    pull(admin_user, aws_source, date(2025, 3, 2), date(2025, 3, 5))
    assert CostRecord.objects.aggregate(total=Sum("effective_cost"))["total"] == Decimal("49")


def test_a_pull_with_no_cost_clears_the_days_it_covers(aws, admin_user, initiatives, aws_source):
    # given March 1 pulled with a cost
    queue({"ResultsByTime": [day_result(date(2025, 3, 1), ("AI-001", "Amazon SageMaker", "10"))]},
          {"ResultsByTime": [{"TimePeriod": {"Start": "2025-02-28", "End": "2025-03-02"}, "Groups": []}]})
    pull(admin_user, aws_source, date(2025, 3, 1), date(2025, 3, 2))

    # when a later pull over February 28 - March 1 finds no cost at all (the provider restated it away)
    cost_import = pull(admin_user, aws_source, date(2025, 2, 28), date(2025, 3, 2))

    # then the covered days are empty
    assert (cost_import.status, cost_import.rows_imported, cost_import.rows_replaced) == (
        ImportStatus.SUCCEEDED, 0, 1)
    assert not CostRecord.objects.exists() and not CostDaily.objects.exists()


def test_an_azure_pull_imports_both_pages_after_a_429(admin_user, initiatives, monkeypatch):
    # given an Azure source and the recorded exchange (two pages, one 429)
    source = CostSource.objects.create(name="Azure subscription", kind=SourceKind.AZURE,
                                       azure_scope="/subscriptions/00000000-0000-0000-0000-000000000000")
    transport = replay("azure_query_daily_by_tag.json")
    monkeypatch.setattr(azure_costs, "cost_management_client",
                        lambda **kwargs: CostManagementClient(
                            StaticCredential(), transport=transport,
                            retry_policy=azure_costs.CostManagementRetryPolicy()))

    # when March 1-2 are pulled
    cost_import = pull(admin_user, source, date(2025, 3, 1), date(2025, 3, 3))

    # then every row of both pages is imported and allocated by the (lower-case) tag
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert transport.slept == [7.0]
    assert per_day_and_key() == {
        (date(2025, 3, 1), "AI-001"): Decimal("430.2245629871"), (date(2025, 3, 1), "AI-003"): Decimal("96.5"),
        (date(2025, 3, 1), None): Decimal("31.2200000001"), (date(2025, 3, 2), "AI-001"): Decimal("416.64"),
        (date(2025, 3, 2), "AI-003"): Decimal("101.25"), (date(2025, 3, 2), None): Decimal("-12.5"),
    }


def test_a_failing_pull_fails_its_import_and_marks_the_source(aws, admin_user, aws_source, monkeypatch):
    from apps.integrations import aws_costs

    def refuse(**kwargs):
        raise aws_costs.AwsCostError("AWS Cost Explorer: AccessDenied")

    monkeypatch.setattr(aws_costs, "fetch_daily_costs", refuse)
    cost_import = pull(admin_user, aws_source, date(2025, 3, 1), date(2025, 3, 2))
    assert (cost_import.status, cost_import.error) == (ImportStatus.FAILED, "AWS Cost Explorer: AccessDenied")
    aws_source.refresh_from_db()
    assert aws_source.last_error == "AWS Cost Explorer: AccessDenied"
    assert aws_source.pulled_until is None


def test_the_pull_window_starts_at_the_last_pull_minus_the_look_back(aws_source):
    today = date(2025, 6, 10)
    assert pull_window(source=aws_source, today=today).start == today - timedelta(days=90)
    aws_source.pulled_until = date(2025, 6, 9)
    assert (pull_window(source=aws_source, today=today).start, pull_window(source=aws_source, today=today).end) == (
        date(2025, 6, 6), today)


def test_a_focus_folder_pull_imports_each_new_delivery_once(admin_user, initiatives, settings, usd_rate):
    # given a folder with one file and one sub-folder holding a two-part export
    folder = settings.COST_IMPORT_DIR / "exports" / "aws"
    (folder / "2025-02").mkdir(parents=True)
    january = focus_files.generate("aws", keys=["AI-001"], start=date(2025, 1, 1), days=5, seed=1)
    february = focus_files.generate("aws", keys=["AI-002"], start=date(2025, 2, 1), days=5, seed=2)
    focus_files.write(folder / "2025-01.csv", "aws", january)
    focus_files.write(folder / "2025-02" / "part-1.parquet", "aws", february[:10], fmt="parquet")
    focus_files.write(folder / "2025-02" / "part-2.parquet", "aws", february[10:], fmt="parquet")
    source = CostSource.objects.create(name="AWS exports", kind=SourceKind.FOCUS, folder="exports/aws")

    # when it is pulled twice
    imports = cost_source_pull(actor=admin_user, source=source, enqueue=False)
    for cost_import in imports:
        cost_import_run(import_id=cost_import.pk)
    again = cost_source_pull(actor=admin_user, source=source, enqueue=False)

    # then the file and the two parts were two imports, and nothing was new the second time
    assert [len(cost_import.files) for cost_import in imports] == [1, 2]
    assert again == []
    assert CostRecord.objects.count() == len(january) + len(february)


def test_the_daily_pull_queues_every_enabled_source_with_something_to_pull(aws_source):
    CostSource.objects.create(name="Disabled", kind=SourceKind.AWS, enabled=False)
    CostSource.objects.create(name="Uploads only", kind=SourceKind.FOCUS)
    queued = cost_sources_pull_all()
    assert list(queued) == [aws_source.pk]
    cost_import = CostImport.objects.get()
    today = timezone.now().date()
    assert (cost_import.requested_start, cost_import.requested_end) == (today - timedelta(days=90), today)
