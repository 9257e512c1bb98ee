"""Cost pages: what they show, the forms that change things, the summary include, and query counts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from apps.costs.models import AllocationRule, CostImport, CostRecord, CostSource, FxRate
from apps.costs.selectors import costs_initiative_summary
from apps.costs.services import cost_import_file
from tests.costs import focus_files
from tests.costs.scale import grow

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(admin_user, initiatives, focus_source, usd_rate, tmp_path):
    lines = focus_files.generate("aws", keys=["AI-001", "AI-002", "AI-003"], start=date(2025, 1, 10), days=40)
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "aws.csv", "aws", lines)])
    return lines


def test_the_initiative_costs_page_shows_the_monthly_chart_and_figures(imported, admin_user, client):
    client.force_login(admin_user)
    response = client.get("/costs/initiatives/ai-001/")
    html = response.content.decode()
    financials = response.context["financials"]
    expected = sum(line.effective for line in imported if line.initiative_key == "AI-001") * Decimal("0.9")
    assert financials.cost_to_date == expected
    assert [item.month for item in financials.months] == [date(2025, 1, 1), date(2025, 2, 1)]
    assert 'id="cost-chart"' in html and "Monthly cost by service" in html
    assert '"name":"Budget"' in html  # AI-001 has a budget: the budget line is drawn
    assert "vendor/plotly/plotly.min.js" in html


def test_an_initiative_without_cost_says_how_to_get_some(admin_user, initiatives, client):
    client.force_login(admin_user)
    html = client.get("/costs/initiatives/AI-002/").content.decode()
    assert "No cost allocated yet" in html and "pilotlight-initiative=AI-002" in html


def test_the_summary_include_renders_for_the_initiative_page(imported, admin_user, initiatives, rf):
    # the include the initiative detail page embeds, fed by costs_initiative_summary
    request = rf.get("/")
    request.user = admin_user
    summary = costs_initiative_summary(user=admin_user, initiative=initiatives[0])
    html = render_to_string("costs/_initiative_summary.html", {"summary": summary}, request=request)
    assert "Cost and return" in html and "/costs/initiatives/AI-001/" in html
    assert "of EUR 50,000" in html


def test_the_portfolio_page_plots_value_against_cost(imported, admin_user, client):
    client.force_login(admin_user)
    response = client.get("/costs/")
    html = response.content.decode()
    assert 'id="value-cost-chart"' in html and "break-even" in html
    assert [row.initiative.key for row in response.context["rows"]] == sorted(
        ["AI-001", "AI-002", "AI-003"], key=lambda key: -next(r.cost for r in response.context["rows"]
                                                               if r.initiative.key == key))
    assert "Unallocated" in html


def test_the_explorer_groups_and_filters(imported, admin_user, client):
    client.force_login(admin_user)
    response = client.get("/costs/explorer/?group_by=initiative&group_by=service&date_from=2025-02-01")
    cells = [line["cells"] for line in response.context["lines"]]
    assert all(len(cell) == 2 for cell in cells)
    assert {cell[0] for cell in cells} == {"AI-001", "AI-002", "AI-003", "unallocated"}
    total = sum(line.effective for line in imported if line.start.date() >= date(2025, 2, 1)) * Decimal("0.9")
    assert response.context["total"]["amount"] == total


def test_an_admin_uploads_files_on_the_source_page(admin_user, initiatives, focus_source, usd_rate, tmp_path, client,
                                                   django_capture_on_commit_callbacks):
    lines = focus_files.generate("aws", keys=["AI-001"], start=date(2025, 1, 1), days=2)
    path = focus_files.write(tmp_path / "aws.csv", "aws", lines)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/costs/sources/{focus_source.pk}/",
                               {"files": [SimpleUploadedFile("aws.csv", path.read_bytes())]})
    cost_import = CostImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/costs/imports/{cost_import.pk}/"
    assert len(callbacks) == 1  # the import task is queued once the upload is committed
    page = client.get(f"/costs/imports/{cost_import.pk}/").content.decode()
    assert 'http-equiv="refresh"' in page and "Queued" in page


def test_an_upload_over_the_limit_is_shown_on_the_form(admin_user, focus_source, settings, client):
    settings.COST_IMPORT_MAX_BYTES = 10
    client.force_login(admin_user)
    response = client.post(f"/costs/sources/{focus_source.pk}/",
                           {"files": [SimpleUploadedFile("big.csv", b"x" * 11)]})
    assert response.status_code == 200
    assert response.context["upload"].errors["files"] == [
        "big.csv is 11 bytes, over the limit of 10 bytes per file (COST_IMPORT_MAX_BYTES); nothing was imported."]
    assert not CostImport.objects.exists()


def test_a_failed_import_page_lists_its_errors(admin_user, focus_source, tmp_path, client):
    path = tmp_path / "bad.csv"
    path.write_text("ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,"
                    "ProviderName,ServiceName\n2025-01-01,2025-01-02,1,1,EURO,Usage,AWS,S3\n")
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    client.force_login(admin_user)
    html = client.get(f"/costs/imports/{cost_import.pk}/").content.decode()
    assert "Nothing was imported." in html and "Download the error report (CSV)" in html
    assert "<code>BillingCurrency</code>" in html and "not an ISO 4217 currency code" in html


def test_sources_rules_and_fx_rates_are_managed_through_forms(admin_user, initiatives, client):
    client.force_login(admin_user)
    response = client.post("/costs/sources/new/", {
        "name": "Azure prod", "kind": "azure", "enabled": "on", "tag_key": "pilotlight-initiative",
        "aws_region": "us-east-1", "aws_metric": "AmortizedCost", "azure_scope": "", "azure_cost_type": "ActualCost",
        "lookback_days": 5, "initial_days": 90})
    assert response.context["form"].errors == {
        "azure_scope": ["Azure pulls need a scope, e.g. /subscriptions/<id>."]}
    response = client.post("/costs/rules/new/", {
        "name": "Team A", "kind": "tag", "tag_key": "team", "tag_value": "a", "initiative": "AI-002",
        "priority": 100, "share": "1", "enabled": "on"})
    assert response.status_code == 302
    assert AllocationRule.objects.get().initiative.key == "AI-002"
    response = client.post("/costs/fx/", {"mode": "csv", "csv": "USD,2025-01-01,0.9\nXXX,2025-01-01,1"})
    assert response.context["bulk"].errors["csv"] == [
        "Line 2, currency: “XXX” is not an ISO 4217 currency code (e.g. EUR, USD)."]
    response = client.post("/costs/fx/", {"mode": "single", "currency": "USD", "valid_from": "2025-01-01",
                                          "rate": "0.9"})
    assert response.status_code == 302 and FxRate.objects.get().currency == "USD"


def test_executives_read_sources_but_get_no_forms(imported, executive, focus_source, client):
    client.force_login(executive)
    html = client.get(f"/costs/sources/{focus_source.pk}/").content.decode()
    assert "Upload FOCUS files" not in html
    assert client.get("/costs/sources/new/").status_code == 403
    assert client.post(f"/costs/sources/{focus_source.pk}/", {}).status_code == 403


# --- query counts ------------------------------------------------------------------------------------------------


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(context.captured_queries)


def test_query_counts_of_every_page_are_the_same_at_5_and_50_rows(admin_user, unit_a, focus_source, tmp_path,
                                                                  client):
    client.force_login(admin_user)

    def urls() -> list[str]:
        failed = CostImport.objects.filter(status="failed").order_by("pk").first().pk
        return ["/costs/", "/costs/initiatives/QC-001/", "/costs/explorer/",
                "/costs/explorer/?group_by=business_unit&group_by=service&group_by=month",
                "/costs/explorer/?group_by=day&group_by=source&group_by=provider&group_by=sub_account",
                "/costs/sources/", f"/costs/sources/{focus_source.pk}/", f"/costs/imports/{failed}/",
                f"/costs/imports/{failed}/errors.csv", "/costs/rules/", "/costs/rules/new/",
                f"/costs/rules/{AllocationRule.objects.first().pk}/edit/", "/costs/fx/", "/costs/sources/new/",
                f"/costs/sources/{focus_source.pk}/edit/"]

    grow(n=5, admin=admin_user, unit=unit_a, source=focus_source, folder=tmp_path)
    small = [(url, _count(client, url)) for url in urls()]
    grow(n=50, admin=admin_user, unit=unit_a, source=focus_source, folder=tmp_path)
    large = [(url, _count(client, url)) for url in urls()]
    assert [count for _, count in small] == [count for _, count in large], list(zip(small, large, strict=True))
    assert CostRecord.objects.count() == 150 and CostSource.objects.count() == 1
