"""Cost API: upload (202 + job), error report, line items, rules, FX rates, financials, pull; query counts."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.audit.models import AuditEvent
from apps.core.choices import JobStatus
from apps.costs.choices import ImportStatus
from apps.costs.models import AllocationRule, CostImport, CostRecord, FxRate
from apps.costs.services import cost_import_file
from portal.celery import app as celery_app
from tests.costs import focus_files
from tests.costs.scale import grow

pytestmark = pytest.mark.django_db

HEADER = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName," \
         "ServiceName,Tags"


def token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def eager_tasks():
    """Run queued Celery tasks in-process (no broker) for the duration of a test."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_upload_returns_202_with_a_job_and_the_import_runs(admin_user, initiatives, focus_source, usd_rate, tmp_path,
                                                           eager_tasks, django_capture_on_commit_callbacks):
    # given a two-part export
    lines = focus_files.generate("aws", keys=["AI-001", "AI-002"], start=date(2025, 4, 1), days=6)
    first = focus_files.write(tmp_path / "part-1.csv", "aws", lines[:20])
    second = focus_files.write(tmp_path / "part-2.csv.gz", "aws", lines[20:], fmt="csv.gz")
    client = token_client(admin_user)

    # when both parts are uploaded in one multipart request
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/cost-imports/", {
            "source": focus_source.pk,
            "file": [SimpleUploadedFile("part-1.csv", first.read_bytes()),
                     SimpleUploadedFile("part-2.csv.gz", second.read_bytes())],
        }, format="multipart")

    # then it is accepted with its job, and the job imported every line of both parts
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["cost_import"]["status"] == "queued"
    assert [entry["name"] for entry in data["cost_import"]["files"]] == ["part-1.csv", "part-2.csv.gz"]
    assert data["job"]["kind"] == "costs.import" and data["job"]["status"] == "queued"
    polled = client.get(f"/api/v1/jobs/{data['job']['id']}/").json()
    assert (polled["status"], polled["percent"], polled["result"]["rows"]) == (JobStatus.SUCCEEDED, 100, len(lines))
    detail = client.get(f"/api/v1/cost-imports/{data['cost_import']['id']}/").json()
    assert (detail["status"], detail["rows_imported"]) == ("succeeded", len(lines))
    assert CostRecord.objects.count() == len(lines)


def test_an_upload_over_the_size_limit_is_400_and_nothing_is_stored(admin_user, focus_source, settings):
    settings.COST_IMPORT_MAX_BYTES = 100
    response = token_client(admin_user).post("/api/v1/cost-imports/", {
        "source": focus_source.pk, "file": [SimpleUploadedFile("big.csv", b"x" * 101)]}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"file": ["big.csv is 101 bytes, over the limit of 100 bytes per file "
                                        "(COST_IMPORT_MAX_BYTES); nothing was imported."]}
    assert not CostImport.objects.exists()


def test_uploads_need_a_portfolio_admin(executive, focus_source):
    response = token_client(executive).post("/api/v1/cost-imports/", {
        "source": focus_source.pk, "file": [SimpleUploadedFile("a.csv", b"x")]}, format="multipart")
    assert response.status_code == 403
    assert not CostImport.objects.exists()


def test_the_error_report_is_served_as_csv_and_as_json(admin_user, focus_source, tmp_path):
    # given a failed import
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n2025-01-01,2025-01-02,abc,1,EUR,Usage,AWS,S3,\n")
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    client = token_client(admin_user)

    # when its errors are fetched
    as_csv = client.get(f"/api/v1/cost-imports/{cost_import.pk}/errors/")
    as_json = client.get(f"/api/v1/cost-imports/{cost_import.pk}/errors/?format=json")

    # then both name the line, column, value and reason
    assert as_csv["Content-Disposition"] == f'attachment; filename="cost-import-{cost_import.pk}-errors.csv"'
    assert list(csv.reader(io.StringIO(as_csv.content.decode()))) == [
        ["line", "column", "value", "reason", "file"], ["2", "BilledCost", "abc", "not a decimal number", "bad.csv"]]
    assert as_json.json() == [{"file": "bad.csv", "line": 2, "column": "BilledCost", "value": "abc",
                               "reason": "not a decimal number"}]
    detail = client.get(f"/api/v1/cost-imports/{cost_import.pk}/").json()
    assert (detail["status"], detail["error_count"]) == ("failed", 1)


def test_cost_records_filter_by_initiative_tag_service_and_dates(admin_user, initiatives, focus_source, tmp_path):
    # given line items for two initiatives over two days
    tags = {key: json.dumps({"pilotlight-initiative": key, "env": "prod"}).replace('"', '""')
            for key in ("AI-001", "AI-002")}
    path = tmp_path / "costs.csv"
    path.write_text("\n".join([
        HEADER,
        f'2025-01-01T00:00:00Z,2025-01-02T00:00:00Z,1.10,1,EUR,Usage,AWS,Amazon S3,"{tags["AI-001"]}"',
        f'2025-01-02T00:00:00Z,2025-01-03T00:00:00Z,2.20,2,EUR,Usage,AWS,Amazon S3,"{tags["AI-002"]}"',
        f'2025-01-02T00:00:00Z,2025-01-03T00:00:00Z,3.30,3,EUR,Usage,AWS,Amazon EC2,"{tags["AI-001"]}"',
    ]) + "\n")
    cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    client = token_client(admin_user)

    def amounts(query: str) -> list[str]:
        # the ids of one import's rows need not follow the file's line order, so compare the sets of rows
        rows = client.get(f"/api/v1/cost-records/?{query}").json()["results"]
        return sorted((row["billed_cost"] for row in rows), reverse=True)

    # then each filter narrows the line items
    assert amounts("initiative=ai-001") == ["3.3", "1.1"]
    assert amounts("service=amazon s3") == ["2.2", "1.1"]
    assert amounts("date_from=2025-01-02") == ["3.3", "2.2"]
    assert amounts("tag=pilotlight-initiative=AI-002") == ["2.2"]
    assert amounts("tag=env") == ["3.3", "2.2", "1.1"]
    first = client.get("/api/v1/cost-records/?initiative=AI-002").json()["results"][0]
    assert first["tags"] == {"pilotlight-initiative": "AI-002", "env": "prod"}
    assert first["allocations"] == [{"initiative": "AI-002", "business_unit": None, "rule": None,
                                     "share": "1.000000000000"}]
    assert (first["effective_cost"], first["billing_currency"], first["line"]) == ("2", "EUR", 3)


def test_cost_records_page_with_a_cursor(admin_user, initiatives, focus_source, tmp_path):
    lines = focus_files.generate("azure", keys=["AI-001"], start=date(2025, 1, 1), days=3, currency="EUR")
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "a.csv", "azure", lines)])
    client = token_client(admin_user)
    first = client.get("/api/v1/cost-records/?page_size=10").json()
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 10 and len(second["results"]) == 8
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}


def test_allocation_rules_are_managed_through_the_api(admin_user, initiatives, unit_b):
    client = token_client(admin_user)
    response = client.post("/api/v1/allocation-rules/", {
        "name": "Retail account", "kind": "sub_account", "sub_account_id": "1234", "business_unit": "retail-banking",
        "priority": 150}, format="json")
    assert response.status_code == 201, response.content
    rule = response.json()
    assert (rule["business_unit"], rule["matcher"], rule["share"]) == ("retail-banking", "sub-account 1234",
                                                                       "1.000000")
    changed = client.patch(f"/api/v1/allocation-rules/{rule['id']}/", {"share": "0.5"}, format="json").json()
    assert changed["share"] == "0.500000"
    bad = client.post("/api/v1/allocation-rules/", {"name": "x", "kind": "tag", "tag_key": "team",
                                                    "tag_value": "a"}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"initiative": ["Choose the initiative or the business unit the tagged cost goes to."]}
    deleted = client.delete(f"/api/v1/allocation-rules/{rule['id']}/")
    assert deleted.status_code == 200 and deleted.json()["job"]["kind"] == "costs.reallocate"
    assert not AllocationRule.objects.exists()
    job = client.post("/api/v1/allocation-rules/reallocate/").json()
    assert (job["kind"], job["status"]) == ("costs.reallocate", "queued")


def test_fx_rates_are_set_one_by_one_or_from_csv(admin_user):
    client = token_client(admin_user)
    created = client.post("/api/v1/fx-rates/", {"currency": "usd", "valid_from": "2025-01-01", "rate": "0.92"},
                          format="json")
    assert created.status_code == 201 and created.json()["currency"] == "USD"
    wrong = client.post("/api/v1/fx-rates/", {"currency": "USX", "valid_from": "2025-01-01", "rate": "1"},
                        format="json")
    assert wrong.status_code == 400
    assert wrong.json() == {"currency": ["“USX” is not an ISO 4217 currency code (e.g. EUR, USD)."]}
    uploaded = client.post("/api/v1/fx-rates/upload/", {"csv": "GBP,2025-01-01,1.17\nCHF,2025-01-01,1.05"},
                           format="json")
    assert uploaded.status_code == 201 and uploaded.json()["saved"] == 2
    bad = client.post("/api/v1/fx-rates/upload/", {"csv": "GBP,2025-01-01,zero"}, format="json")
    assert bad.json() == {"csv": ["Line 1, rate: “zero” is not a positive number."]}
    assert sorted(FxRate.objects.values_list("currency", flat=True)) == ["CHF", "GBP", "USD"]


def test_the_financials_endpoint_reports_cost_value_roi_and_months(admin_user, initiatives, focus_source, tmp_path):
    path = tmp_path / "c.csv"
    tag = json.dumps({"pilotlight-initiative": "AI-001"}).replace('"', '""')
    path.write_text("\n".join([HEADER, f'2025-01-05,2025-01-06,1000,1000,EUR,Usage,AWS,SageMaker,"{tag}"',
                               f'2025-02-05,2025-02-06,1500.50,1500.50,EUR,Usage,AWS,S3,"{tag}"']) + "\n")
    cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    data = token_client(admin_user).get("/api/v1/initiatives/ai-001/financials/").json()
    assert (data["initiative"], data["currency"], data["cost_to_date"], data["budget"]) == (
        "AI-001", "EUR", "2500.5", "50000")
    assert data["budget_used"] == "0.05001"
    assert data["months"] == [
        {"month": "2025-01-01", "cost": "1000", "cumulative": "1000",
         "by_service": [{"service": "SageMaker", "cost": "1000"}]},
        {"month": "2025-02-01", "cost": "1500.5", "cumulative": "2500.5",
         "by_service": [{"service": "S3", "cost": "1500.5"}]},
    ]
    assert data["services"] == [{"service": "S3", "cost": "1500.5"}, {"service": "SageMaker", "cost": "1000"}]
    assert (data["realized_value"], data["roi"], data["payback_month"]) == (None, None, None)


def test_exporting_cost_is_recorded_as_a_security_event(admin_user, initiatives, focus_source, usd_rate, tmp_path,
                                                        client):
    lines = focus_files.generate("aws", keys=["AI-001"], start=date(2025, 1, 1), days=3)
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "a.csv", "aws", lines)])
    client.force_login(admin_user)
    response = client.get("/costs/explorer/?export=csv&group_by=initiative&initiative=AI-001")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Initiative", "cost (EUR)", "line items"]
    assert rows[1][0] == "AI-001"
    assert Decimal(rows[1][1]) == sum(line.effective for line in lines if line.initiative_key == "AI-001") * \
        Decimal("0.9")
    event = AuditEvent.objects.filter(kind="security", action="export").get()
    assert event.detail == {"what": "cost explorer", "rows": 1,
                            "filters": {"group_by": "initiative", "initiative": "AI-001"}}
    assert event.actor_id == admin_user.pk


# --- query counts ------------------------------------------------------------------------------------------------


def _count(client: APIClient, url: str) -> int:
    client.get(url)  # warm up: the first request of a token stamps its last use
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:500])
    return len(context.captured_queries)


def test_query_counts_of_every_endpoint_are_the_same_at_5_and_50_rows(admin_user, unit_a, focus_source, tmp_path):
    client = token_client(admin_user)
    failed = lambda: CostImport.objects.filter(status=ImportStatus.FAILED).order_by("pk").first().pk  # noqa: E731
    urls = lambda: [  # noqa: E731
        "/api/v1/cost-sources/", f"/api/v1/cost-sources/{focus_source.pk}/", "/api/v1/cost-imports/",
        f"/api/v1/cost-imports/{failed()}/", f"/api/v1/cost-imports/{failed()}/errors/",
        f"/api/v1/cost-imports/{failed()}/errors/?format=json", "/api/v1/cost-records/",
        "/api/v1/cost-records/?initiative=QC-001", f"/api/v1/cost-records/{CostRecord.objects.first().pk}/",
        "/api/v1/allocation-rules/", f"/api/v1/allocation-rules/{AllocationRule.objects.first().pk}/",
        "/api/v1/fx-rates/", f"/api/v1/fx-rates/{FxRate.objects.first().pk}/",
        "/api/v1/initiatives/QC-001/financials/",
    ]
    grow(n=5, admin=admin_user, unit=unit_a, source=focus_source, folder=tmp_path)
    small = [(index, _count(client, url)) for index, url in enumerate(urls())]
    grow(n=50, admin=admin_user, unit=unit_a, source=focus_source, folder=tmp_path)
    large = [(index, _count(client, url)) for index, url in enumerate(urls())]
    assert small == large
    assert max(count for _, count in small) <= 12


def test_exported_cells_from_billing_files_cannot_run_as_formulas(admin_user, focus_source, tmp_path):
    path = tmp_path / "evil.csv"
    path.write_text(HEADER + '\n2025-01-01,2025-01-02,=1+2,1,EUR,Usage,AWS,S3,\n'
                    "2025-01-01,2025-01-02,-1,-1,EUR,Usage,AWS,S3,\n")
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    report = token_client(admin_user).get(f"/api/v1/cost-imports/{cost_import.pk}/errors/").content.decode()
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[1][:3] == ["2", "BilledCost", "'=1+2"]
