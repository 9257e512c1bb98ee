"""FOCUS (FinOps Open Cost & Usage Specification 1.0–1.2) files: formats, columns, value rules and streaming.

Reads CSV, gzip-compressed CSV and Parquet exports (AWS Data Exports, Azure FocusCost, Google Cloud) as a stream of
CSV bytes that PostgreSQL's COPY ingests, so memory stays flat whatever the file size: CSV bytes pass through
unchanged, gzip is decompressed chunk by chunk and Parquet is read in record batches and re-encoded by pyarrow
(decimals and doubles become strings, never floats). The value rules below (timestamps, decimals, currencies,
charge categories, tags) are applied per row by apps.costs.pipeline; `parse_*` are the reference validators whose
messages end up in the row-level error report. Also writes FOCUS CSV from `CostRow` dataclasses, which is how
the AWS and Azure pulls feed the same import path.

No database and no Django here: plain dataclasses in, bytes and dataclasses out.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

CHUNK_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 50_000

# Canonical FOCUS column -> short name used in the staging table and the pipeline.
REQUIRED_COLUMNS: dict[str, str] = {
    "ChargePeriodStart": "charge_period_start",
    "ChargePeriodEnd": "charge_period_end",
    "BilledCost": "billed_cost",
    "EffectiveCost": "effective_cost",
    "BillingCurrency": "billing_currency",
    "ChargeCategory": "charge_category",
    "ProviderName": "provider_name",
    "ServiceName": "service_name",
}
OPTIONAL_COLUMNS: dict[str, str] = {
    "ServiceCategory": "service_category",
    "SubAccountId": "sub_account_id",
    "SubAccountName": "sub_account_name",
    "ResourceId": "resource_id",
    "ResourceName": "resource_name",
    "RegionId": "region_id",
    "SkuId": "sku_id",
    "ConsumedQuantity": "consumed_quantity",
    "Tags": "tags",
}
KNOWN_COLUMNS: dict[str, str] = {**REQUIRED_COLUMNS, **OPTIONAL_COLUMNS}
FIELD_TO_COLUMN: dict[str, str] = {short: name for name, short in KNOWN_COLUMNS.items()}
# Values that may not be empty in any row (ServiceName must be present as a column but may be empty, e.g. on tax
# rows of some exports).
NOT_NULL_FIELDS = (
    "charge_period_start", "charge_period_end", "billed_cost", "effective_cost", "billing_currency",
    "charge_category", "provider_name",
)
DECIMAL_FIELDS = ("billed_cost", "effective_cost", "consumed_quantity")
TIMESTAMP_FIELDS = ("charge_period_start", "charge_period_end")
EXTRA_PREFIX = "x_"
CHARGE_CATEGORIES = frozenset({"Usage", "Purchase", "Tax", "Credit", "Adjustment"})

# A plain decimal, optionally with a small exponent (Parquet doubles render as "1.5e-7"). The same pattern runs in
# Python (`parse_decimal`) and in PostgreSQL (`~`), so both agree on what a number is; NaN and Infinity are not.
DECIMAL_PATTERN = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]{1,2})?$"
_DECIMAL_RE = re.compile(DECIMAL_PATTERN)
# ISO 8601 date-times as the providers write them: 2025-01-01T00:00:00Z, 2025-01-01T00:00:00.0000000Z,
# 2025-01-01 00:00:00 UTC, 2025-01-01T00:00:00+01:00, or a bare date (midnight). No zone means UTC (FOCUS).
_TIMESTAMP_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,12}))?)?)?"
    r"\s*(?P<tz>Z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)

# ISO 4217 active codes (plus the precious-metal and special codes some billing systems use).
_ISO_4217_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE
CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU
XUA YER ZAR ZMW ZWG ZWL
"""
ISO_4217 = frozenset(_ISO_4217_CODES.split())


class FocusFileError(Exception):
    """The file as a whole cannot be read (empty, truncated, not CSV/Parquet, required columns missing, too big).

    `line` and `column` name where the problem is when that is known.
    """

    def __init__(self, message: str, *, line: int | None = None, column: str = "", value: str = ""):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.value = value


class FocusValueError(ValueError):
    """One value breaks a FOCUS rule; the message says why (it becomes the `reason` of the error report)."""


# --- value rules (reference validators) -----------------------------------------------------------------------------


def parse_decimal(value: str) -> Decimal:
    """A FOCUS decimal as a Decimal (never a float)."""
    text = value.strip()
    if not _DECIMAL_RE.match(text):
        raise FocusValueError("not a decimal number")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise FocusValueError("not a decimal number") from exc


def parse_timestamp(value: str) -> datetime:
    """A FOCUS date-time in UTC; a value without a zone is UTC, a bare date is midnight."""
    match = _TIMESTAMP_RE.match(value.strip())
    if not match:
        raise FocusValueError("not an ISO 8601 date-time (e.g. 2025-01-31T00:00:00Z)")
    try:
        day = date.fromisoformat(match["date"])
        hour, minute, second = int(match["h"] or 0), int(match["m"] or 0), int(match["s"] or 0)
        micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
        moment = datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:
        raise FocusValueError(f"not a valid date-time ({exc})") from exc
    zone = match["tz"]
    if zone and zone not in ("Z", "UTC"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise FocusValueError("not a valid time-zone offset")
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    return moment


def parse_currency(value: str) -> str:
    """An ISO 4217 currency code, upper-cased."""
    code = value.strip().upper()
    if code not in ISO_4217:
        raise FocusValueError("not an ISO 4217 currency code (e.g. EUR, USD)")
    return code


def parse_charge_category(value: str) -> str:
    """One of the FOCUS charge categories."""
    text = value.strip()
    if text not in CHARGE_CATEGORIES:
        raise FocusValueError(f"not a FOCUS charge category ({', '.join(sorted(CHARGE_CATEGORIES))})")
    return text


def parse_tags(value: str) -> dict[str, Any]:
    """The Tags column: a JSON object of string keys; a valueless tag is `true`."""
    text = value.strip()
    if not text:
        return {}
    try:
        tags = json.loads(text)
    except ValueError as exc:
        raise FocusValueError(f"not valid JSON ({exc.args[0].split(':')[0]})") from exc
    if not isinstance(tags, dict):
        raise FocusValueError("not a JSON object of tags")
    for key, tag_value in tags.items():
        if tag_value is not True and not isinstance(tag_value, str | int | float | bool) and tag_value is not None:
            raise FocusValueError(f"tag {key!r} has a nested value; tags are strings (or true when valueless)")
    return tags


def canonical_tags(tags: dict[str, Any]) -> str:
    """One JSON text per distinct tag set (sorted keys), so equal tags are stored once."""
    return json.dumps(tags, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- layout ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FocusLayout:
    """How the COPY stream of one file is laid out: one entry per streamed column, in order.

    Each entry is (column name in the file, field) where field is a short FOCUS name (see KNOWN_COLUMNS), an `x_`
    custom column name, or "" for a column that is ignored.
    """

    format: str  # "csv", "csv.gz" or "parquet"
    columns: tuple[tuple[str, str], ...]
    has_header: bool  # the stream starts with a header line (CSV); Parquet streams have none
    first_line: int  # the line number of the first data row (2 for CSV with a header, 1 for Parquet rows)

    @property
    def fields(self) -> dict[str, int]:
        return {name: index for index, (_, name) in enumerate(self.columns) if name}

    @property
    def extras(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.columns if name.startswith(EXTRA_PREFIX))

    @property
    def ignored(self) -> tuple[str, ...]:
        return tuple(column for column, name in self.columns if not name)


def detect_format(path: Path) -> str:
    """csv, csv.gz or parquet, from the first bytes (not the file name)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        raise FocusFileError("The file is empty.", line=1)
    if head[:2] == b"\x1f\x8b":
        return "csv.gz"
    if head == b"PAR1":
        return "parquet"
    return "csv"


def _classify(header: list[str]) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """Map header names to fields (case-insensitive for FOCUS columns); returns the columns and missing names."""
    lookup = {name.lower(): short for name, short in KNOWN_COLUMNS.items()}
    seen: dict[str, str] = {}
    columns: list[tuple[str, str]] = []
    for raw in header:
        name = raw.strip().lstrip("\ufeff").strip()
        short = lookup.get(name.lower(), "")
        if not short and name[:2].lower() == EXTRA_PREFIX:
            short = EXTRA_PREFIX + name[2:]
        if short:
            if short.lower() in seen:
                raise FocusFileError(f"The column {name} appears twice in the header.", line=1, column=name)
            seen[short.lower()] = name
        columns.append((name, short))
    present = {short for _, short in columns}
    missing = [name for name, short in REQUIRED_COLUMNS.items() if short not in present]
    return tuple(columns), missing


def _require(columns: tuple[tuple[str, str], ...], missing: list[str], fmt: str) -> None:
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise FocusFileError(
            f"Required FOCUS column{plural} missing: {', '.join(missing)}. "
            f"Found: {', '.join(name for name, _ in columns) or 'no columns'}.",
            line=1 if fmt != "parquet" else None, column=", ".join(missing),
        )


def read_layout(path: Path, fmt: str | None = None) -> FocusLayout:
    """Read the header (or Parquet schema) and check the required columns are there."""
    fmt = fmt or detect_format(path)
    if fmt == "parquet":
        schema = _parquet_file(path).schema_arrow
        columns, missing = _classify(list(schema.names))
        _require(columns, missing, fmt)
        kept = tuple((name, short) for name, short in columns if short)
        return FocusLayout(format=fmt, columns=kept, has_header=False, first_line=1)
    with _open_text_stream(path, fmt) as raw:
        first = _read_header_line(raw)
    try:
        header = next(csv.reader([first.decode("utf-8-sig")]))
    except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
        raise FocusFileError(f"The header line cannot be read as UTF-8 CSV ({exc}).", line=1) from exc
    if not any(name.strip() for name in header):
        raise FocusFileError("The file has no header line (the first line is blank).", line=1)
    columns, missing = _classify(header)
    _require(columns, missing, fmt)
    return FocusLayout(format=fmt, columns=columns, has_header=True, first_line=2)


# --- streaming --------------------------------------------------------------------------------------------------------


class _ProgressFile(io.RawIOBase):
    """A read-only file that reports how many bytes of the underlying file were consumed."""

    def __init__(self, handle, on_read: Callable[[int], None] | None):
        self._handle = handle
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._handle.readinto(buffer)
        if count and self._on_read is not None:
            self._on_read(count)
        return count or 0


@contextmanager
def _open_text_stream(path: Path, fmt: str, on_read: Callable[[int], None] | None = None) -> Iterator[Any]:
    with open(path, "rb") as raw:
        counted = io.BufferedReader(_ProgressFile(raw, on_read), CHUNK_BYTES)
        if fmt == "csv.gz":
            with gzip.GzipFile(fileobj=counted, mode="rb") as unzipped:
                yield unzipped
        else:
            yield counted


def _read_header_line(stream) -> bytes:
    try:
        line = stream.readline(1 << 20)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise FocusFileError(f"The gzip file cannot be read: {exc}.", line=1) from exc
    if not line.strip():
        raise FocusFileError("The file is empty.", line=1)
    return line


def iter_copy_chunks(path: Path, layout: FocusLayout, *, on_read: Callable[[int], None] | None = None
                     ) -> Iterator[bytes]:
    """The file as CSV bytes for `COPY ... (FORMAT csv)`, in chunks of about a megabyte.

    CSV: the bytes of the file, header included. gzip: decompressed as it is read; a truncated or corrupt stream
    raises FocusFileError naming the line it got to. Parquet: the layout's columns, batch by batch, no header.
    `on_read(n)` is called with the number of bytes of the file consumed, for progress bars.
    """
    if layout.format == "parquet":
        yield from _parquet_chunks(path, layout, on_read)
        return
    lines = 0
    pending = bytearray()
    with _open_text_stream(path, layout.format, on_read) as stream:
        while True:
            try:
                # read1: one decompression step at a time, so a truncated stream still yields what came before.
                piece = stream.read1(CHUNK_BYTES)
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
                lines += pending.count(b"\n")
                reason = "is truncated" if isinstance(exc, EOFError) else f"is corrupt ({exc})"
                raise FocusFileError(
                    f"The gzip file {reason}: it ends after line {lines + 1}; nothing was imported.",
                    line=lines + 1,
                ) from exc
            if piece:
                pending += piece
            if pending and (not piece or len(pending) >= CHUNK_BYTES):
                lines += pending.count(b"\n")
                yield bytes(pending)
                pending.clear()
            if not piece:
                return


def _parquet_file(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError subclasses for broken files
        raise FocusFileError(f"The Parquet file cannot be read: {exc}.") from exc


def _parquet_to_text(array):
    """One Parquet column as strings: decimals and doubles via their text form, timestamps in ISO 8601 UTC,
    maps/structs/lists (e.g. AWS tags) as JSON objects."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array
    if pa.types.is_timestamp(kind):
        # Naive timestamps are UTC (FOCUS); zoned ones are converted to UTC.
        return pc.strftime(pc.cast(array, pa.timestamp(kind.unit, tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
    if pa.types.is_map(kind) or pa.types.is_struct(kind) or pa.types.is_list(kind):
        values = []
        for item in array.to_pylist():
            if item is None:
                values.append(None)
            elif isinstance(item, list) and all(isinstance(pair, tuple) for pair in item):
                values.append(json.dumps(dict(item), ensure_ascii=False))
            else:
                values.append(json.dumps(item, ensure_ascii=False, default=str))
        return pa.array(values, pa.string())
    return pc.cast(array, pa.string())


def _parquet_chunks(path: Path, layout: FocusLayout, on_read: Callable[[int], None] | None) -> Iterator[bytes]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    parquet = _parquet_file(path)
    names = [column for column, _ in layout.columns]
    total_rows = max(1, parquet.metadata.num_rows)
    size = path.stat().st_size
    options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
    done_rows = 0
    try:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=names):
            text = pa.table([_parquet_to_text(column) for column in batch.columns], names=names)
            sink = io.BytesIO()
            pcsv.write_csv(text, sink, options)
            done_rows += batch.num_rows
            if on_read is not None:
                on_read(int(size * batch.num_rows / total_rows))
            yield sink.getvalue()
    except FocusFileError:
        raise
    except Exception as exc:
        raise FocusFileError(f"The Parquet file cannot be read after row {done_rows}: {exc}.",
                             line=done_rows + 1) from exc


# --- writing FOCUS (API pulls) ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostRow:
    """One FOCUS cost line as the cloud clients return it; amounts are Decimals in `billing_currency`."""

    charge_period_start: datetime
    charge_period_end: datetime
    billed_cost: Decimal
    effective_cost: Decimal
    billing_currency: str
    provider_name: str
    service_name: str
    charge_category: str = "Usage"
    service_category: str = ""
    sub_account_id: str = ""
    sub_account_name: str = ""
    resource_id: str = ""
    resource_name: str = ""
    region_id: str = ""
    sku_id: str = ""
    consumed_quantity: Decimal | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_csv(rows: Iterable[CostRow], path: Path, *, extra_columns: Iterable[str] = ()) -> int:
    """Write rows as a FOCUS 1.0 CSV file (the columns Pilotlight reads, plus `x_` extras); returns the row count."""
    extras = [name if name.startswith(EXTRA_PREFIX) else EXTRA_PREFIX + name for name in extra_columns]
    header = [*KNOWN_COLUMNS, *extras]
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([
                _iso(row.charge_period_start), _iso(row.charge_period_end), str(row.billed_cost),
                str(row.effective_cost), row.billing_currency, row.charge_category, row.provider_name,
                row.service_name, row.service_category, row.sub_account_id, row.sub_account_name, row.resource_id,
                row.resource_name, row.region_id, row.sku_id,
                "" if row.consumed_quantity is None else str(row.consumed_quantity),
                json.dumps(row.tags, ensure_ascii=False) if row.tags else "",
                *(row.extra.get(name, row.extra.get(name[len(EXTRA_PREFIX):], "")) for name in extras),
            ])
            count += 1
    return count
