"""The FOCUS reader: formats, columns, value rules, streaming (no database)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.integrations import focus
from apps.integrations.focus import CostRow, FocusFileError, FocusValueError

HEADER = ["ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "BillingCurrency", "ChargeCategory",
          "ProviderName", "ServiceName"]


def _csv(path, header, rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_format_is_detected_from_the_content_not_the_name(tmp_path):
    # given a CSV, a gzip and a Parquet file, all named .dat
    _csv(tmp_path / "a.dat", HEADER, [])
    (tmp_path / "b.dat").write_bytes(gzip.compress(b"x,y\n"))
    pq.write_table(pa.table({"a": [1]}), tmp_path / "c.dat")

    # then each is recognised by its first bytes
    assert focus.detect_format(tmp_path / "a.dat") == "csv"
    assert focus.detect_format(tmp_path / "b.dat") == "csv.gz"
    assert focus.detect_format(tmp_path / "c.dat") == "parquet"


def test_missing_required_columns_are_named_in_the_error(tmp_path):
    # given a CSV without BilledCost and ChargeCategory
    header = [name for name in HEADER if name not in ("BilledCost", "ChargeCategory")]
    _csv(tmp_path / "f.csv", header, [])

    # when its layout is read
    with pytest.raises(FocusFileError) as error:
        focus.read_layout(tmp_path / "f.csv")

    # then both missing columns are named, on line 1
    assert "Required FOCUS columns missing: BilledCost, ChargeCategory." in error.value.message
    assert error.value.line == 1
    assert error.value.column == "BilledCost, ChargeCategory"


def test_layout_maps_focus_columns_case_insensitively_keeps_x_columns_and_ignores_unknown_ones(tmp_path):
    # given a header with odd casing, a BOM, an x_ column and provider columns Pilotlight does not use
    header = ["\ufeffchargeperiodstart", *HEADER[1:], "Tags", "x_ResourceGroupName", "PricingUnit", "SkuPriceId"]
    _csv(tmp_path / "f.csv", header, [])

    # when the layout is read
    layout = focus.read_layout(tmp_path / "f.csv")

    # then FOCUS columns map to their fields, x_ columns are kept and the rest ignored
    assert layout.fields["charge_period_start"] == 0
    assert layout.fields["tags"] == 8
    assert layout.extras == ("x_ResourceGroupName",)
    assert layout.ignored == ("PricingUnit", "SkuPriceId")
    assert layout.has_header and layout.first_line == 2


def test_a_column_given_twice_is_refused(tmp_path):
    _csv(tmp_path / "f.csv", [*HEADER, "billedcost"], [])
    with pytest.raises(FocusFileError, match="The column billedcost appears twice"):
        focus.read_layout(tmp_path / "f.csv")


def test_empty_file_is_refused_on_line_1(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"")
    with pytest.raises(FocusFileError) as error:
        focus.read_layout(tmp_path / "f.csv")
    assert (error.value.message, error.value.line) == ("The file is empty.", 1)


def test_csv_bytes_pass_through_unchanged_with_progress(tmp_path):
    # given a CSV file
    _csv(tmp_path / "f.csv", HEADER, [["2025-01-01", "2025-01-02", "1.5", "1.4", "USD", "Usage", "AWS", "S3"]] * 10)
    layout = focus.read_layout(tmp_path / "f.csv")
    seen = []

    # when it is streamed
    data = b"".join(focus.iter_copy_chunks(tmp_path / "f.csv", layout, on_read=seen.append))

    # then the bytes are the file's and the progress adds up to its size
    assert data == (tmp_path / "f.csv").read_bytes()
    assert sum(seen) == (tmp_path / "f.csv").stat().st_size


def test_truncated_gzip_is_an_error_naming_the_line_it_reached(tmp_path):
    # given a gzip CSV cut in half
    rows = [["2025-01-01", "2025-01-02", f"{i}.5", "1", "USD", "Usage", "AWS", "S3"] for i in range(20_000)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    packed = gzip.compress(buffer.getvalue().encode())
    (tmp_path / "f.csv.gz").write_bytes(packed[: len(packed) // 2])
    layout = focus.read_layout(tmp_path / "f.csv.gz")

    # when it is streamed
    with pytest.raises(FocusFileError) as error:
        b"".join(focus.iter_copy_chunks(tmp_path / "f.csv.gz", layout))

    # then the error says it is truncated and where
    assert "The gzip file is truncated" in error.value.message
    assert error.value.line > 1
    assert f"it ends after line {error.value.line}" in error.value.message


def test_parquet_decimals_and_doubles_become_exact_text_and_map_tags_become_json(tmp_path):
    # given an AWS-style Parquet file: typed timestamps, decimal and double amounts, tags as a map
    table = pa.table({
        "ChargePeriodStart": pa.array([datetime(2025, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        "ChargePeriodEnd": pa.array([datetime(2025, 1, 2, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        "BilledCost": pa.array([Decimal("0.1234567891")], pa.decimal128(20, 10)),
        "EffectiveCost": pa.array([0.1], pa.float64()),
        "BillingCurrency": ["USD"], "ChargeCategory": ["Usage"], "ProviderName": ["AWS"], "ServiceName": ["S3"],
        "Tags": pa.array([[("pilotlight-initiative", "AI-001"), ("archived", "true")]],
                         pa.map_(pa.string(), pa.string())),
        "PricingUnit": ["Hours"],
    })
    pq.write_table(table, tmp_path / "f.parquet")
    layout = focus.read_layout(tmp_path / "f.parquet")

    # when it is streamed as CSV
    text = b"".join(focus.iter_copy_chunks(tmp_path / "f.parquet", layout)).decode()
    row = next(csv.reader(io.StringIO(text)))
    values = dict(zip([name for _, name in layout.columns], row, strict=True))

    # then amounts are the exact decimal text (never float noise), times ISO 8601 UTC and tags a JSON object
    assert values["billed_cost"] == "0.1234567891"
    assert values["effective_cost"] == "0.1"
    assert focus.parse_timestamp(values["charge_period_start"]) == datetime(2025, 1, 1, tzinfo=UTC)
    assert json.loads(values["tags"]) == {"pilotlight-initiative": "AI-001", "archived": "true"}
    assert "PricingUnit" not in [column for column, _ in layout.columns]
    assert layout.has_header is False and layout.first_line == 1


def test_streaming_a_large_gzip_file_keeps_memory_flat(tmp_path):
    # given a gzip CSV of about 40 MB uncompressed
    row = "2025-01-01T00:00:00Z,2025-01-02T00:00:00Z,12.3456789,11.1,USD,Usage,AWS,Amazon S3\n"
    with gzip.open(tmp_path / "big.csv.gz", "wt") as handle:
        handle.write(",".join(HEADER) + "\n")
        for _ in range(500):
            handle.write(row * 1000)
    layout = focus.read_layout(tmp_path / "big.csv.gz")

    # when it is streamed
    tracemalloc.start()
    total = sum(len(chunk) for chunk in focus.iter_copy_chunks(tmp_path / "big.csv.gz", layout))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # then every byte came through while no more than a few chunks were held at once
    assert total > 40_000_000
    assert peak < 8 * focus.CHUNK_BYTES


@pytest.mark.parametrize(("text", "expected"), [
    ("12.5", Decimal("12.5")), ("-0.75", Decimal("-0.75")), (" 3 ", Decimal("3")), ("1.5e-7", Decimal("1.5E-7")),
    (".5", Decimal("0.5")), ("100.", Decimal("100")),
])
def test_decimals_parse_exactly(text, expected):
    assert focus.parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1,5", "12 EUR", "", "1e999", "--1"])
def test_non_decimals_are_refused(text):
    with pytest.raises(FocusValueError, match="not a decimal number"):
        focus.parse_decimal(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-01-31T00:00:00Z", datetime(2025, 1, 31, tzinfo=UTC)),
    ("2025-01-31T00:00:00.000Z", datetime(2025, 1, 31, tzinfo=UTC)),
    ("2025-01-31T00:00:00.0000000Z", datetime(2025, 1, 31, tzinfo=UTC)),
    ("2025-01-31 00:00:00 UTC", datetime(2025, 1, 31, tzinfo=UTC)),
    ("2025-01-31T01:00:00+01:00", datetime(2025, 1, 31, tzinfo=UTC)),
    ("2025-01-31T00:00:00", datetime(2025, 1, 31, tzinfo=UTC)),
    ("2025-01-31", datetime(2025, 1, 31, tzinfo=UTC)),
])
def test_timestamps_parse_as_utc(text, expected):
    assert focus.parse_timestamp(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("2025-02-30T00:00:00Z", "not a valid date-time"), ("31/01/2025", "not an ISO 8601 date-time"),
    ("now", "not an ISO 8601 date-time"), ("2025-01-31T25:00:00Z", "not a valid date-time"),
])
def test_bad_timestamps_are_refused_with_a_reason(text, reason):
    with pytest.raises(FocusValueError, match=reason):
        focus.parse_timestamp(text)


def test_currency_codes_must_be_iso_4217():
    assert focus.parse_currency(" usd ") == "USD"
    for bad in ("EURO", "XYZ", "€", ""):
        with pytest.raises(FocusValueError, match="not an ISO 4217 currency code"):
            focus.parse_currency(bad)


def test_tags_are_a_json_object_where_a_valueless_tag_is_true():
    assert focus.parse_tags('{"team": "fraud", "archived": true}') == {"team": "fraud", "archived": True}
    assert focus.parse_tags("") == {}
    with pytest.raises(FocusValueError, match="not a JSON object"):
        focus.parse_tags('["team"]')
    with pytest.raises(FocusValueError, match="not valid JSON"):
        focus.parse_tags("{team: fraud}")
    with pytest.raises(FocusValueError, match="nested value"):
        focus.parse_tags('{"team": {"a": 1}}')


def test_charge_category_must_be_a_focus_value():
    assert focus.parse_charge_category("Credit") == "Credit"
    with pytest.raises(FocusValueError, match="not a FOCUS charge category"):
        focus.parse_charge_category("Refund")


def test_cost_rows_are_written_as_a_focus_file_the_reader_accepts(tmp_path):
    # given two rows from an API pull
    day = datetime(2025, 3, 1, tzinfo=UTC)
    rows = [
        CostRow(charge_period_start=day, charge_period_end=datetime(2025, 3, 2, tzinfo=UTC),
                billed_cost=Decimal("10.1234567"), effective_cost=Decimal("9.5"), billing_currency="USD",
                provider_name="AWS", service_name="Amazon Bedrock", tags={"pilotlight-initiative": "AI-007"}),
        CostRow(charge_period_start=day, charge_period_end=datetime(2025, 3, 2, tzinfo=UTC),
                billed_cost=Decimal("-2"), effective_cost=Decimal("-2"), billing_currency="USD",
                provider_name="AWS", service_name="Amazon S3", charge_category="Credit"),
    ]

    # when they are written
    count = focus.write_csv(rows, tmp_path / "pull.csv")

    # then the file reads back with every required column and the exact amounts
    layout = focus.read_layout(tmp_path / "pull.csv")
    lines = list(csv.DictReader(io.StringIO((tmp_path / "pull.csv").read_text())))
    assert count == 2 and not layout.ignored
    assert lines[0]["BilledCost"] == "10.1234567" and lines[0]["ChargePeriodStart"] == "2025-03-01T00:00:00Z"
    assert json.loads(lines[0]["Tags"]) == {"pilotlight-initiative": "AI-007"}
    assert (lines[1]["ChargeCategory"], lines[1]["Tags"]) == ("Credit", "")
