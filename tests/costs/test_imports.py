"""FOCUS imports end to end: AWS, Azure and GCP shaped files (1.0 and 1.2, CSV, gzip, Parquet), idempotency,
restatements and every kind of bad input (nothing written, the line and column named)."""

from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.db.models.functions import TruncMonth

from apps.audit.models import AuditEvent
from apps.core.choices import JobStatus
from apps.costs.choices import ImportStatus
from apps.costs.models import CostAllocation, CostDaily, CostDimension, CostImport, CostMonthly, CostRecord
from apps.costs.services import cost_import_create, cost_import_file, cost_import_run
from tests.costs import focus_files

pytestmark = pytest.mark.django_db

KEYS = ["AI-001", "AI-002", "AI-003"]


def totals_by_key() -> dict[str | None, Decimal]:
    rows = CostDaily.objects.values("initiative__key").annotate(total=Sum("effective_cost"))
    return {row["initiative__key"]: row["total"] for row in rows}


def totals_by_key_and_month() -> dict[tuple[str | None, str], Decimal]:
    rows = (CostDaily.objects.annotate(month=TruncMonth("day")).values("initiative__key", "month")
            .annotate(total=Sum("effective_cost")))
    return {(row["initiative__key"], row["month"].strftime("%Y-%m")): row["total"] for row in rows}


def assert_totals_match(lines) -> None:
    per_key, per_month = focus_files.expected_totals(lines)
    assert totals_by_key() == per_key
    assert totals_by_key_and_month() == per_month
    monthly = CostMonthly.objects.values("initiative__key", "month").annotate(total=Sum("effective_cost"))
    assert {(row["initiative__key"], row["month"].strftime("%Y-%m")): row["total"] for row in monthly} == per_month
    assert CostRecord.objects.aggregate(total=Sum("effective_cost"))["total"] == sum(line.effective for line in lines)


def nothing_written() -> bool:
    return not (CostRecord.objects.exists() or CostDaily.objects.exists() or CostDimension.objects.exists()
                or CostAllocation.objects.exists())


# --- well-formed exports -----------------------------------------------------------------------------------------


def test_aws_focus_1_0_csv_totals_per_initiative_and_month_match_the_file(admin_user, initiatives, focus_source,
                                                                          usd_rate, tmp_path):
    # given an AWS Data Exports FOCUS 1.0 CSV in USD over two months, tags partly "user:"-prefixed and lower-case
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 20), days=25)
    path = focus_files.write(tmp_path / "aws.csv", "aws", lines)

    # when it is imported
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then every line is stored and the totals per initiative and month equal the sums computed from the file
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert cost_import.rows_imported == len(lines) == CostRecord.objects.count()
    assert_totals_match(lines)
    # and the reporting-currency cost is the effective cost at the USD rate of 0.9
    converted = CostDaily.objects.aggregate(cost=Sum("cost"), effective=Sum("effective_cost"))
    assert converted["cost"] == converted["effective"] * Decimal("0.9")
    assert cost_import.period_start == datetime(2025, 1, 20, tzinfo=UTC)
    assert cost_import.period_end == datetime(2025, 2, 14, tzinfo=UTC)
    assert Decimal(cost_import.totals["USD"]["effective"]) == sum(line.effective for line in lines)


def test_azure_focus_1_2_gzip_with_crlf_and_seven_digit_fractions_imports_exactly(admin_user, initiatives,
                                                                                   focus_source, tmp_path):
    # given an Azure FocusCost 1.2 export, gzip-compressed, in EUR (the reporting currency)
    lines = focus_files.generate("azure12", keys=KEYS, start=date(2025, 3, 28), days=10, currency="EUR", seed=3)
    path = focus_files.write(tmp_path / "focuscost.csv.gz", "azure12", lines, fmt="csv.gz")

    # when it is imported
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then the totals match and the x_ columns were kept on each line
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert_totals_match(lines)
    record = CostRecord.objects.order_by("line").first()
    assert record.line == 2
    assert record.extra == {"x_CostCenter": "CC-1"}
    assert CostDaily.objects.aggregate(cost=Sum("cost"))["cost"] == sum(line.effective for line in lines)


def test_gcp_focus_csv_with_utc_suffixed_times_and_valueless_tags_imports_exactly(admin_user, initiatives,
                                                                                  focus_source, tmp_path):
    # given a Google Cloud FOCUS export: "2025-01-01 00:00:00 UTC" times, valueless tags (true)
    lines = focus_files.generate("gcp", keys=KEYS, start=date(2025, 5, 30), days=5, currency="EUR", seed=11)
    path = focus_files.write(tmp_path / "gcp.csv", "gcp", lines)

    # when it is imported
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then the totals match and a valueless tag is kept as true
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert_totals_match(lines)
    assert CostDimension.objects.filter(tags__contains={"goog-managed": True}).exists()


def test_aws_parquet_with_typed_amounts_and_map_tags_imports_exactly(admin_user, initiatives, focus_source,
                                                                     usd_rate, tmp_path):
    # given an AWS Parquet export: decimal128 amounts, timestamp columns, tags as map<string, string>
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 6, 25), days=12, seed=5)
    path = focus_files.write(tmp_path / "part-00001.parquet", "aws", lines, fmt="parquet")

    # when it is imported
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then the totals match the file to the last decimal
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert_totals_match(lines)
    assert CostRecord.objects.filter(line=1).count() == 1  # Parquet rows are numbered from 1


def test_an_export_in_parts_is_one_import(admin_user, initiatives, focus_source, usd_rate, tmp_path):
    # given one month's export split in two Parquet parts
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=31, seed=2)
    first = focus_files.write(tmp_path / "part-1.parquet", "aws", lines[:100], fmt="parquet")
    second = focus_files.write(tmp_path / "part-2.parquet", "aws", lines[100:], fmt="parquet")

    # when both are imported together
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[first, second])

    # then both parts count
    assert cost_import.status == ImportStatus.SUCCEEDED, cost_import.error
    assert CostRecord.objects.count() == len(lines)
    assert_totals_match(lines)


def test_reimporting_the_same_file_adds_nothing(admin_user, initiatives, focus_source, usd_rate, tmp_path):
    # given an imported file
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 2, 1), days=14)
    path = focus_files.write(tmp_path / "aws.csv", "aws", lines)
    cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    before = totals_by_key_and_month()

    # when it is imported again
    again = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then it replaced its own rows: same counts, same totals
    assert again.status == ImportStatus.SUCCEEDED
    assert (again.rows_imported, again.rows_replaced) == (len(lines), len(lines))
    assert CostRecord.objects.count() == len(lines)
    assert totals_by_key_and_month() == before
    assert_totals_match(lines)


def test_identical_line_items_inside_one_file_both_count(admin_user, initiatives, focus_source, usd_rate, tmp_path):
    # given a file where one line item appears twice
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 2, 1), days=2)
    lines.append(lines[0])
    path = focus_files.write(tmp_path / "aws.csv", "aws", lines)

    # when it is imported
    cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then both copies count
    assert CostRecord.objects.count() == len(lines)
    assert_totals_match(lines)


def test_a_restated_month_replaces_that_month_and_leaves_the_others(admin_user, initiatives, focus_source, usd_rate,
                                                                   tmp_path):
    # given January and February imported from separate files
    january = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=31, seed=1)
    february = focus_files.generate("aws", keys=KEYS, start=date(2025, 2, 1), days=28, seed=2)
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "jan.csv", "aws", january)])
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "feb.csv", "aws", february)])

    # when January is restated by the provider (different amounts, fewer lines) and imported again
    restated = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=31, per_day=4, seed=9)
    cost_import = cost_import_file(actor=admin_user, source=focus_source,
                                   paths=[focus_files.write(tmp_path / "jan-v2.csv", "aws", restated)])

    # then January is the restated data and February is untouched
    assert cost_import.rows_replaced == len(january)
    assert_totals_match(restated + february)


def test_sources_do_not_replace_each_others_rows(admin_user, initiatives, focus_source, usd_rate, tmp_path):
    # given the same month imported into two sources (AWS and Azure exports)
    from apps.costs.models import CostSource

    azure = CostSource.objects.create(name="Azure", kind="focus")
    aws_lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=10, seed=1)
    azure_lines = focus_files.generate("azure", keys=KEYS, start=date(2025, 1, 1), days=10, seed=2, currency="EUR")
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "aws.csv", "aws", aws_lines)])
    cost_import_file(actor=admin_user, source=azure,
                     paths=[focus_files.write(tmp_path / "azure.csv", "azure", azure_lines)])

    # then both count
    assert_totals_match(aws_lines + azure_lines)


def test_an_import_is_one_audit_event_and_line_items_are_not_row_audited(admin_user, initiatives, focus_source,
                                                                         usd_rate, tmp_path):
    # given a file
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 2, 1), days=3)
    path = focus_files.write(tmp_path / "aws.csv", "aws", lines)
    before = AuditEvent.objects.count()

    # when it is imported
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then exactly one event records it, with its files, rows and totals
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert [(event.kind, event.action) for event in events] == [("security", "cost_import")]
    detail = events[0].detail
    assert (detail["import"], detail["rows"], detail["status"]) == (cost_import.pk, len(lines), "succeeded")
    assert detail["files"][0]["name"] == "aws.csv" and len(detail["files"][0]["sha256"]) == 64
    assert events[0].actor_id == admin_user.pk


def test_the_job_reports_progress_to_the_end(admin_user, initiatives, focus_source, usd_rate, tmp_path):
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 2, 1), days=3)
    cost_import = cost_import_file(actor=admin_user, source=focus_source,
                                   paths=[focus_files.write(tmp_path / "aws.csv", "aws", lines)])
    job = cost_import.job
    job.refresh_from_db()
    assert (job.status, job.percent, job.result["rows"]) == (JobStatus.SUCCEEDED, 100, len(lines))
    assert job.message == f"Imported {len(lines):,} cost lines (replaced 0)"


# --- bad input ---------------------------------------------------------------------------------------------------


def _import_text(admin_user, source, tmp_path, text: str, name: str = "bad.csv") -> CostImport:
    path = tmp_path / name
    path.write_text(text)
    return cost_import_file(actor=admin_user, source=source, paths=[path])


GOOD = "2025-01-01T00:00:00Z,2025-01-02T00:00:00Z,10.5,10,EUR,Usage,AWS,Amazon S3"
HEADER = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName," \
         "ServiceName"


def errors_of(cost_import: CostImport) -> list[tuple]:
    return list(cost_import.errors.values_list("line", "column", "value", "reason"))


def test_missing_required_columns_are_named_and_nothing_is_written(admin_user, focus_source, tmp_path):
    cost_import = _import_text(admin_user, focus_source, tmp_path,
                               "ChargePeriodStart,BilledCost,ProviderName\n2025-01-01,1,AWS\n")
    assert cost_import.status == ImportStatus.FAILED
    assert cost_import.error == (
        "bad.csv: Required FOCUS columns missing: ChargePeriodEnd, EffectiveCost, BillingCurrency, ChargeCategory, "
        "ServiceName. Found: ChargePeriodStart, BilledCost, ProviderName.")
    assert errors_of(cost_import)[0][:2] == (1, "ChargePeriodEnd, EffectiveCost, BillingCurrency, ChargeCategory, "
                                                "ServiceName")
    assert nothing_written()


def test_unparsable_dates_and_amounts_are_reported_by_line_and_column_and_nothing_is_written(admin_user,
                                                                                            focus_source, tmp_path):
    # given a file with a bad date on line 3, a bad amount on line 4 and good lines around them
    text = "\n".join([HEADER, GOOD, GOOD.replace("2025-01-01T00:00:00Z", "31/01/2025", 1),
                      GOOD.replace("10.5", "ten", 1), GOOD.replace("2025-01-02T00:00:00Z", "2025-02-30T00:00:00Z"),
                      GOOD]) + "\n"

    # when it is imported
    cost_import = _import_text(admin_user, focus_source, tmp_path, text)

    # then each problem is named by line, column, value and reason, and nothing is written
    assert cost_import.status == ImportStatus.FAILED
    assert errors_of(cost_import) == [
        (3, "ChargePeriodStart", "31/01/2025", "not an ISO 8601 date-time (e.g. 2025-01-31T00:00:00Z)"),
        (4, "BilledCost", "ten", "not a decimal number"),
        (5, "ChargePeriodEnd", "2025-02-30T00:00:00Z", "not a valid date-time (day is out of range for month)"),
    ]
    assert cost_import.error_count == 3
    assert cost_import.error.startswith("3 problem(s) found; nothing was imported. First: bad.csv line 3, "
                                        "ChargePeriodStart: not an ISO 8601 date-time")
    assert nothing_written()


def test_a_wrong_currency_code_is_reported_and_nothing_is_written(admin_user, focus_source, tmp_path):
    text = "\n".join([HEADER, GOOD, GOOD.replace(",EUR,", ",EURO,")]) + "\n"
    cost_import = _import_text(admin_user, focus_source, tmp_path, text)
    assert errors_of(cost_import) == [(3, "BillingCurrency", "EURO", "not an ISO 4217 currency code (e.g. EUR, USD)")]
    assert nothing_written()


def test_empty_values_charge_categories_tags_and_periods_are_checked(admin_user, focus_source, tmp_path):
    # given rows with an empty effective cost, an unknown category, broken tags and a period ending before it starts
    header = HEADER + ",Tags"
    text = "\n".join([
        header, GOOD + ",", "2025-01-01T00:00:00Z,2025-01-02T00:00:00Z,1,,EUR,Usage,AWS,S3,",
        GOOD.replace("Usage", "Refund") + ",", GOOD + ',"{team: x}"',
        "2025-01-02T00:00:00Z,2025-01-01T00:00:00Z,1,1,EUR,Usage,AWS,S3,",
    ]) + "\n"
    cost_import = _import_text(admin_user, focus_source, tmp_path, text)
    assert errors_of(cost_import) == [
        (3, "EffectiveCost", "", "required: the value is empty"),
        (4, "ChargeCategory", "Refund", "not a FOCUS charge category (Adjustment, Credit, Purchase, Tax, Usage)"),
        (5, "Tags", "{team: x}", "not valid JSON (Expecting property name enclosed in double quotes)"),
        (6, "ChargePeriodEnd", "2025-01-01T00:00:00Z", "the charge period must end after it starts"),
    ]
    assert nothing_written()
    # a file whose only problem is a period ending before it starts
    text = "\n".join([HEADER, GOOD, "2025-01-02T00:00:00Z,2025-01-01T00:00:00Z,1,1,EUR,Usage,AWS,S3"]) + "\n"
    cost_import = _import_text(admin_user, focus_source, tmp_path, text, name="periods.csv")
    assert errors_of(cost_import) == [
        (3, "ChargePeriodEnd", "2025-01-01T00:00:00Z", "the charge period must end after it starts")]
    assert nothing_written()


def test_a_row_with_the_wrong_number_of_fields_is_named(admin_user, focus_source, tmp_path):
    text = "\n".join([HEADER, GOOD, GOOD, GOOD + ",extra"]) + "\n"
    cost_import = _import_text(admin_user, focus_source, tmp_path, text)
    assert cost_import.status == ImportStatus.FAILED
    assert cost_import.error == "bad.csv line 4: the row has more fields than the header (8 columns)"
    assert errors_of(cost_import)[0][0] == 4
    assert nothing_written()


def test_a_truncated_gzip_fails_naming_the_line_and_writes_nothing(admin_user, focus_source, tmp_path):
    rows = "\n".join([HEADER] + [GOOD] * 30_000) + "\n"
    packed = gzip.compress(rows.encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    cost_import = cost_import_file(actor=admin_user, source=focus_source, paths=[path])
    assert cost_import.status == ImportStatus.FAILED
    assert "cut.csv.gz: The gzip file is truncated: it ends after line" in cost_import.error
    line = errors_of(cost_import)[0][0]
    assert 1 < line < 30_002
    assert nothing_written()


def test_an_empty_file_and_a_header_only_file_are_refused(admin_user, focus_source, tmp_path):
    empty = _import_text(admin_user, focus_source, tmp_path, "", name="empty.csv")
    assert empty.error == "empty.csv: The file is empty."
    assert errors_of(empty) == [(1, "", "", "The file is empty.")]
    header_only = _import_text(admin_user, focus_source, tmp_path, HEADER + "\n", name="header.csv")
    assert header_only.error == "header.csv has a header but no cost rows."
    assert nothing_written()


def test_a_file_over_the_size_limit_is_refused_before_anything_is_stored(admin_user, focus_source, settings,
                                                                         tmp_path):
    # given a limit of 1 kB
    settings.COST_IMPORT_MAX_BYTES = 1024
    big = ("\n".join([HEADER] + [GOOD] * 40) + "\n").encode()
    upload = SimpleUploadedFile("big.csv", big, content_type="text/csv")

    # when a 3 kB file is uploaded
    with pytest.raises(ValidationError) as error:
        cost_import_create(actor=admin_user, source=focus_source, uploads=[upload], enqueue=False)

    # then it is refused with the sizes, and no import exists
    assert error.value.message_dict["file"] == [
        f"big.csv is {len(big):,} bytes, over the limit of 1,024 bytes per file (COST_IMPORT_MAX_BYTES); nothing "
        f"was imported."]
    assert not CostImport.objects.exists()
    assert not list((settings.COST_IMPORT_DIR).rglob("*.csv")) if settings.COST_IMPORT_DIR.exists() else True


def test_a_file_that_grew_past_the_limit_fails_at_import_time(admin_user, focus_source, settings, tmp_path):
    # given an accepted import whose stored file is over the (since lowered) limit
    path = tmp_path / "ok.csv"
    path.write_text("\n".join([HEADER] + [GOOD] * 40) + "\n")
    cost_import = cost_import_create(actor=admin_user, source=focus_source, paths=[path], enqueue=False)
    settings.COST_IMPORT_MAX_BYTES = 100

    # when it runs
    cost_import_run(import_id=cost_import.pk)

    # then it fails naming the file and the limit
    cost_import.refresh_from_db()
    assert cost_import.status == ImportStatus.FAILED
    assert "over the limit of 100 bytes per file" in cost_import.error
    assert nothing_written()


def test_a_failed_import_leaves_the_earlier_data_of_its_source_alone(admin_user, initiatives, focus_source, usd_rate,
                                                                     tmp_path):
    # given an imported month
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=31)
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "jan.csv", "aws", lines)])

    # when a restated file for the same month has one bad row among thousands
    restated = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=31, seed=4)
    path = focus_files.write(tmp_path / "jan-v2.csv", "aws", restated)
    text = path.read_text().splitlines()
    text[100] = text[100].replace(",USD,", ",US$,")
    path.write_text("\n".join(text) + "\n")
    failed = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then it fails on that line and the first import's data is intact
    assert errors_of(failed) == [(101, "BillingCurrency", "US$", "not an ISO 4217 currency code (e.g. EUR, USD)")]
    assert_totals_match(lines)


def test_the_error_report_lists_every_bad_row_as_csv(admin_user, focus_source, tmp_path, client):
    # given a failed import with two bad rows
    text = "\n".join([HEADER, GOOD.replace("10.5", "x"), GOOD.replace(",EUR,", ",ABC,")]) + "\n"
    cost_import = _import_text(admin_user, focus_source, tmp_path, text)
    client.force_login(admin_user)

    # when its report is downloaded
    response = client.get(f"/costs/imports/{cost_import.pk}/errors.csv")

    # then it is a CSV with line, column, value and reason
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["line", "column", "value", "reason", "file"],
        ["2", "BilledCost", "x", "not a decimal number", "bad.csv"],
        ["3", "BillingCurrency", "ABC", "not an ISO 4217 currency code (e.g. EUR, USD)", "bad.csv"],
    ]


def test_many_bad_rows_are_all_counted_and_the_report_is_capped(admin_user, focus_source, settings, tmp_path):
    settings.COST_IMPORT_MAX_ERRORS = 5
    text = "\n".join([HEADER] + [GOOD.replace("10.5", "?")] * 12) + "\n"
    cost_import = _import_text(admin_user, focus_source, tmp_path, text)
    assert cost_import.errors.count() == 5
    assert cost_import.error.startswith("12 problem(s) found (showing the first 5)")
    assert cost_import.error_count == 12
    assert nothing_written()


def test_totals_split_by_month_follow_the_charge_period_start_in_utc(admin_user, initiatives, focus_source,
                                                                     tmp_path):
    # given a line that starts at 23:00 on 31 January UTC (1 February in Paris)
    text = "\n".join([HEADER + ",Tags",
                      '2025-01-31T23:00:00Z,2025-02-01T00:00:00Z,5,5,EUR,Usage,AWS,S3,"{""pilotlight-initiative"": '
                      '""AI-001""}"']) + "\n"
    _import_text(admin_user, focus_source, tmp_path, text)

    # then it counts in January
    assert totals_by_key_and_month() == {("AI-001", "2025-01"): Decimal("5")}
    by_day = defaultdict(Decimal)
    for row in CostDaily.objects.values("day", "effective_cost"):
        by_day[row["day"]] += row["effective_cost"]
    assert dict(by_day) == {date(2025, 1, 31): Decimal("5")}


def test_malformed_amounts_found_while_writing_roll_back_the_replacement_too(admin_user, initiatives, focus_source,
                                                                             usd_rate, tmp_path):
    # given an imported month
    lines = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=31)
    cost_import_file(actor=admin_user, source=focus_source,
                     paths=[focus_files.write(tmp_path / "jan.csv", "aws", lines)])

    # when a restated file for the month is good except for NaN, an absurd exponent and a comma decimal
    restated = focus_files.generate("aws", keys=KEYS, start=date(2025, 1, 1), days=31, seed=8)
    path = focus_files.write(tmp_path / "jan-v2.csv", "aws", restated)
    text = path.read_text().splitlines()
    for index, bad in ((10, "NaN"), (20, "1e999"), (30, "12,5")):
        cells = next(csv.reader([text[index]]))
        cells[1] = bad  # BilledCost
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(cells)
        text[index] = buffer.getvalue()
    path.write_text("\n".join(text) + "\n")
    failed = cost_import_file(actor=admin_user, source=focus_source, paths=[path])

    # then each is reported on its line, and the first import's month is intact (the replacement rolled back)
    assert errors_of(failed) == [(11, "BilledCost", "NaN", "not a decimal number"),
                                 (21, "BilledCost", "1e999", "not a decimal number"),
                                 (31, "BilledCost", "12,5", "not a decimal number")]
    assert_totals_match(lines)
