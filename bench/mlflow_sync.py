"""MLflow sync benchmark: `python -m bench.mlflow_sync [--runs 5000] [--metrics 10] [--reseed] [--keep]`.

A real `mlflow server` (sqlite backend in var/bench/mlflow, seeded once and reused) holds 5,000 runs x 10 metrics
(plus params, tags and a small registry). The benchmark measures, in the same run:

- the raw REST read it cannot beat: paging `runs/search` (1,000 a page) with `requests` and decoding the JSON,
  best of three;
- a full sync of the connection into a fresh database, in a worker subprocess (Django + the sync, as a Celery
  worker would run it), with its peak RSS;
- a second, incremental sync with nothing new (must write nothing), in a fresh worker subprocess.

Targets (issue 4): full sync throughput >= 60% of the raw read throughput; no-change incremental <= 2 s; worker
peak RSS <= 300 MB. Prints JSON, writes docs/benchmarks/mlflow_sync.md and exits non-zero when a target fails.
The seed writes runs straight into the server's sqlite tables (MLflow's own client logs ~15 runs/s), after MLflow
created the schema; the server then serves them like any other runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks" / "mlflow_sync.md"
DEFAULT_DB = "pilotlight_bench_mlflow"
THROUGHPUT_TARGET = 0.60
NO_CHANGE_TARGET_S = 2.0
RSS_TARGET_MB = 300.0
EXPERIMENTS = 5
MODELS = 20


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the MLflow side --------------------------------------------------------------------------------------------


def store_dir() -> Path:
    from portal.embedded import VAR_DIR

    return VAR_DIR / "bench" / "mlflow"


def seeded_runs(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT COUNT(*) FROM runs WHERE lifecycle_stage = 'active'").fetchone()[0]
    except sqlite3.Error:
        return 0


def seed(db_path: Path, *, runs: int, metrics: int) -> float:
    """Create the schema with MLflow, then write `runs` runs straight into the sqlite tables."""
    from mlflow.entities.model_registry import RegisteredModelTag  # noqa: F401 - imported for its side effects
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    started = time.perf_counter()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    uri = f"sqlite:///{db_path}"
    artifacts = db_path.parent / "artifacts"
    tracking = SqlAlchemyStore(uri, str(artifacts))
    experiment_ids = [tracking.create_experiment(f"bench-{n}") for n in range(EXPERIMENTS)]
    rng = random.Random(7)
    now = int(time.time() * 1000) - runs * 1000
    run_rows, tag_rows, param_rows, metric_rows = [], [], [], []
    run_ids = []
    for n in range(runs):
        run_id = uuid.uuid4().hex
        run_ids.append(run_id)
        experiment_id = int(experiment_ids[n % EXPERIMENTS])
        start = now + n * 1000
        run_rows.append((run_id, f"run-{n}", "UNKNOWN", "", "", "bench", "FINISHED", start, start + 600, "",
                         "active", f"{artifacts}/{experiment_id}/{run_id}/artifacts", experiment_id))
        tag_rows += [("mlflow.runName", f"run-{n}", run_id), ("mlflow.user", "bench", run_id),
                     ("team", f"team-{n % 7}", run_id)]
        param_rows += [(f"param_{k}", str(rng.randint(1, 100)), run_id) for k in range(5)]
        metric_rows += [(f"metric_{k}", rng.random(), start + 500, run_id, 0, 0) for k in range(metrics)]
    with sqlite3.connect(db_path) as db:
        db.executemany("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, "
                       "status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run_rows)
        db.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", tag_rows)
        db.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", param_rows)
        db.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
                       metric_rows)
        db.executemany("INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan) "
                       "VALUES (?, ?, ?, ?, ?, ?)", metric_rows)
    registry = RegistryStore(uri)
    for m in range(MODELS):
        name = f"bench-model-{m}"
        registry.create_registered_model(name)
        for v in range(3):
            registry.create_model_version(name, source=f"runs:/{run_ids[m * 3 + v]}/model",
                                          run_id=run_ids[m * 3 + v])
        registry.set_registered_model_alias(name, "champion", "3")
    return time.perf_counter() - started


def raw_read(url: str, experiment_ids: list[str]) -> dict:
    """Page through runs/search like the sync does, decoding JSON but nothing else: the read it cannot beat."""
    from apps.integrations.mlflow import MlflowConfig, MlflowRestClient

    with MlflowRestClient(MlflowConfig(tracking_uri=url, timeout=60)) as client:
        started = time.perf_counter()
        count = sum(client.iter_raw_runs(experiment_ids))
        seconds = time.perf_counter() - started
    return {"runs": count, "seconds": round(seconds, 3), "runs_per_second": round(count / seconds, 1)}


# --- the worker side --------------------------------------------------------------------------------------------

SYNCED_TABLES = ("mlops_experiment", "mlops_run", "mlops_registeredmodel", "mlops_modelversion",
                 "mlops_loggedmodel", "mlops_metricpoint")


def row_versions() -> dict[str, set]:
    """(id, xmin, ctid) of every synced row: an insert, update or delete changes it."""
    from django.db import connection

    with connection.cursor() as cursor:
        versions = {}
        for table in SYNCED_TABLES:
            cursor.execute(f"SELECT id, xmin::text, ctid::text FROM {table}")  # noqa: S608 - fixed names
            versions[table] = set(cursor.fetchall())
    return versions



def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that over from the
    parent across fork + exec, so a worker started by a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(connection_id: int, full: bool) -> None:
    """Run one sync as a worker would (Django set up, one connection), and report time, counts and peak RSS."""
    import django

    django.setup()
    from apps.mlops.services import mlflow_sync

    before = row_versions() if not full else None
    result = mlflow_sync(connection_id=connection_id, full=full)
    wrote_nothing = (row_versions() == before) if before is not None else None
    peak_kib = peak_rss_kib()
    print(json.dumps({"status": result.status, "message": result.message, "seconds": round(result.seconds, 3),
                      "runs": result.counts.runs_seen, "changed": result.counts.changed,
                      "counts": result.counts.as_dict(), "requests": result.requests,
                      "wrote_nothing": wrote_nothing, "peak_rss_mb": round(peak_kib / 1024, 1)}))


def run_worker(connection_id: int, *, full: bool) -> dict:
    command = [sys.executable, "-m", "bench.mlflow_sync", "--worker", str(connection_id)]
    if full:
        command.append("--full")
    completed = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=1800)
    if completed.returncode != 0:
        raise RuntimeError(f"worker failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- report -----------------------------------------------------------------------------------------------------


def markdown(report: dict) -> str:
    m = report["machine"]
    rows = "\n".join(f"| {v['target']} | {v['measured']} | **{v['verdict']}** |" for v in report["verdicts"])
    return "\n".join([
        "## MLflow sync",
        "",
        f"Measured {report['date']} on {m['cpu']} ({m['nproc']} cores, {m['ram_gib']} GiB), PostgreSQL "
        f"{m['postgresql']}, MLflow server {report['mlflow_version']} (sqlite backend, one worker) on the same "
        f"machine (load average {report['load_average'][0]:.1f} at the start, {report['load_average'][1]:.1f} at "
        "the end: other work on the machine slows both the baseline and the sync). `python -m bench.mlflow_sync`.",
        "",
        f"Server: {report['runs']:,} runs x {report['metrics']} metrics (plus 5 params and 3 tags each) in "
        f"{EXPERIMENTS} experiments, {MODELS} registered models x 3 versions with aliases.",
        "",
        "| measurement | runs | seconds | runs/s | peak RSS |",
        "|---|---:|---:|---:|---:|",
        f"| raw REST read of `runs/search` (baseline, best of 3) | {report['raw']['runs']:,} | "
        f"{report['raw']['seconds']} | {report['raw']['runs_per_second']:,} | — |",
        f"| full sync (worker process, fresh database) | {report['full']['runs']:,} | {report['full']['seconds']} | "
        f"{report['full_runs_per_second']:,} | {report['full']['peak_rss_mb']} MB |",
        f"| incremental sync, nothing new | {report['incremental']['runs']:,} read | "
        f"{report['incremental']['seconds']} | — | {report['incremental']['peak_rss_mb']} MB |",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        rows,
        "",
        f"The no-change incremental sync wrote no synced row: {report['incremental']['wrote_nothing']}. "
        "Runs/s of the full sync include the whole job: experiments, runs, registry, LoggedModels, the apply "
        "transaction, link resolution, rule evaluation and readiness.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mlflow_sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--reseed", action="store_true", help="Rebuild the MLflow sqlite store.")
    parser.add_argument("--db-name", default=DEFAULT_DB)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.full)
        return 0

    from bench.run import machine, recreate_database, server_url, with_database
    from portal.embedded import VAR_DIR

    db_path = store_dir() / "mlflow.db"
    if args.reseed or seeded_runs(db_path) != args.runs:
        log(f"seeding {args.runs:,} runs x {args.metrics} metrics into {db_path} ...")
        log(f"  seeded in {seed(db_path, runs=args.runs, metrics=args.metrics):.1f} s")
    else:
        log(f"reusing {db_path} ({args.runs:,} runs)")

    from apps.mlops.demo import start_demo_mlflow_server

    load_start = os.getloadavg()[0]
    url, server = start_demo_mlflow_server(VAR_DIR / "bench", port=_free_port())
    log(f"mlflow server at {url}")
    server_pg = server_url()
    recreate_database(server_pg, args.db_name)
    os.environ["DATABASE_URL"] = with_database(server_pg, args.db_name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        from apps.accounts.models import User
        from apps.mlops.services import connection_create

        admin = User.objects.create_superuser("bench-admin", "bench@example.com", "bench-password-123")
        conn = connection_create(actor=admin, name="Bench MLflow", tracking_uri=url, timeout_seconds=60)
        connections.close_all()

        import requests

        experiment_ids = [e["experiment_id"] for e in requests.get(
            f"{url}/api/2.0/mlflow/experiments/search", params={"max_results": 1000}, timeout=60
        ).json()["experiments"]]
        mlflow_version = requests.get(f"{url}/version", timeout=10).text.strip()
        raw_read(url, experiment_ids)  # warm the server's caches once
        raws = [raw_read(url, experiment_ids) for _ in range(3)]
        raw = max(raws, key=lambda r: r["runs_per_second"])
        log(f"raw read: {raw['runs']:,} runs in {raw['seconds']} s ({raw['runs_per_second']:,} runs/s)")
        full = run_worker(conn.pk, full=True)
        log(f"full sync: {full['runs']:,} runs in {full['seconds']} s, peak RSS {full['peak_rss_mb']} MB")
        incremental = run_worker(conn.pk, full=False)
        log(f"no-change incremental sync: {incremental['seconds']} s, wrote nothing: {incremental['wrote_nothing']}")
        report = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
            "mlflow_version": mlflow_version, "runs": args.runs, "metrics": args.metrics, "raw": raw,
            "raw_samples": raws, "full": full, "incremental": incremental,
            "full_runs_per_second": round(full["runs"] / full["seconds"], 1),
            "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        }
    finally:
        connections.close_all()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
        if not args.keep:
            recreate_database(server_pg, args.db_name, drop_only=True)

    ratio = report["full_runs_per_second"] / raw["runs_per_second"]
    peak = max(full["peak_rss_mb"], incremental["peak_rss_mb"])
    report["throughput_ratio"] = round(ratio, 3)
    report["verdicts"] = [
        {"target": f"full sync throughput ≥ {THROUGHPUT_TARGET:.0%} of the raw runs/search read",
         "measured": f"{ratio:.0%} ({report['full_runs_per_second']:,} vs {raw['runs_per_second']:,} runs/s)",
         "verdict": "PASS" if ratio >= THROUGHPUT_TARGET and full["runs"] == args.runs else "FAIL"},
        {"target": f"no-change incremental sync ≤ {NO_CHANGE_TARGET_S:.0f} s, writing nothing",
         "measured": f"{incremental['seconds']} s, wrote nothing: {incremental['wrote_nothing']}",
         "verdict": "PASS" if incremental["seconds"] <= NO_CHANGE_TARGET_S and incremental["wrote_nothing"]
         and not incremental["changed"] else "FAIL"},
        {"target": f"worker peak RSS ≤ {RSS_TARGET_MB:.0f} MB", "measured": f"{peak} MB",
         "verdict": "PASS" if peak <= RSS_TARGET_MB else "FAIL"},
    ]
    print(json.dumps(report, indent=2, default=str))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(markdown(report))
    log(f"wrote {args.output}")
    return 0 if all(v["verdict"] == "PASS" for v in report["verdicts"]) else 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
