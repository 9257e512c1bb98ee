"""The FOCUS import pipeline: files -> COPY into session-temporary staging -> row-level validation -> one swap.

1. Stage: each file is streamed by apps.integrations.focus as CSV bytes into its own TEMP table with PostgreSQL's
   COPY (text columns, a line number per row). Memory stays flat; a structural CSV error (a row with too many or
   too few fields, bad UTF-8) or a truncated gzip fails the import naming the line.
2. Validate, row by row, in SQL over the staged rows: required values present and decimals well-formed on every
   row; date-times, currencies, charge categories and tags on their distinct values with the reference validators
   of apps.integrations.focus (their messages fill the error report); and every charge period ends after it
   starts. Any error rejects the whole import with a report (file, line, column, value, reason); nothing is written.
3. Swap, in one transaction under the cost write lock: delete the source's line items whose charge period starts
   inside the periods the import covers (billing data is restated), insert the staged rows, allocate dimensions
   seen for the first time, rebuild the daily rollup of those days. Re-importing a file therefore replaces its rows
   with the same rows, while identical line items inside one file are all kept.

A worker killed at any point leaves nothing behind: staging lives in the session's temporary schema and the swap
commits at once or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection, connections, transaction

from apps.costs import allocation
from apps.integrations import focus
from apps.integrations.focus import FocusFileError, FocusLayout, FocusValueError

PROGRESS_INTERVAL_SECONDS = 1.0
LOAD_SHARE = 80  # percent of the progress bar spent loading files; validation and the swap take the rest
_VALUE_MAX = 500  # characters of a bad value kept in the report


@dataclass(frozen=True)
class RowError:
    """One problem found in an import; `line` is None for problems with the whole file."""

    file: str
    line: int | None
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "value": self.value,
                "reason": self.reason}


class ImportRejected(Exception):
    """The import was refused; nothing was written. `errors` holds up to COST_IMPORT_MAX_ERRORS problems."""

    def __init__(self, message: str, errors: list[RowError], total: int | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.total = total if total is not None else len(errors)


@dataclass
class ImportOutcome:
    rows: int
    replaced: int
    period_start: datetime
    period_end: datetime
    totals: dict[str, dict[str, str]]
    new_dimensions: int
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StagedFile:
    index: int
    name: str
    table: str
    layout: FocusLayout
    column_of: dict[str, str]  # field -> staging column (c1..cN)
    rows: int = 0


class Progress:
    """Reports progress from a background thread with its own database connection, so a poller sees it while the
    import's own connection is busy in a COPY or inside its transaction."""

    def __init__(self, report: Callable[[int, str], None] | None):
        self._report = report
        self._lock = threading.Lock()
        self._value: tuple[int, str] = (0, "Starting")
        self._sent: tuple[int, str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set(self, percent: int, message: str | None = None) -> None:
        with self._lock:
            self._value = (max(0, min(100, percent)), message if message is not None else self._value[1])

    def __enter__(self) -> Progress:
        if self._report is not None:
            self._thread = threading.Thread(target=self._run, name="cost-import-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._stop.wait(PROGRESS_INTERVAL_SECONDS):
                self._flush()
            self._flush()
        finally:
            connections.close_all()

    def _flush(self) -> None:
        with self._lock:
            value = self._value
        try:
            self._report(*value)  # heartbeat too, so send even when unchanged
            self._sent = value
        except Exception:  # noqa: BLE001 - progress is best effort; the import itself must not fail for it
            close_old_connections()


# --- staging -----------------------------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_error(exc: psycopg.Error, staged: StagedFile) -> RowError:
    """A COPY failure as a row error, with the line and column PostgreSQL reported."""
    context = (exc.diag.context or "") if getattr(exc, "diag", None) else ""
    line: int | None = None
    column = ""
    value = ""
    match = re.search(r"line (\d+)(?:, column (\w+))?(?:: \"(.*)\")?", context)
    if match:
        line = int(match.group(1))
        staged_column = match.group(2) or ""
        if staged_column.startswith("c") and staged_column[1:].isdigit():
            column = staged.layout.columns[int(staged_column[1:]) - 1][0]
        value = (match.group(3) or "")[:_VALUE_MAX]
    message = (exc.diag.message_primary if getattr(exc, "diag", None) else "") or str(exc)
    if "extra data after last expected column" in message:
        reason = f"the row has more fields than the header ({len(staged.layout.columns)} columns)"
    elif "missing data for column" in message:
        reason = f"the row has fewer fields than the header ({len(staged.layout.columns)} columns)"
    elif "invalid byte sequence" in message:
        reason = f"not UTF-8 text ({message})"
    elif "unterminated CSV quoted field" in message:
        reason = "a quoted field is never closed"
    else:
        reason = message
    return RowError(staged.name, line, column, value, reason)


def stage_files(cursor, *, import_id: int, files: list[dict], progress: Progress) -> list[StagedFile]:
    """COPY every file into its own temporary table; returns how each is laid out."""
    staged: list[StagedFile] = []
    total_bytes = sum(max(1, int(entry.get("size") or 1)) for entry in files)
    done_bytes = 0
    for index, entry in enumerate(files, start=1):
        path = Path(entry["path"])
        name = entry.get("name") or path.name
        size = path.stat().st_size
        if size > settings.COST_IMPORT_MAX_BYTES:
            raise ImportRejected(
                f"{name} is {size:,} bytes, over the limit of {settings.COST_IMPORT_MAX_BYTES:,} bytes per file.",
                [RowError(name, None, "", "", "the file is larger than COST_IMPORT_MAX_BYTES")],
            )
        try:
            layout = focus.read_layout(path)
        except FocusFileError as exc:
            raise ImportRejected(f"{name}: {exc.message}",
                                 [RowError(name, exc.line, exc.column, exc.value, exc.message)]) from exc
        table = f"cost_raw_{import_id}_{index}"
        columns = [f"c{position}" for position in range(1, len(layout.columns) + 1)]
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"DROP SEQUENCE IF EXISTS {table}_line")
        cursor.execute(f"CREATE TEMP SEQUENCE {table}_line START {layout.first_line}")
        cursor.execute(
            f"CREATE TEMP TABLE {table} (file_no smallint NOT NULL DEFAULT {index}, "
            f"line bigint NOT NULL DEFAULT nextval('{table}_line'), "
            + ", ".join(f"{column} text" for column in columns) + ")"
        )
        staged_file = StagedFile(index, name, table, layout,
                                 {short: columns[pos] for pos, (_, short) in enumerate(layout.columns) if short})
        header = "true" if layout.has_header else "false"
        start = done_bytes

        def on_read(count: int, _start: int = start, _size: int = size, _name: str = name) -> None:
            nonlocal done_bytes
            done_bytes = min(_start + _size, done_bytes + count)
            progress.set(int(LOAD_SHARE * done_bytes / total_bytes), f"Loading {_name}")

        try:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, HEADER {header})"
                             ) as copy:
                for chunk in focus.iter_copy_chunks(path, layout, on_read=on_read):
                    copy.write(chunk)
        except FocusFileError as exc:
            raise ImportRejected(f"{name}: {exc.message}",
                                 [RowError(name, exc.line, exc.column, exc.value, exc.message)]) from exc
        except psycopg.Error as exc:
            error = _copy_error(exc, staged_file)
            where = f" line {error.line}" if error.line else ""
            raise ImportRejected(f"{name}{where}: {error.reason}", [error]) from exc
        done_bytes = start + size
        count = cursor.rowcount
        if count is None or count < 0:
            cursor.execute(f"SELECT count(*) FROM {table}")
            count = cursor.fetchone()[0]
        if count == 0:
            raise ImportRejected(f"{name} has a header but no cost rows.",
                                 [RowError(name, layout.first_line, "", "", "no data rows after the header")])
        cursor.execute(f"ANALYZE {table}")
        staged.append(dataclasses.replace(staged_file, rows=count))
    return staged


def _stage_view(cursor, *, import_id: int, staged: list[StagedFile]) -> tuple[str, list[str]]:
    """One temporary view over every staged file with the FOCUS short names; returns it and the x_ columns."""
    extras: list[str] = []
    for staged_file in staged:
        for name in staged_file.layout.extras:
            if name not in extras:
                extras.append(name)
    view = f"cost_stage_{import_id}"
    selects = []
    for staged_file in staged:
        parts = [f"{staged_file.index}::smallint AS file_no", "line"]
        for short in focus.KNOWN_COLUMNS.values():
            column = staged_file.column_of.get(short)
            parts.append(f"NULLIF({column}, '') AS {short}" if column else f"NULL::text AS {short}")
        for position, name in enumerate(extras):
            column = staged_file.column_of.get(name)
            parts.append(f"NULLIF({column}, '') AS x{position}" if column else f"NULL::text AS x{position}")
        selects.append(f"SELECT {', '.join(parts)} FROM {staged_file.table}")
    cursor.execute(f"DROP VIEW IF EXISTS {view}")
    cursor.execute(f"CREATE TEMP VIEW {view} AS " + " UNION ALL ".join(selects))
    return view, extras


# --- validation --------------------------------------------------------------------------------------------------


class _Errors:
    def __init__(self, staged: list[StagedFile]):
        self.names = {staged_file.index: staged_file.name for staged_file in staged}
        self.items: list[RowError] = []
        self.total = 0
        self.limit = settings.COST_IMPORT_MAX_ERRORS
        self.period: tuple[datetime | None, datetime | None] = (None, None)
        self.rows_checked = False

    def add(self, file_no: int, line: int | None, field_name: str, value: str | None, reason: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            column = focus.FIELD_TO_COLUMN.get(field_name, field_name)
            self.items.append(RowError(self.names.get(file_no, ""), line, column, (value or "")[:_VALUE_MAX], reason))

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit

    def rejected(self) -> ImportRejected:
        self.items.sort(key=lambda error: (error.file, error.line or 0, error.column))
        first = self.items[0]
        more = f" (showing the first {len(self.items):,})" if self.total > len(self.items) else ""
        return ImportRejected(
            f"{self.total:,} problem(s) found{more}; nothing was imported. First: {first.file} line {first.line}, "
            f"{first.column}: {first.reason}.",
            self.items, self.total,
        )


def _row_problems_sql(params: dict) -> str:
    """SQL that is true for a staged row with a missing required value or a malformed decimal."""
    params["pattern"] = r"^\s*" + focus.DECIMAL_PATTERN[1:-1] + r"\s*$"
    missing = [f"{name} IS NULL" for name in focus.NOT_NULL_FIELDS]
    malformed = [f"({name} IS NOT NULL AND {name} !~ %(pattern)s)" for name in focus.DECIMAL_FIELDS]
    return " OR ".join(missing + malformed)


def _missing_sql() -> str:
    """SQL that is true for a staged row with a missing required value."""
    return " OR ".join(f"{name} IS NULL" for name in focus.NOT_NULL_FIELDS)


def _check_rows(cursor, view: str, errors: _Errors) -> None:
    """Required values and decimals, row by row; runs only when a row is known to be bad (a missing value counted by
    _check_values, or a cast or constraint refused by the swap)."""
    params: dict = {"limit": errors.limit + 1}
    condition = _row_problems_sql(params)
    columns = [*focus.NOT_NULL_FIELDS, *(name for name in focus.DECIMAL_FIELDS if name not in focus.NOT_NULL_FIELDS)]
    cursor.execute(
        f"SELECT file_no, line, {', '.join(columns)} FROM {view} WHERE {condition} ORDER BY file_no, line "
        f"LIMIT %(limit)s",
        params,
    )
    rows = cursor.fetchall()
    found = 0
    for file_no, line, *values in rows:
        for name, value in zip(columns, values, strict=True):
            if value is None:
                if name in focus.NOT_NULL_FIELDS:
                    errors.add(file_no, line, name, "", "required: the value is empty")
                    found += 1
                continue
            if name in focus.DECIMAL_FIELDS:
                try:
                    focus.parse_decimal(value)
                except FocusValueError as exc:
                    errors.add(file_no, line, name, value, str(exc))
                    found += 1
    if len(rows) > errors.limit:
        # Too many to list: count every problem exactly (one more scan) so the report says how many there are.
        problems = " + ".join(
            [f"({name} IS NULL)::int" for name in focus.NOT_NULL_FIELDS]
            + [f"({name} IS NOT NULL AND {name} !~ %(pattern)s)::int" for name in focus.DECIMAL_FIELDS]
        )
        cursor.execute(f"SELECT COALESCE(SUM({problems}), 0) FROM {view}", params)
        errors.total += int(cursor.fetchone()[0]) - found


def _locate(cursor, view: str, errors: _Errors, name: str, reasons: dict[str, str]) -> None:
    """Report every row holding one of the bad values of a column."""
    values = list(reasons)
    cursor.execute(
        f"SELECT file_no, line, {name} FROM {view} WHERE {name} = ANY(%s) ORDER BY file_no, line LIMIT %s",
        [values, errors.limit + 1],
    )
    rows = cursor.fetchall()
    for file_no, line, raw in rows:
        errors.add(file_no, line, name, raw, reasons[raw])
    if len(rows) > errors.limit:
        cursor.execute(f"SELECT count(*) FROM {view} WHERE {name} = ANY(%s)", [values])
        errors.total += cursor.fetchone()[0] - len(rows)


def _copy_rows(cursor, table: str, columns: str, rows: list[tuple]) -> None:
    if rows:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _check_values(cursor, view: str, import_id: int, errors: _Errors) -> None:
    """One scan of the staged rows: the distinct date-time pairs, currencies and charge categories (each validated
    once, in Python, with the reference validators) and the number of rows with a missing or malformed value.
    Normalised values go into small lookup tables the swap joins on."""
    # Required values and decimals are checked by the swap itself (casts and constraints, see swap()); a row that
    # fails there sends the import back to _check_rows for the report.
    cursor.execute(
        f"SELECT charge_period_start, charge_period_end, billing_currency, charge_category, "
        f"GROUPING(charge_period_start, charge_period_end) AS not_period, "
        f"GROUPING(billing_currency) AS not_currency, count(*) FILTER (WHERE {_missing_sql()}) AS bad_rows "
        f"FROM {view} "
        f"GROUP BY GROUPING SETS ((charge_period_start, charge_period_end), (billing_currency), (charge_category))"
    )
    times: dict[str, datetime | None] = {}
    bad: dict[str, dict[str, str]] = {name: {} for name in
                                      ("charge_period_start", "charge_period_end", "billing_currency",
                                       "charge_category")}
    pairs: list[tuple[str, str]] = []
    currencies, categories, bad_rows = [], [], 0
    for start, end, currency, category, not_period, not_currency, bad_count in cursor.fetchall():
        if not not_period:
            bad_rows += bad_count
            for name, raw in (("charge_period_start", start), ("charge_period_end", end)):
                if raw is not None and raw not in times:
                    try:
                        times[raw] = focus.parse_timestamp(raw)
                    except FocusValueError as exc:
                        times[raw] = None
                        bad[name][raw] = str(exc)
                elif raw is not None and times[raw] is None and raw not in bad[name]:
                    bad[name][raw] = str(_reason(focus.parse_timestamp, raw))
            if start is not None and end is not None:
                pairs.append((start, end))
        elif not not_currency:
            if currency is not None:
                try:
                    currencies.append((currency, focus.parse_currency(currency)))
                except FocusValueError as exc:
                    bad["billing_currency"][currency] = str(exc)
        elif category is not None:
            try:
                categories.append((category, focus.parse_charge_category(category)))
            except FocusValueError as exc:
                bad["charge_category"][category] = str(exc)
    if bad_rows:
        _check_rows(cursor, view, errors)
        errors.rows_checked = True
    for name, reasons in bad.items():
        if reasons and not errors.full:
            _locate(cursor, view, errors, name, reasons)
    backwards = [(start, end) for start, end in pairs
                 if times.get(start) and times.get(end) and times[end] <= times[start]]
    if backwards and not errors.full:
        cursor.execute(
            f"SELECT file_no, line, charge_period_end FROM {view} "
            f"WHERE (charge_period_start, charge_period_end) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
            f"ORDER BY file_no, line LIMIT %s",
            [[start for start, _ in backwards], [end for _, end in backwards], errors.limit + 1],
        )
        for file_no, line, raw in cursor.fetchall():
            errors.add(file_no, line, "charge_period_end", raw, "the charge period must end after it starts")
    for suffix, columns in (("ts", "raw text PRIMARY KEY, value timestamptz"),
                            ("currency", "raw text PRIMARY KEY, value text"),
                            ("category", "raw text PRIMARY KEY, value text"),
                            ("tags", "raw text PRIMARY KEY, value jsonb, canonical text")):
        cursor.execute(f"DROP TABLE IF EXISTS cost_{suffix}_{import_id}")
        cursor.execute(f"CREATE TEMP TABLE cost_{suffix}_{import_id} ({columns})")
    _copy_rows(cursor, f"cost_ts_{import_id}", "raw, value",
               [(raw, moment) for raw, moment in times.items() if moment is not None])
    _copy_rows(cursor, f"cost_currency_{import_id}", "raw, value", currencies)
    _copy_rows(cursor, f"cost_category_{import_id}", "raw, value", categories)
    for suffix in ("ts", "currency", "category"):
        cursor.execute(f"ANALYZE cost_{suffix}_{import_id}")
    errors.period = (min((times[start] for start, _ in pairs if times.get(start)), default=None),
                     max((times[end] for _, end in pairs if times.get(end)), default=None))


def _reason(parser: Callable[[str], object], raw: str) -> str:
    try:
        parser(raw)
    except FocusValueError as exc:
        return str(exc)
    return ""


def _check_dimensions(cursor, view: str, import_id: int, errors: _Errors) -> None:
    """One scan for the distinct (sub-account, resource id, tags) the rows were billed under; their tags are
    validated once each, streamed through a server-side cursor (there may be as many as rows)."""
    dims = f"cost_dims_{import_id}"
    tags_table = f"cost_tags_{import_id}"
    cursor.execute(f"DROP TABLE IF EXISTS {dims}")
    cursor.execute(
        f"CREATE TEMP TABLE {dims} AS SELECT COALESCE(sub_account_id, '') AS sub_account_id, "
        f"COALESCE(resource_id, '') AS resource_id, COALESCE(tags, '') AS tags FROM {view} GROUP BY 1, 2, 3"
    )
    reasons: dict[str, str] = {}
    rows: list[tuple] = []
    with connection.connection.cursor(name=f"cost_tags_cursor_{import_id}") as tags_cursor:
        tags_cursor.itersize = 5000
        tags_cursor.execute(f"SELECT DISTINCT tags FROM {dims} WHERE tags <> ''")
        for (raw,) in tags_cursor:
            try:
                tags = focus.parse_tags(raw)
            except FocusValueError as exc:
                reasons[raw] = str(exc)
                continue
            rows.append((raw, json.dumps(tags, ensure_ascii=False), focus.canonical_tags(tags)))
            if len(rows) >= 5000:
                _copy_rows(cursor, tags_table, "raw, value, canonical", rows)
                rows = []
    _copy_rows(cursor, tags_table, "raw, value, canonical", rows)
    cursor.execute(f"ANALYZE {tags_table}")
    if reasons and not errors.full:
        _locate(cursor, view, errors, "tags", reasons)


def validate(cursor, *, import_id: int, view: str, staged: list[StagedFile]) -> tuple[datetime, datetime]:
    """Raise ImportRejected with every problem (up to the limit) if any row breaks a rule; else return the charge
    periods the rows cover."""
    errors = _Errors(staged)
    _check_values(cursor, view, import_id, errors)
    _check_dimensions(cursor, view, import_id, errors)
    if errors.total:
        if not errors.rows_checked:
            _check_rows(cursor, view, errors)  # rejected anyway: report the malformed decimals too
        raise errors.rejected()
    return errors.period


# --- swap --------------------------------------------------------------------------------------------------------


def _extra_expression(extras: list[str]) -> str:
    if not extras:
        return "NULL::jsonb"
    # jsonb_build_object takes at most 100 arguments: build it in pieces of 40 columns.
    pieces = []
    for offset in range(0, len(extras), 40):
        pairs = ", ".join(
            f"{_literal(name)}, s.x{offset + position}" for position, name in enumerate(extras[offset:offset + 40])
        )
        pieces.append(f"jsonb_build_object({pairs})")
    return f"NULLIF(jsonb_strip_nulls({' || '.join(pieces)}), '{{}}'::jsonb)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def swap(cursor, *, import_id: int, source_id: int, view: str, extras: list[str], staged: list[StagedFile],
         period: tuple[datetime, datetime], progress: Progress) -> ImportOutcome:
    """Replace the source's line items for the covered periods with the staged rows, in the caller's transaction."""
    dims = f"cost_dims_{import_id}"
    timings: dict[str, float] = {}
    clock = datetime.now()

    def tick(name: str) -> None:
        nonlocal clock
        now = datetime.now()
        timings[name] = round((now - clock).total_seconds(), 3)
        clock = now

    period_start, period_end = period
    staged_rows = sum(staged_file.rows for staged_file in staged)
    # Fingerprint each dimension on its trimmed ids and canonical tags, so equal dimensions are stored once.
    cursor.execute(f"ALTER TABLE {dims} ADD COLUMN fingerprint uuid, ADD COLUMN id bigint")
    cursor.execute(
        f"UPDATE {dims} d SET fingerprint = md5(btrim(d.sub_account_id) || chr(31) || btrim(d.resource_id) "
        f"|| chr(31) || COALESCE((SELECT t.canonical FROM cost_tags_{import_id} t WHERE t.raw = d.tags), "
        f"'{{}}'))::uuid"
    )
    tick("fingerprints")

    allocation.lock_cost_writes(cursor)
    tick("lock")
    progress.set(LOAD_SHARE + 6, "Replacing earlier cost lines of the period")
    cursor.execute(
        "DELETE FROM costs_costrecord WHERE source_id = %s AND charge_period_start >= %s AND charge_period_start < %s",
        [source_id, period_start, period_end],
    )
    replaced = cursor.rowcount
    tick("delete")
    cursor.execute(
        f"INSERT INTO costs_costdimension (fingerprint, sub_account_id, resource_id, tags) "
        f"SELECT DISTINCT ON (d.fingerprint) d.fingerprint, btrim(d.sub_account_id), btrim(d.resource_id), "
        f"COALESCE(t.value, '{{}}'::jsonb) FROM {dims} d LEFT JOIN cost_tags_{import_id} t ON t.raw = d.tags "
        f"ORDER BY d.fingerprint ON CONFLICT (fingerprint) DO NOTHING"
    )
    cursor.execute(f"UPDATE {dims} x SET id = d.id FROM costs_costdimension d WHERE d.fingerprint = x.fingerprint")
    cursor.execute(f"ANALYZE {dims}")
    tick("dimension_upsert")
    progress.set(LOAD_SHARE + 8, "Writing cost lines")
    # Decimals are cast here rather than pre-checked row by row: a malformed one (or NaN, Infinity, an absurd size:
    # the table's check constraints) fails the statement, and the import falls back to the row-by-row report.
    try:
        with transaction.atomic():
            cursor.execute(
                f"""
                INSERT INTO costs_costrecord (
                    source_id, cost_import_id, dimension_id, line, charge_period_start, charge_period_end,
                    charge_category, billed_cost, effective_cost, billing_currency, provider_name, service_name,
                    service_category, sub_account_id, sub_account_name, resource_id, resource_name, region_id,
                    sku_id, consumed_quantity, extra)
                SELECT %(source)s, %(import)s, d.id, s.line, a.value, b.value, cat.value, s.billed_cost::numeric,
                       s.effective_cost::numeric, cur.value, s.provider_name, COALESCE(s.service_name, ''),
                       COALESCE(s.service_category, ''), d.sub_account_id, COALESCE(s.sub_account_name, ''),
                       d.resource_id, COALESCE(s.resource_name, ''), COALESCE(s.region_id, ''),
                       COALESCE(s.sku_id, ''), s.consumed_quantity::numeric, {_extra_expression(extras)}
                FROM {view} s
                JOIN cost_ts_{import_id} a ON a.raw = s.charge_period_start
                JOIN cost_ts_{import_id} b ON b.raw = s.charge_period_end
                JOIN cost_currency_{import_id} cur ON cur.raw = s.billing_currency
                JOIN cost_category_{import_id} cat ON cat.raw = s.charge_category
                JOIN {dims} d ON d.sub_account_id = COALESCE(s.sub_account_id, '')
                    AND d.resource_id = COALESCE(s.resource_id, '') AND d.tags = COALESCE(s.tags, '')
                """,
                {"source": source_id, "import": import_id},
            )
            rows = cursor.rowcount
            if rows != staged_rows:
                raise psycopg.DataError(f"{staged_rows - rows} staged row(s) could not be joined")
    except (psycopg.DataError, psycopg.IntegrityError, DataError, IntegrityError) as exc:
        errors = _Errors(staged)
        _check_rows(cursor, view, errors)
        if not errors.total:
            raise ImportRejected(f"The rows could not be written: {exc}", [RowError("", None, "", "", str(exc))]) \
                from exc
        raise errors.rejected() from exc
    tick("insert")
    if period_start.timetz() == period_end.timetz() == datetime.min.time().replace(tzinfo=UTC):
        totals_sql = ("SELECT billing_currency, SUM(billed_cost), SUM(effective_cost) FROM costs_costdaily "
                      "WHERE source_id = %s AND day >= %s AND day < %s GROUP BY 1 ORDER BY 1")
        totals_params = [source_id, period_start.date(), period_end.date()]
    else:
        totals_sql = ("SELECT billing_currency, SUM(billed_cost), SUM(effective_cost) FROM costs_costrecord "
                      "WHERE source_id = %s AND charge_period_start >= %s AND charge_period_start < %s "
                      "GROUP BY 1 ORDER BY 1")
        totals_params = [source_id, period_start, period_end]
    cursor.execute("SET LOCAL enable_nestloop = on")  # allocation and rollup use the indexes
    progress.set(LOAD_SHARE + 14, "Allocating")
    new_dimensions = allocation.allocate(
        cursor,
        dimension_sql=f"SELECT DISTINCT x.id FROM {dims} x WHERE NOT EXISTS "
                      f"(SELECT 1 FROM costs_costallocation a WHERE a.dimension_id = x.id)",
    )
    tick("allocate")
    progress.set(LOAD_SHARE + 16, "Updating the daily rollup")
    day_from = period_start.date()
    day_to = (period_end - timedelta(microseconds=1)).date() + timedelta(days=1)
    allocation.rebuild_rollup(cursor, source_id=source_id, day_from=day_from, day_to=day_to)
    tick("rollup")
    # Whole days: the rollup of those days holds exactly this import's lines (their allocation shares sum to 1).
    cursor.execute(totals_sql, totals_params)
    totals = {currency: {"billed": str(billed), "effective": str(effective)}
              for currency, billed, effective in cursor.fetchall()}
    tick("totals")
    return ImportOutcome(rows=rows, replaced=replaced, period_start=period_start, period_end=period_end,
                         totals=totals, new_dimensions=new_dimensions, timings=timings)


def drop_staging(cursor, *, import_id: int, staged_count: int) -> None:
    """Drop the session's temporary tables of an import (they also vanish with the session)."""
    cursor.execute(f"DROP VIEW IF EXISTS cost_stage_{import_id}")
    for index in range(1, staged_count + 1):
        cursor.execute(f"DROP TABLE IF EXISTS cost_raw_{import_id}_{index}")
        cursor.execute(f"DROP SEQUENCE IF EXISTS cost_raw_{import_id}_{index}_line")
    for suffix in ("ts", "currency", "category", "tags", "dims"):
        cursor.execute(f"DROP TABLE IF EXISTS cost_{suffix}_{import_id}")


def run(*, import_id: int, source_id: int, files: list[dict], period: tuple[datetime, datetime] | None = None,
        report: Callable[[int, str], None] | None = None) -> ImportOutcome:
    """Stage, validate and swap in the files of one import. Raises ImportRejected (nothing written) on bad input."""
    staged: list[StagedFile] = []
    with Progress(report) as progress, connection.cursor() as cursor:
        if connection.pg_version >= 140000:
            # Notice a vanished client (a killed worker) during long statements, so its transaction aborts and
            # its locks are released within seconds rather than when the statement ends.
            cursor.execute("SET client_connection_check_interval = '2s'")
        try:
            started = datetime.now()
            with transaction.atomic():
                staged = stage_files(cursor, import_id=import_id, files=files, progress=progress)
            loaded = datetime.now()
            progress.set(LOAD_SHARE, "Validating")
            with transaction.atomic():
                # The staged columns have no statistics, so the planner guesses one row per join and picks nested
                # loops over hundreds of thousands of rows; the lookups joined here are small: hash them.
                cursor.execute("SET LOCAL enable_nestloop = off")
                cursor.execute("SET LOCAL work_mem = '128MB'")  # the distinct values and joins hash in memory
                view, extras = _stage_view(cursor, import_id=import_id, staged=staged)
                covered = validate(cursor, import_id=import_id, view=view, staged=staged)
                validated = datetime.now()
                outcome = swap(cursor, import_id=import_id, source_id=source_id, view=view, extras=extras,
                               staged=staged, period=period or covered, progress=progress)
            outcome.timings = {"load": round((loaded - started).total_seconds(), 3),
                               "validate": round((validated - loaded).total_seconds(), 3), **outcome.timings}
            progress.set(100, "Done")
            return outcome
        finally:
            if connection.connection is not None and not connection.needs_rollback:
                # The session's temporary schema is discarded with it anyway.
                with contextlib.suppress(Exception):
                    drop_staging(cursor, import_id=import_id, staged_count=max(len(staged), len(files)))


def totals_decimal(totals: dict[str, dict[str, str]]) -> dict[str, Decimal]:
    """Effective cost per currency of an import's totals, as Decimals."""
    return {currency: Decimal(values["effective"]) for currency, values in totals.items()}
