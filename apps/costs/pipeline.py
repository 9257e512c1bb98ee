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
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction

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
        cursor.execute(f"SELECT count(*) FROM {table}")
        if cursor.fetchone()[0] == 0:
            raise ImportRejected(f"{name} has a header but no cost rows.",
                                 [RowError(name, layout.first_line, "", "", "no data rows after the header")])
        cursor.execute(f"ANALYZE {table}")
        staged.append(staged_file)
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

    def add(self, file_no: int, line: int | None, field_name: str, value: str | None, reason: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            column = focus.FIELD_TO_COLUMN.get(field_name, field_name)
            self.items.append(RowError(self.names.get(file_no, ""), line, column, (value or "")[:_VALUE_MAX], reason))

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit


_VALIDATORS: dict[str, Callable[[str], object]] = {
    "charge_period_start": focus.parse_timestamp,
    "charge_period_end": focus.parse_timestamp,
    "billing_currency": focus.parse_currency,
    "charge_category": focus.parse_charge_category,
    "tags": focus.parse_tags,
}


def _check_rows(cursor, view: str, errors: _Errors) -> None:
    """Required values and decimals, on every row (one scan; only bad rows come back to Python)."""
    decimal_test = " OR ".join(
        f"({name} IS NOT NULL AND {name} !~ %(pattern)s)" for name in focus.DECIMAL_FIELDS
    )
    missing_test = " OR ".join(f"{name} IS NULL" for name in focus.NOT_NULL_FIELDS)
    columns = [*focus.NOT_NULL_FIELDS, *(name for name in focus.DECIMAL_FIELDS if name not in focus.NOT_NULL_FIELDS)]
    pattern = r"^\s*" + focus.DECIMAL_PATTERN[1:-1] + r"\s*$"
    params = {"pattern": pattern, "limit": errors.limit + 1}
    cursor.execute(
        f"SELECT file_no, line, {', '.join(columns)} FROM {view} WHERE {missing_test} OR {decimal_test} "
        f"ORDER BY file_no, line LIMIT %(limit)s",
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


def _check_distinct(cursor, view: str, import_id: int, errors: _Errors) -> None:
    """Date-times, currencies, charge categories and tags, validated once per distinct value; the normalised values
    go into temporary lookup tables the swap joins on."""
    mapping = f"cost_map_{import_id}"
    cursor.execute(f"DROP TABLE IF EXISTS {mapping}")
    cursor.execute(f"CREATE TEMP TABLE {mapping} (kind text, raw text, value text, value2 text, "
                   f"PRIMARY KEY (kind, raw))")
    cursor.execute(
        f"SELECT charge_period_start, charge_period_end, billing_currency, charge_category, "
        f"GROUPING(charge_period_start), GROUPING(charge_period_end), GROUPING(billing_currency) FROM {view} "
        f"GROUP BY GROUPING SETS ((charge_period_start), (charge_period_end), (billing_currency), (charge_category))"
    )
    bad: dict[str, list[str]] = {}
    rows: list[tuple[str, str, str, str]] = []
    for start, end, currency, category, g_start, g_end, g_currency in cursor.fetchall():
        if not g_start:
            name, raw = "charge_period_start", start
        elif not g_end:
            name, raw = "charge_period_end", end
        elif not g_currency:
            name, raw = "billing_currency", currency
        else:
            name, raw = "charge_category", category
        if raw is None:
            continue  # reported by _check_rows
        try:
            value = _VALIDATORS[name](raw)
        except FocusValueError as exc:
            bad.setdefault(name, []).append(raw)
            bad.setdefault(f"{name}:reason", []).append(str(exc))
            continue
        rows.append((name, raw, value.isoformat() if isinstance(value, datetime) else str(value), ""))
    # Tags may have as many distinct values as rows: stream them through a server-side cursor.
    with connection.connection.cursor(name=f"cost_tags_{import_id}") as tags_cursor:
        tags_cursor.itersize = 5000
        tags_cursor.execute(f"SELECT DISTINCT tags FROM {view} WHERE tags IS NOT NULL")
        for (raw,) in tags_cursor:
            try:
                tags = focus.parse_tags(raw)
            except FocusValueError as exc:
                bad.setdefault("tags", []).append(raw)
                bad.setdefault("tags:reason", []).append(str(exc))
                continue
            rows.append(("tags", raw, json.dumps(tags, ensure_ascii=False), focus.canonical_tags(tags)))
            if len(rows) >= 5000:
                _write_mapping(cursor, mapping, rows)
                rows = []
    _write_mapping(cursor, mapping, rows)
    for name in ("charge_period_start", "charge_period_end", "billing_currency", "charge_category", "tags"):
        values = bad.get(name)
        if not values or errors.full:
            continue
        reasons = dict(zip(values, bad[f"{name}:reason"], strict=True))
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
    cursor.execute(f"ANALYZE {mapping}")


def _write_mapping(cursor, table: str, rows: list[tuple[str, str, str, str]]) -> None:
    if not rows:
        return
    with cursor.copy(f"COPY {table} (kind, raw, value, value2) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _check_periods(cursor, view: str, import_id: int, errors: _Errors) -> None:
    """Every charge period must end after it starts."""
    mapping = f"cost_map_{import_id}"
    cursor.execute(
        f"SELECT s.file_no, s.line, s.charge_period_end FROM {view} s "
        f"JOIN {mapping} a ON a.kind = 'charge_period_start' AND a.raw = s.charge_period_start "
        f"JOIN {mapping} b ON b.kind = 'charge_period_end' AND b.raw = s.charge_period_end "
        f"WHERE b.value::timestamptz <= a.value::timestamptz ORDER BY s.file_no, s.line LIMIT %s",
        [errors.limit + 1],
    )
    rows = cursor.fetchall()
    for file_no, line, raw in rows:
        errors.add(file_no, line, "charge_period_end", raw, "the charge period must end after it starts")
    if len(rows) > errors.limit:
        cursor.execute(
            f"SELECT count(*) FROM {view} s "
            f"JOIN {mapping} a ON a.kind = 'charge_period_start' AND a.raw = s.charge_period_start "
            f"JOIN {mapping} b ON b.kind = 'charge_period_end' AND b.raw = s.charge_period_end "
            f"WHERE b.value::timestamptz <= a.value::timestamptz"
        )
        errors.total += cursor.fetchone()[0] - len(rows)


def validate(cursor, *, import_id: int, view: str, staged: list[StagedFile]) -> None:
    """Raise ImportRejected with every problem (up to the limit) if any row breaks a rule."""
    errors = _Errors(staged)
    _check_rows(cursor, view, errors)
    _check_distinct(cursor, view, import_id, errors)
    if not errors.total:
        _check_periods(cursor, view, import_id, errors)
    if errors.total:
        errors.items.sort(key=lambda error: (error.file, error.line or 0, error.column))
        first = errors.items[0]
        more = f" (showing the first {len(errors.items):,})" if errors.total > len(errors.items) else ""
        raise ImportRejected(
            f"{errors.total:,} problem(s) found{more}; nothing was imported. First: {first.file} line {first.line}, "
            f"{first.column}: {first.reason}.",
            errors.items, errors.total,
        )


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


_FINGERPRINT = (
    "md5(COALESCE(btrim(s.sub_account_id), '') || chr(31) || COALESCE(btrim(s.resource_id), '') || chr(31) "
    "|| COALESCE(t.value2, '{{}}'))::uuid"
)


def swap(cursor, *, import_id: int, source_id: int, view: str, extras: list[str],
         period: tuple[datetime, datetime] | None, progress: Progress) -> ImportOutcome:
    """Replace the source's line items for the covered periods with the staged rows, in the caller's transaction."""
    mapping = f"cost_map_{import_id}"
    dims = f"cost_dims_{import_id}"
    timings: dict[str, float] = {}
    clock = datetime.now()

    def tick(name: str) -> None:
        nonlocal clock
        now = datetime.now()
        timings[name] = round((now - clock).total_seconds(), 3)
        clock = now

    if period is None:
        cursor.execute(
            f"SELECT min(value::timestamptz) FILTER (WHERE kind = 'charge_period_start'), "
            f"max(value::timestamptz) FILTER (WHERE kind = 'charge_period_end') FROM {mapping}"
        )
        period = cursor.fetchone()
    period_start, period_end = period
    tags_join = f"LEFT JOIN {mapping} t ON t.kind = 'tags' AND t.raw = s.tags"
    progress.set(LOAD_SHARE + 4, "Finding dimensions")
    cursor.execute(f"DROP TABLE IF EXISTS {dims}")
    cursor.execute(
        f"CREATE TEMP TABLE {dims} AS SELECT DISTINCT ON (fingerprint) {_FINGERPRINT.format()} AS fingerprint, "
        f"COALESCE(btrim(s.sub_account_id), '') AS sub_account_id, COALESCE(btrim(s.resource_id), '') AS resource_id, "
        f"COALESCE(t.value, '{{}}')::jsonb AS tags, NULL::bigint AS id FROM {view} s {tags_join}"
    )
    tick("dimensions")

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
        f"SELECT fingerprint, sub_account_id, resource_id, tags FROM {dims} ON CONFLICT (fingerprint) DO NOTHING"
    )
    cursor.execute(f"UPDATE {dims} x SET id = d.id FROM costs_costdimension d WHERE d.fingerprint = x.fingerprint")
    cursor.execute(f"CREATE INDEX ON {dims} (fingerprint)")
    cursor.execute(f"ANALYZE {dims}")
    tick("dimension_upsert")
    progress.set(LOAD_SHARE + 8, "Writing cost lines")
    cursor.execute(
        f"""
        INSERT INTO costs_costrecord (
            source_id, cost_import_id, dimension_id, line, charge_period_start, charge_period_end, charge_category,
            billed_cost, effective_cost, billing_currency, provider_name, service_name, service_category,
            sub_account_id, sub_account_name, resource_id, resource_name, region_id, sku_id, consumed_quantity, extra)
        SELECT %(source)s, %(import)s, d.id, s.line, a.value::timestamptz, b.value::timestamptz, cat.value,
               s.billed_cost::numeric, s.effective_cost::numeric, cur.value, btrim(s.provider_name),
               COALESCE(btrim(s.service_name), ''), COALESCE(btrim(s.service_category), ''),
               COALESCE(btrim(s.sub_account_id), ''), COALESCE(btrim(s.sub_account_name), ''),
               COALESCE(btrim(s.resource_id), ''), COALESCE(btrim(s.resource_name), ''),
               COALESCE(btrim(s.region_id), ''), COALESCE(btrim(s.sku_id), ''), s.consumed_quantity::numeric,
               {_extra_expression(extras)}
        FROM {view} s
        JOIN {mapping} a ON a.kind = 'charge_period_start' AND a.raw = s.charge_period_start
        JOIN {mapping} b ON b.kind = 'charge_period_end' AND b.raw = s.charge_period_end
        JOIN {mapping} cur ON cur.kind = 'billing_currency' AND cur.raw = s.billing_currency
        JOIN {mapping} cat ON cat.kind = 'charge_category' AND cat.raw = s.charge_category
        {tags_join}
        JOIN {dims} d ON d.fingerprint = {_FINGERPRINT.format()}
        """,
        {"source": source_id, "import": import_id},
    )
    rows = cursor.rowcount
    tick("insert")
    progress.set(LOAD_SHARE + 14, "Allocating")
    new_dimensions = allocation.allocate(
        cursor,
        dimension_sql=f"SELECT x.id FROM {dims} x WHERE NOT EXISTS "
                      f"(SELECT 1 FROM costs_costallocation a WHERE a.dimension_id = x.id)",
    )
    tick("allocate")
    progress.set(LOAD_SHARE + 16, "Updating the daily rollup")
    day_from = period_start.date()
    day_to = (period_end - timedelta(microseconds=1)).date() + timedelta(days=1)
    allocation.rebuild_rollup(cursor, source_id=source_id, day_from=day_from, day_to=day_to)
    tick("rollup")
    cursor.execute(
        "SELECT billing_currency, SUM(billed_cost), SUM(effective_cost), COUNT(*) FROM costs_costrecord "
        "WHERE source_id = %s AND charge_period_start >= %s AND charge_period_start < %s GROUP BY 1 ORDER BY 1",
        [source_id, period_start, period_end],
    )
    totals = {currency: {"billed": str(billed), "effective": str(effective), "rows": count}
              for currency, billed, effective, count in cursor.fetchall()}
    tick("totals")
    return ImportOutcome(rows=rows, replaced=replaced, period_start=period_start, period_end=period_end,
                         totals=totals, new_dimensions=new_dimensions, timings=timings)


def drop_staging(cursor, *, import_id: int, staged_count: int) -> None:
    """Drop the session's temporary tables of an import (they also vanish with the session)."""
    cursor.execute(f"DROP VIEW IF EXISTS cost_stage_{import_id}")
    for index in range(1, staged_count + 1):
        cursor.execute(f"DROP TABLE IF EXISTS cost_raw_{import_id}_{index}")
        cursor.execute(f"DROP SEQUENCE IF EXISTS cost_raw_{import_id}_{index}_line")
    cursor.execute(f"DROP TABLE IF EXISTS cost_map_{import_id}")
    cursor.execute(f"DROP TABLE IF EXISTS cost_dims_{import_id}")


def run(*, import_id: int, source_id: int, files: list[dict], period: tuple[datetime, datetime] | None = None,
        report: Callable[[int, str], None] | None = None) -> ImportOutcome:
    """Stage, validate and swap in the files of one import. Raises ImportRejected (nothing written) on bad input."""
    staged: list[StagedFile] = []
    with Progress(report) as progress, connection.cursor() as cursor:
        try:
            started = datetime.now()
            with transaction.atomic():
                staged = stage_files(cursor, import_id=import_id, files=files, progress=progress)
            loaded = datetime.now()
            progress.set(LOAD_SHARE, "Validating")
            with transaction.atomic():
                view, extras = _stage_view(cursor, import_id=import_id, staged=staged)
                validate(cursor, import_id=import_id, view=view, staged=staged)
                validated = datetime.now()
                outcome = swap(cursor, import_id=import_id, source_id=source_id, view=view, extras=extras,
                               period=period, progress=progress)
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
