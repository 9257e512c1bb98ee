"""Cost import benchmark: `python -m bench.cost_import [--rows 1000000] [--repeat 30] [--keep] [--smoke]`.

On a dedicated database (`pilotlight_bench_costs`, dropped and recreated on the server of DATABASE_URL or on the
embedded server) it measures:

- the import of a FOCUS CSV of `--rows` line items (AWS Data Exports shape, 32 columns, 60 initiatives, 90 days) as
  the import job runs it (`cost_import_run`: COPY into staging, row validation, the swap into the line-item table,
  allocation, rollup), in a child process whose peak RSS is read from the kernel;
- the baseline it cannot beat, in the same run: a bare PostgreSQL `COPY` of the same file into a plain table with the
  file's columns typed (numeric, timestamptz, jsonb, text) and no index, streamed the same way (1 MB chunks);
- `GET /api/v1/initiatives/{key}/financials/` for an initiative with three years of daily costs (8 services, 4
  resources a day), 30 timed requests with an API token after warm-up (server time, in-process test client).

Targets (issue 5): import rate ≥ 30% of the bare COPY rate, peak RSS ≤ 300 MB, financials p95 ≤ 150 ms.
Prints JSON, writes docs/benchmarks/cost_import.md and exits non-zero when a target fails. `--smoke` runs a small
file and checks only that everything works (no targets, no report).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.run import log, machine, measure_get, recreate_database, server_url, with_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks" / "cost_import.md"
DEFAULT_DB = "pilotlight_bench_costs"
RATE_RATIO_TARGET = 0.30
RSS_TARGET_MB = 300.0
FINANCIALS_P95_TARGET_MS = 150.0
INITIATIVES = 60
DAYS = 90
LONG_KEY = "AI-100"
LONG_DAYS = 3 * 365

COLUMNS = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
    "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "EffectiveCost", "InvoiceIssuerName",
    "ListCost", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName",
    "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SubAccountId", "SubAccountName", "Tags",
    "x_UsageType", "x_Operation",
]
SERVICES = [("Amazon Elastic Compute Cloud", "Compute"), ("Amazon Simple Storage Service", "Storage"),
            ("Amazon SageMaker", "AI and Machine Learning"), ("Amazon Relational Database Service", "Databases"),
            ("AWS Lambda", "Compute"), ("Amazon Bedrock", "AI and Machine Learning"),
            ("Amazon CloudWatch", "Management and Governance"), ("Amazon DynamoDB", "Databases")]


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def write_focus(path: Path, *, rows: int, days: int, keys: list[str], start: date, resources: int,
                seed: int = 1) -> None:
    """A FOCUS 1.0 CSV shaped like an AWS Data Exports file: one line per resource, service and day."""
    rng = random.Random(seed)
    tag_cells = [_csv_field(json.dumps({"pilotlight-initiative": key, "env": "prod"})) for key in keys]
    untagged = _csv_field(json.dumps({"team": "platform"}))
    with open(path, "w", newline="") as handle:
        handle.write(",".join(COLUMNS) + "\n")
        for index in range(rows):
            day = start + timedelta(days=index % days)
            begin, end = f"{day.isoformat()}T00:00:00Z", f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z"
            month = day.replace(day=1)
            next_month = (month + timedelta(days=32)).replace(day=1)
            service, category = SERVICES[(index // days) % len(SERVICES)]
            cost = f"{rng.random() * 40:.10f}"
            resource_number = (index // days) % resources
            account = resource_number % 12  # a resource lives in one account
            resource = f"arn:aws:ec2:eu-west-1:123456789012:instance/i-{resource_number:08x}"
            tags = untagged if index % 9 == 0 else tag_cells[(index // days) % len(tag_cells)]
            handle.write(
                f"{cost},123456789012,Acme,USD,{next_month.isoformat()}T00:00:00Z,{month.isoformat()}T00:00:00Z,"
                f"Usage,{service} usage,Usage-Based,{end},{begin},{rng.random() * 24:.6f},Hours,{cost},{cost},AWS,"
                f"{cost},AWS,AWS,eu-west-1,Europe (Ireland),{resource},{resource[-10:]},Instance,{category},{service},"
                f"SKU{index % 40},{100000000000 + account},acct-{account},{tags},BoxUsage,RunInstances\n"
            )


# --- baseline ----------------------------------------------------------------------------------------------------

def _column_type(name: str) -> str:
    if name in ("BilledCost", "ContractedCost", "EffectiveCost", "ListCost", "ConsumedQuantity"):
        return "numeric"
    if name.endswith(("PeriodStart", "PeriodEnd")):
        return "timestamptz"
    return "jsonb" if name == "Tags" else "text"


def bare_copy(url: str, path: Path) -> float:
    """Seconds to COPY the file into a plain typed table (created fresh, no index), streamed in 1 MB chunks."""
    import psycopg

    columns = ", ".join(f'"{name}" {_column_type(name)}' for name in COLUMNS)
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_focus_copy")
        cursor.execute(f"CREATE TABLE bench_focus_copy ({columns})")
        started = time.perf_counter()
        with cursor.copy("COPY bench_focus_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_focus_copy")
    return elapsed


# --- child process: the import job ----------------------------------------------------------------------------------

def child_import(import_id: int) -> None:
    """Run one import job in this (fresh) process and print its time and this process's peak RSS as JSON."""
    import django

    django.setup()
    from apps.costs.models import CostImport
    from apps.costs.services import cost_import_run

    started = time.perf_counter()
    cost_import_run(import_id=import_id)
    elapsed = time.perf_counter() - started
    cost_import = CostImport.objects.select_related("job").get(pk=import_id)
    print(json.dumps({
        "seconds": elapsed, "status": cost_import.status, "rows": cost_import.rows_imported,
        "error": cost_import.error[:500], "timings": (cost_import.job.result or {}).get("timings", {}),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def run_child(import_id: int) -> dict:
    output = subprocess.run([sys.executable, "-m", "bench.cost_import", "--child-import", str(import_id)],
                            check=True, capture_output=True, text=True, env=os.environ.copy(), cwd=ROOT)
    return json.loads(output.stdout.strip().splitlines()[-1])


# --- seeding -----------------------------------------------------------------------------------------------------

def seed_portfolio() -> tuple:
    """An admin, a unit, INITIATIVES + 1 initiatives, a FOCUS source per export, a USD rate, a KPI with value."""
    from decimal import Decimal

    from apps.accounts.models import User
    from apps.accounts.services import api_token_create, business_unit_create
    from apps.costs.models import CostSource
    from apps.costs.services import fx_rate_set
    from apps.kpis.services import kpi_create, measurement_record
    from apps.portfolio.services import initiative_create

    admin = User.objects.create_superuser("bench-admin", "bench@example.com", None)
    unit = business_unit_create(name="Bench unit")
    for index in range(1, INITIATIVES + 1):
        initiative_create(actor=admin, business_unit=unit, name=f"Initiative {index}", ai_type="predictive_ml",
                          key=f"AI-{index:03d}", budget=Decimal("250000"))
    long_running = initiative_create(actor=admin, business_unit=unit, name="Three years of costs",
                                     ai_type="generative", key=LONG_KEY, budget=Decimal("2500000"))
    kpi = kpi_create(actor=admin, initiative=long_running, name="Hours saved", category="efficiency", unit="hours",
                     direction="up", baseline_value=Decimal("0"), baseline_date=date.today() - timedelta(days=1000),
                     target_value=Decimal("50000"), target_date=date.today() + timedelta(days=300),
                     value_per_unit=Decimal("55"))
    measurement_record(actor=admin, kpi=kpi, date=date.today() - timedelta(days=3), value=Decimal("31000"))
    fx_rate_set(actor=admin, currency="USD", valid_from=date(2000, 1, 1), rate=Decimal("0.92"), schedule=False)
    export = CostSource.objects.create(name="AWS Data Exports", kind="focus")
    history = CostSource.objects.create(name="Three years of history", kind="focus")
    _, token = api_token_create(user=admin, name="bench")
    return admin, export, history, token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    parser.add_argument("--smoke", action="store_true", help="Tiny run; no targets, no report.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--child-import", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_import:
        child_import(args.child_import)
        return 0
    rows = 20_000 if args.smoke else args.rows
    url = with_database(server_url(), DEFAULT_DB)
    log(f"recreating {DEFAULT_DB}")
    recreate_database(server_url(), DEFAULT_DB)
    work = Path(tempfile.mkdtemp(prefix="pilotlight-bench-costs-"))
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.settings", COST_IMPORT_DIR=str(work / "store"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from apps.costs.models import CostDaily, CostRecord
    from apps.costs.services import cost_import_create, cost_import_file

    call_command("migrate", verbosity=0)
    admin, export, history, token = seed_portfolio()
    path = work / "focus-aws.csv"
    started = time.perf_counter()
    keys = [f"AI-{index:03d}" for index in range(1, INITIATIVES + 1)]
    write_focus(path, rows=rows, days=DAYS, keys=keys, start=date(2025, 1, 1), resources=5000)
    size = path.stat().st_size
    log(f"wrote {rows:,} rows ({size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")

    baseline_before = bare_copy(url, path)
    log(f"bare COPY: {baseline_before:.2f} s")
    started = time.perf_counter()
    cost_import = cost_import_create(actor=admin, source=export, paths=[path], enqueue=False)
    store_seconds = time.perf_counter() - started
    connection.close()
    job = run_child(cost_import.pk)
    log(f"import job: {job['seconds']:.2f} s, peak RSS {job['peak_rss_mb']:.0f} MB, {job['status']} {job['error']}")
    baseline_after = bare_copy(url, path)
    log(f"bare COPY again: {baseline_after:.2f} s")
    baseline = min(baseline_before, baseline_after)
    if job["status"] != "succeeded" or job["rows"] != rows:
        raise SystemExit(f"the import failed: {job}")

    long_path = work / "focus-history.csv"
    long_rows = LONG_DAYS * len(SERVICES) * 4
    write_focus(long_path, rows=long_rows, days=LONG_DAYS, keys=[LONG_KEY], start=date.today() - timedelta(LONG_DAYS),
                resources=32, seed=2)
    history_import = cost_import_file(actor=admin, source=history, paths=[long_path])
    if history_import.status != "succeeded":
        raise SystemExit(f"the history import failed: {history_import.error}")
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    financials = measure_get(client, f"/api/v1/initiatives/{LONG_KEY}/financials/", repeat=args.repeat,
                             warmup=args.warmup)
    rollup_rows = CostDaily.objects.filter(initiative__key=LONG_KEY).count()
    data = client.get(f"/api/v1/initiatives/{LONG_KEY}/financials/").json()

    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "rows": rows, "file_mb": round(size / 1e6, 1),
        "bare_copy_s": round(baseline, 2), "bare_copy_runs_s": [round(baseline_before, 2), round(baseline_after, 2)],
        "bare_copy_rows_per_s": round(rows / baseline),
        "import_s": round(job["seconds"], 2), "import_rows_per_s": round(rows / job["seconds"]),
        "import_phases_s": job["timings"], "store_upload_s": round(store_seconds, 2),
        "rate_ratio": round(baseline / job["seconds"], 3), "peak_rss_mb": round(job["peak_rss_mb"], 1),
        "line_items_total": CostRecord.objects.count(),
        "financials": {**financials, "line_items": long_rows, "rollup_rows": rollup_rows,
                       "months": len(data["months"]), "cost_to_date": data["cost_to_date"]},
    }
    checks = [
        ("import rate ≥ 30% of a bare COPY of the same file", f"{results['rate_ratio'] * 100:.0f}%",
         results["rate_ratio"] >= RATE_RATIO_TARGET),
        ("import peak RSS ≤ 300 MB", f"{results['peak_rss_mb']:.0f} MB", results["peak_rss_mb"] <= RSS_TARGET_MB),
        ("financials endpoint p95 ≤ 150 ms (3 years of daily costs)", f"{financials['p95_ms']:.1f} ms",
         financials["p95_ms"] <= FINANCIALS_P95_TARGET_MS),
    ]
    results["checks"] = [{"target": name, "measured": value, "pass": ok} for name, value, ok in checks]
    print(json.dumps(results, indent=2, default=str))
    connection.close()
    if not args.keep:
        recreate_database(server_url(), DEFAULT_DB, drop_only=True)
    for item in work.rglob("*"):
        if item.is_file():
            item.unlink()
    if args.smoke:
        return 0
    write_report(args.output, results)
    return 0 if all(ok for _, _, ok in checks) else 1


def write_report(path: Path, results: dict) -> None:
    m = results["machine"]
    f = results["financials"]
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in results["import_phases_s"].items()
                       if seconds >= 0.05)
    lines = [
        "## Costs: FOCUS import and initiative financials",
        "",
        "Generated by `python -m bench.cost_import`; do not edit by hand — rerun it.",
        "",
        f"- Date: {results['date']}",
        f"- Machine: {m['nproc']} CPU cores ({m['cpu']}), {m['ram_gib']} GiB RAM, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}, Django {m['django']}",
        f"- Data: a FOCUS 1.0 CSV shaped like an AWS Data Exports file — {results['rows']:,} line items, 32 "
        f"columns, {results['file_mb']:.0f} MB, 60 initiatives over 90 days, USD converted to EUR; tags as JSON, "
        "two x_ columns.",
        "- Method: the import job (`cost_import_run`: COPY into session-temporary staging, row validation, the swap "
        "into the line-item table in one transaction, allocation of new dimensions, the daily rollup) in a fresh "
        "child process; peak RSS is that process's `ru_maxrss`. Storing the upload (copy + SHA-256) is measured "
        f"apart: {results['store_upload_s']:.1f} s.",
        f"- Baseline, same run: a bare `COPY` of the same file into a plain table with the file's 32 columns typed "
        f"(numeric, timestamptz, jsonb, text) and no index, streamed in 1 MB chunks, before and after the import "
        f"({' s and '.join(str(value) for value in results['bare_copy_runs_s'])} s); the faster one counts.",
        f"- Financials: `GET /api/v1/initiatives/{LONG_KEY}/financials/` with an API token for an initiative with "
        f"three years of daily costs ({f['line_items']:,} line items, {f['rollup_rows']:,} rollup rows, {f['months']} "
        f"months) among {results['line_items_total']:,} line items, {f['samples']} timed requests after warm-up "
        "(server time, in-process test client).",
        "",
        "| measurement | result |",
        "|---|---|",
        f"| bare COPY of the file (baseline) | {results['bare_copy_s']:.2f} s — {results['bare_copy_rows_per_s']:,} "
        f"rows/s |",
        f"| import job | **{results['import_s']:.2f} s — {results['import_rows_per_s']:,} rows/s** ({phases}) |",
        f"| import peak RSS | **{results['peak_rss_mb']:.0f} MB** |",
        f"| financials endpoint | median {f['median_ms']:.1f} ms, **p95 {f['p95_ms']:.1f} ms**, {f['queries']} SQL "
        f"queries |",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *[f"| {check['target']} | {check['measured']} | **{'PASS' if check['pass'] else 'FAIL'}** |"
          for check in results["checks"]],
        "",
        "Reproduce: `.venv/bin/python -m bench.cost_import` (drops and recreates its own database "
        f"`{DEFAULT_DB}` on the server of `DATABASE_URL`, or on the embedded server; `--keep` leaves it).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
