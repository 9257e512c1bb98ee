"""Portfolio benchmark: `python -m bench.run [--sizes 100,10000] [--repeat 30] [--smoke]` (`make bench`).

For each portfolio size it (re)seeds a dedicated database with `seed_scale`, then measures in-process with
Django's test client, signed in as an executive (sees everything): the portfolio overview page, the portfolio
list page (default sort, first page), the API initiative list (page size 100) and the API initiative detail,
plus the raw read they cannot beat (`SELECT ... LIMIT 100` of the initiative table on the same connection), so
drifting machine speed shows up in the baseline rather than as a regression. Server time is the time around
`client.get` (middleware, view, queries, rendering). Query counts come from one extra request per endpoint.

It never touches the development database: it drops and recreates `pilotlight_bench` on the server named by
DATABASE_URL (or on the embedded server) and drops it again at the end unless --keep is given.

Prints the results as JSON, writes docs/benchmarks.md (full runs) and exits non-zero when a target fails.
`--smoke` (CI) runs tiny sizes and asserts only that query counts do not grow with the portfolio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
DEFAULT_DB = "pilotlight_bench"

# Acceptance targets (issue 2): p95 server time per endpoint, and query counts equal at every size.
P95_TARGETS_MS = {"overview": 300.0, "initiative_list": 300.0, "api_initiative_list": 200.0}
SEED_TARGET_S = 300.0  # stated for 10,000 initiatives; checked at every size


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- database -----------------------------------------------------------------------------------------------------

def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database `name` (works for host and unix-socket URLs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def server_url() -> str:
    """The PostgreSQL server to benchmark on: DATABASE_URL's server, else the embedded one."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from portal.embedded import embedded_database_url

    return embedded_database_url("postgres")


def recreate_database(url: str, name: str, *, drop_only: bool = False) -> None:
    """Drop database `name` (closing its sessions) and, unless drop_only, create it empty."""
    import psycopg
    from psycopg import sql

    maintenance = urlsplit(url).path.lstrip("/") or "postgres"
    if maintenance == name:
        maintenance = "postgres"
    with psycopg.connect(with_database(url, maintenance), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- measurement --------------------------------------------------------------------------------------------------

def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 30 samples is the 29th fastest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(round(fraction * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def summarise(samples_s: list[float], queries: int | None, extra: dict | None = None) -> dict:
    ms = [s * 1000 for s in samples_s]
    result = {
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
        "samples": len(ms),
        "queries": queries,
    }
    result.update(extra or {})
    return result


def measure_get(client, url: str, *, repeat: int, warmup: int) -> dict:
    """Warm up, count the queries of one request, then time `repeat` requests."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
        return response

    for _ in range(warmup):
        get()
    with CaptureQueriesContext(connection) as captured:
        response = get()
    # Read now: captured_queries is a view on the connection's log, which the next request clears.
    queries = len(captured.captured_queries)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        get()
        samples.append(time.perf_counter() - started)
    return summarise(samples, queries, {"url": url, "bytes": len(response.content)})


def measure_baseline(*, repeat: int, warmup: int) -> dict:
    """The raw read a list page cannot beat: 100 initiative rows by key, on the same connection."""
    from django.db import connection

    query = "SELECT * FROM portfolio_initiative ORDER BY key LIMIT 100"
    samples = []
    with connection.cursor() as cursor:
        for i in range(warmup + repeat):
            started = time.perf_counter()
            cursor.execute(query)
            cursor.fetchall()
            if i >= warmup:
                samples.append(time.perf_counter() - started)
    return summarise(samples, 1, {"sql": query})


def bench_user():
    """An executive (reads the whole portfolio), created in the bench database."""
    from django.contrib.auth.models import Group

    from apps.accounts.choices import GlobalRole
    from apps.accounts.models import User

    user, _ = User.objects.get_or_create(username="bench-executive", defaults={"first_name": "Bench"})
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=GlobalRole.EXECUTIVE))
    return user


GRANTS = 2000
LEAD_RATIO_TARGET = 1.5  # issue 3: a BU lead's lists p95 ≤ 1.5 × the executive's, measured in the same run
LEAD_ENDPOINTS = ("initiative_list", "api_initiative_list")


def add_guardian_grants(count: int) -> int:
    """Per-object view grants for random users on random initiatives (the access exceptions of issue 3)."""
    import random

    from django.contrib.auth.models import Permission

    from apps.accounts.models import User
    from apps.portfolio.models import Initiative, InitiativeUserObjectPermission

    rng = random.Random(42)
    permission = Permission.objects.get(codename="view_initiative")
    user_ids = list(User.objects.values_list("pk", flat=True))
    initiative_ids = list(Initiative.objects.values_list("pk", flat=True))
    pairs = {(rng.choice(user_ids), rng.choice(initiative_ids)) for _ in range(count * 2)}
    rows = [InitiativeUserObjectPermission(user_id=u, content_object_id=i, permission=permission)
            for u, i in sorted(pairs)[:count]]
    InitiativeUserObjectPermission.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return InitiativeUserObjectPermission.objects.count()


def bench_lead():
    """The lead of the business unit holding the most initiatives, plus a grant or two like everyone else."""
    from django.db.models import Count

    from apps.accounts.choices import UnitRole
    from apps.accounts.models import Membership

    membership = (Membership.objects.filter(role=UnitRole.LEAD)
                  .annotate(n=Count("business_unit__initiatives")).order_by("-n", "pk").select_related("user").first())
    return membership.user, membership.n


def endpoints() -> dict[str, str]:
    """Endpoint name -> URL; pages whose URL is not (yet) routed are skipped with a note."""
    from django.urls import NoReverseMatch, reverse

    from apps.portfolio.choices import Stage
    from apps.portfolio.models import Initiative

    # The same shape of initiative at every size: the first pilot by key (4 KPIs, 3-5 moves).
    key = Initiative.objects.filter(stage=Stage.PILOT).order_by("key").values_list("key", flat=True).first()
    key = key or Initiative.objects.order_by("key").values_list("key", flat=True).first()
    urls: dict[str, str] = {}
    for name, route, kwargs in (
        ("overview", "portfolio:overview", {}),
        ("initiative_list", "portfolio:initiative_list", {}),
        ("initiative_detail", "portfolio:initiative_detail", {"key": key}),
    ):
        try:
            urls[name] = reverse(route, kwargs=kwargs)
        except NoReverseMatch:
            log(f"  skipped {name}: no URL named {route}")
    urls["api_initiative_list"] = "/api/v1/initiatives/?page_size=100"
    urls["api_initiative_detail"] = f"/api/v1/initiatives/{key}/"
    return urls


def run_size(size: int, *, repeat: int, warmup: int, seed_options: dict) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    log(f"seeding {size:,} initiatives ...")
    started = time.perf_counter()
    call_command("seed_scale", initiatives=size, reset=True, verbosity=0, **seed_options)
    seed_seconds = time.perf_counter() - started
    log(f"  seeded in {seed_seconds:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM portfolio_initiative), (SELECT count(*) FROM kpis_kpi), "
                       "(SELECT count(*) FROM kpis_measurement), (SELECT count(*) FROM portfolio_stagetransition)")
        initiatives, kpis, measurements, transitions = cursor.fetchone()
    client = Client()
    client.force_login(bench_user())
    results: dict[str, dict] = {"baseline_select_100": measure_baseline(repeat=repeat, warmup=warmup)}
    for name, url in endpoints().items():
        try:
            results[name] = measure_get(client, url, repeat=repeat, warmup=warmup)
        except Exception as exc:  # a broken page is a result (FAIL), not the end of the run
            results[name] = {"url": url, "error": f"{type(exc).__name__}: {exc}"[:300], "queries": None}
            log(f"  {name:24s} ERROR {results[name]['error']}")
            continue
        log(f"  {name:24s} median {results[name]['median_ms']:8.2f} ms  p95 {results[name]['p95_ms']:8.2f} ms  "
            f"{results[name]['queries']} queries")
    # Issue 3: the same lists as a BU lead, with guardian grants in the database, against the executive above.
    grants = add_guardian_grants(GRANTS)
    lead, lead_initiatives = bench_lead()
    lead_client = Client()
    lead_client.force_login(lead)
    lead_results: dict[str, dict] = {}
    urls = endpoints()
    for name in LEAD_ENDPOINTS:
        lead_results[name] = measure_get(lead_client, urls[name], repeat=repeat, warmup=warmup)
        # the executive again, right after, so both are measured under the same machine load
        results[name] = measure_get(client, urls[name], repeat=repeat, warmup=warmup)
        log(f"  lead {name:19s} median {lead_results[name]['median_ms']:8.2f} ms  p95 "
            f"{lead_results[name]['p95_ms']:8.2f} ms  {lead_results[name]['queries']} queries "
            f"(executive p95 {results[name]['p95_ms']:.2f} ms)")
    return {
        "initiatives": initiatives, "kpis": kpis, "measurements": measurements, "transitions": transitions,
        "seed_seconds": round(seed_seconds, 1), "endpoints": results,
        "lead": {"grants": grants, "lead_initiatives": lead_initiatives, "endpoints": lead_results},
    }


# --- verdicts and report ------------------------------------------------------------------------------------------

def evaluate(sizes: dict[int, dict], *, smoke: bool) -> list[dict]:
    """One verdict per target: PASS, FAIL, or INFO (measured but not asserted, e.g. timings in --smoke)."""
    verdicts: list[dict] = []
    for size, result in sizes.items():
        for name, target in P95_TARGETS_MS.items():
            measured = result["endpoints"].get(name)
            if measured is None or "error" in measured:
                verdicts.append({"target": f"{name} p95 ≤ {target:.0f} ms at {size:,}",
                                 "measured": measured["error"] if measured else "not routed", "verdict": "FAIL"})
                continue
            ok = measured["p95_ms"] <= target
            verdicts.append({"target": f"{name} p95 ≤ {target:.0f} ms at {size:,}",
                             "measured": f"{measured['p95_ms']:.1f} ms",
                             "verdict": "INFO" if smoke else ("PASS" if ok else "FAIL")})
        for name, measured in result.get("lead", {}).get("endpoints", {}).items():
            executive = result["endpoints"][name]["p95_ms"]
            ratio = measured["p95_ms"] / executive if executive else float("inf")
            verdicts.append({"target": f"BU lead {name} p95 ≤ {LEAD_RATIO_TARGET}× executive at {size:,}",
                             "measured": f"{measured['p95_ms']:.1f} ms vs {executive:.1f} ms ({ratio:.2f}×)",
                             "verdict": "INFO" if smoke else ("PASS" if ratio <= LEAD_RATIO_TARGET else "FAIL")})
        ok = result["seed_seconds"] <= SEED_TARGET_S
        verdicts.append({"target": f"seed_scale {size:,} initiatives ≤ {SEED_TARGET_S / 60:.0f} min",
                         "measured": f"{result['seed_seconds']:.1f} s",
                         "verdict": "INFO" if smoke else ("PASS" if ok else "FAIL")})
    if len(sizes) > 1:
        names = sorted({name for result in sizes.values() for name in result["endpoints"]})
        for name in names:
            counts = [result["endpoints"].get(name, {}).get("queries") for result in sizes.values()]
            if name == "baseline_select_100":
                continue
            ok = None not in counts and len(set(counts)) == 1
            verdicts.append({"target": f"{name} queries equal at {' and '.join(f'{s:,}' for s in sizes)}",
                             "measured": " / ".join(str(c) for c in counts), "verdict": "PASS" if ok else "FAIL"})
    return verdicts


def machine() -> dict:
    from django import get_version
    from django.db import connection

    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (pg_version,) = cursor.fetchone()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": cores, "ram_gib": memory_gib, "cpu": cpu, "postgresql": pg_version,
            "python": platform.python_version(), "django": get_version(), "os": platform.platform(terse=True)}


ENDPOINT_LABELS = {
    "baseline_select_100": "baseline: `SELECT * … LIMIT 100` (raw, same connection)",
    "overview": "portfolio overview page",
    "initiative_list": "portfolio list page (default sort, page 1)",
    "api_initiative_list": "API initiative list (page_size=100)",
    "api_initiative_detail": "API initiative detail",
    "initiative_detail": "initiative detail page (not a target)",
}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench.run`); do not edit by hand — rerun it.",
        "",
        f"- Date: {report['date']}",
        f"- Machine: {m['nproc']} CPU cores ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['os']}",
        f"- Software: PostgreSQL {m['postgresql']}, Python {m['python']}, Django {m['django']}",
        *([f"- Load average (1 min) at start / end of the run: {m['load_average_1m']['start']} / "
           f"{m['load_average_1m']['end']} on {m['nproc']} cores"] if m.get("load_average_1m") else []),
        f"- Method: {report['repeat']} timed requests per endpoint after {report['warmup']} warm-up requests, "
        "in-process with Django's test client signed in as an executive (sees the whole portfolio); server time "
        "is the time around `client.get` (middleware, view, SQL, rendering; no network). Query counts from one "
        "more request under `CaptureQueriesContext`. Data from `manage.py seed_scale --initiatives N --reset` "
        "(4 KPIs per initiative, 100 measurements per KPI, 50 business units, 300 users), then VACUUM ANALYZE.",
        "- The baseline row is the raw read no page can beat, measured in the same run: compare ratios to it "
        "when machines or runs differ.",
        "",
    ]
    for size, result in report["sizes"].items():
        base = result["endpoints"]["baseline_select_100"]["median_ms"]
        lines += [
            f"## {int(size):,} initiatives",
            "",
            f"{result['initiatives']:,} initiatives, {result['kpis']:,} KPIs, {result['measurements']:,} measurements, "
            f"{result['transitions']:,} stage transitions; seeded in **{result['seed_seconds']:.1f} s**.",
            "",
            "| endpoint | median ms | p95 ms | SQL queries | median ÷ baseline |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, measured in result["endpoints"].items():
            if "error" in measured:
                lines.append(f"| {ENDPOINT_LABELS.get(name, name)} | error: {measured['error']} | | | |")
                continue
            ratio = measured["median_ms"] / base if base else 0
            lines.append(f"| {ENDPOINT_LABELS.get(name, name)} | {measured['median_ms']:.1f} | "
                         f"{measured['p95_ms']:.1f} | {measured['queries']} | {ratio:.0f}× |")
        lead = result.get("lead")
        if lead:
            for name, measured in lead["endpoints"].items():
                ratio = measured["median_ms"] / base if base else 0
                lines.append(f"| {ENDPOINT_LABELS.get(name, name)} as a BU lead ({lead['lead_initiatives']:,} "
                             f"initiatives in scope, {lead['grants']:,} guardian grants in the database) | "
                             f"{measured['median_ms']:.1f} | {measured['p95_ms']:.1f} | {measured['queries']} | "
                             f"{ratio:.0f}× |")
        lines.append("")
    lines += [
        "## Acceptance targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *[f"| {v['target']} | {v['measured']} | **{v['verdict']}** |" for v in report["verdicts"]],
        "",
    ]
    notes = report.get("notes", [])
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    lines += [
        "## Reproduce",
        "",
        "```",
        "make bench                                   # sizes 100 and 10,000, 30 timed requests each",
        ".venv/bin/python -m bench.run --sizes 100,10000 --repeat 30 [--keep]",
        "make bench-smoke                             # CI: sizes 20 and 200, asserts equal query counts only",
        "```",
        "",
        "The benchmark drops and recreates its own database `pilotlight_bench` on the server of `DATABASE_URL` "
        "(or on the embedded server) and never touches the development database; `--keep` leaves it for "
        "`EXPLAIN ANALYZE`. `manage.py seed_scale` writes with COPY and, for its own transaction only, skips the "
        "per-row audit capture on the five bulk tables (units, users and objectives stay audited).",
    ]
    lines.append("")
    sections = sorted((ROOT / "docs" / "benchmarks").glob("*.md"))
    if sections:
        lines += ["# Area benchmarks", "",
                  "Each section below is written by its own benchmark (`make bench` runs them all before this one) and "
                  "copied here from `docs/benchmarks/`.", ""]
        for section in sections:
            lines += [section.read_text().strip().replace("\n## ", "\n### ").replace("\n# ", "\n## "), ""]
    return "\n".join(lines).rstrip() + "\n"


# --- entry point --------------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000", help="Comma-separated portfolio sizes (default 100,10000).")
    parser.add_argument("--repeat", type=int, default=30, help="Timed requests per endpoint (default 30).")
    parser.add_argument("--warmup", type=int, default=5, help="Untimed warm-up requests per endpoint (default 5).")
    parser.add_argument("--smoke", action="store_true",
                        help="CI: sizes 20 and 200, 5 requests; assert only equal query counts; no docs written.")
    parser.add_argument("--db-name", default=DEFAULT_DB, help=f"Database to (re)create (default {DEFAULT_DB}).")
    parser.add_argument("--keep", action="store_true", help="Keep the bench database (with the last size).")
    parser.add_argument("--output", default=None,
                        help=f"Markdown report path (default {DEFAULT_OUTPUT.relative_to(ROOT)}; none with --smoke).")
    parser.add_argument("--note", action="append", default=[], help="A line added under the targets in the report.")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes = "20,200" if args.sizes == "100,10000" else args.sizes
        args.repeat = min(args.repeat, 5)
        args.warmup = min(args.warmup, 2)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not args.size_list or min(args.size_list) < 1 or args.repeat < 1:
        parser.error("--sizes needs positive integers and --repeat at least 1")
    if args.output is None and not args.smoke:
        args.output = str(DEFAULT_OUTPUT)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.db_name in ("", "postgres", "pilotlight"):
        raise SystemExit(f"Refusing to use '{args.db_name}' as the benchmark database.")
    server = server_url()
    log(f"benchmark database: {args.db_name} (recreated)")
    recreate_database(server, args.db_name)
    os.environ["DATABASE_URL"] = with_database(server, args.db_name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        report: dict = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "repeat": args.repeat,
            "warmup": args.warmup,
            "smoke": args.smoke,
            "sizes": {},
        }
        load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
        for size in args.size_list:
            report["sizes"][size] = run_size(size, repeat=args.repeat, warmup=args.warmup, seed_options={})
        if load_before is not None:
            # Other work on the machine inflates timings (the baseline row shows by how much).
            report["machine"]["load_average_1m"] = {"start": round(load_before[0], 2),
                                                    "end": round(os.getloadavg()[0], 2)}
        report["verdicts"] = evaluate(report["sizes"], smoke=args.smoke)
        report["notes"] = args.note
    finally:
        connections.close_all()
        if not args.keep:
            recreate_database(server, args.db_name, drop_only=True)
    print(json.dumps(report, indent=2, default=str))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(markdown(report))
        log(f"wrote {args.output}")
    failed = [v for v in report["verdicts"] if v["verdict"] == "FAIL"]
    for verdict in report["verdicts"]:
        log(f"  {verdict['verdict']:4s}  {verdict['target']}: {verdict['measured']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
