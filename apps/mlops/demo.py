"""`make demo` support: a local `mlflow server` seeded with demo experiments, runs and registered models tagged to
demo initiatives (one healthy, one drifting, one stale, one unowned production model), and the portal connection.

    url, process = start_demo_mlflow_server(VAR_DIR)          # sqlite under var/mlflow, a loopback port
    keys = demo_initiative_keys()                             # healthy, drifting, stale demo initiatives
    seed_demo_mlflow(url, keys)                               # idempotent: a second call adds nothing
    demo_connect(url, keys)                                   # connection + monitoring rules + a first sync

The seed talks to the server through MlflowClient (the full `mlflow` package, a dev dependency). The stale model's
registration time is moved into the past directly in the demo's sqlite file, since MLflow stamps it itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_MARKER = "pilotlight.demo"
DAY_MS = 86_400_000
DEFAULT_PORT = int(os.environ.get("MLFLOW_DEMO_PORT", "5055"))
CONNECTION_NAME = "Demo MLflow"


def _mlflow_binary() -> str:
    candidate = Path(sys.executable).with_name("mlflow")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("mlflow")
    if not found:
        raise RuntimeError("The `mlflow` command is missing: install the dev extra (pip install -e '.[dev]').")
    return found


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_demo_mlflow_server(var_dir: Path, *, port: int | None = None, timeout: float = 120.0
                             ) -> tuple[str, subprocess.Popen]:
    """Start `mlflow server` on 127.0.0.1 with a sqlite backend in var/mlflow; wait until /health answers.

    Returns (url, process); the caller stops the process (its own session: os.killpg(process.pid, SIGTERM))."""
    root = Path(var_dir) / "mlflow"
    (root / "artifacts").mkdir(parents=True, exist_ok=True)
    port = port or (DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port())
    log_file = open(root / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [_mlflow_binary(), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}; see {root / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return url, process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"mlflow server did not answer on {url} within {timeout:.0f}s; see {root / 'server.log'}")


# --- seed -------------------------------------------------------------------------------------------------------


def _log_run(client, experiment_id: str, *, name: str, start: int, metrics: dict[str, float],
             params: dict[str, str] | None = None, tags: dict[str, str] | None = None, dataset: str | None = None,
             minutes: int = 20) -> str:
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

    run = client.create_run(experiment_id, run_name=name, start_time=start, tags=tags or {})
    client.log_batch(run.info.run_id, metrics=[Metric(k, float(v), start + 60_000, 0) for k, v in metrics.items()],
                     params=[Param(k, v) for k, v in (params or {}).items()],
                     tags=[RunTag(k, v) for k, v in (tags or {}).items()])
    if dataset:
        client.log_inputs(run.info.run_id, datasets=[DatasetInput(
            Dataset(name=dataset, digest=hashlib.sha256(dataset.encode()).hexdigest()[:8], source_type="s3",
                    source=f"s3://demo-lake/{dataset}/"), tags=[InputTag("mlflow.data.context", "training")])])
    client.set_terminated(run.info.run_id, end_time=start + minutes * 60_000)
    return run.info.run_id


def _register(client, name: str, run_ids: list[str], *, key: str | None, description: str,
              alias: tuple[str, int] | None, ci: bool) -> None:
    tags = {"pilotlight.initiative": key} if key else {}
    client.create_registered_model(name, tags=tags, description=description)
    for number, run_id in enumerate(run_ids, start=1):
        version_tags = {"mlflow.source.git.commit": f"{number:02d}a7c9e{number}f"} if ci else {}
        client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id, tags=version_tags)
    if alias:
        client.set_registered_model_alias(name, alias[0], str(alias[1]))


def seed_demo_mlflow(url: str, initiative_keys: list[str], *, store_path: Path | None = None) -> dict[str, int]:
    """Create the demo experiments, runs, registered models and aliases on the server at `url`, tagged to the
    given initiatives (first: healthy fraud model, second: drifting churn model, third: stale claims model; a
    pricing model in production belongs to none). Idempotent: returns {"created": 0} when already seeded."""
    from mlflow import MlflowClient

    if len(initiative_keys) < 3:
        raise ValueError("seed_demo_mlflow needs three initiative keys (healthy, drifting, stale).")
    healthy, drifting, stale = initiative_keys[:3]
    client = MlflowClient(url)
    if client.get_experiment_by_name("fraud-detection") is not None:
        return {"created": 0}
    rng = random.Random(42)
    now = int(time.time() * 1000)
    runs = 0

    # 1. Healthy: fraud detection, retrained monthly with CI, monitored daily, low drift.
    fraud = client.create_experiment("fraud-detection", tags={"pilotlight.initiative": healthy, DEMO_MARKER: "1"})
    fraud_runs = []
    for month in range(3):
        start = now - (70 - month * 30) * DAY_MS
        fraud_runs.append(_log_run(
            client, fraud, name=f"train-2026-{month + 8:02d}", start=start, dataset="transactions",
            metrics={"auc": 0.91 + month * 0.01, "precision": 0.84 + month * 0.01, "recall": 0.78},
            params={"model": "xgboost", "max_depth": "6", "eta": "0.1"},
            tags={"mlflow.source.git.commit": f"f{month}d1e2a", "team": "risk-ml"}))
        runs += 1
    for day in range(30, 0, -1):
        start = now - day * DAY_MS
        _log_run(client, fraud, name=f"monitor-d-{day}", start=start, minutes=2,
                 metrics={"auc": round(0.93 + rng.uniform(-0.008, 0.008), 4),
                          "psi": round(0.04 + rng.uniform(0, 0.03), 4)}, tags={"job": "daily-monitoring"})
        runs += 1
    _register(client, "fraud-detector", fraud_runs, key=healthy, alias=("production", 3), ci=True,
              description="Gradient-boosted fraud scorer for card transactions. Owner: risk ML team. "
                          "Intended use: pre-authorisation screening; not for credit decisions.")

    # 2. Drifting: churn model whose input drift (PSI) crosses 0.25 and whose AUC decays over the last week.
    churn = client.create_experiment("churn-prediction", tags={"pilotlight.initiative": drifting, DEMO_MARKER: "1"})
    churn_runs = [_log_run(client, churn, name=f"train-v{n + 1}", start=now - (50 - n * 20) * DAY_MS,
                           dataset="customers", metrics={"auc": 0.86 + n * 0.01},
                           params={"model": "lightgbm"}, tags={"mlflow.source.git.commit": f"c{n}hurn"})
                  for n in range(2)]
    runs += 2
    for day in range(40, 0, -1):
        drift = 0.05 + max(0.0, (8 - day)) * 0.045  # rises over the last week to ~0.37
        decay = 0.0 if day > 7 else (8 - day) * 0.009
        _log_run(client, churn, name=f"monitor-d-{day}", start=now - day * DAY_MS, minutes=2,
                 metrics={"auc": round(0.88 - decay + rng.uniform(-0.004, 0.004), 4),
                          "psi": round(drift + rng.uniform(0, 0.01), 4)}, tags={"job": "daily-monitoring"})
        runs += 1
    _register(client, "churn-predictor", churn_runs, key=drifting, alias=("champion", 2), ci=True,
              description="Predicts 90-day churn for retail customers.")

    # 3. Stale: claims triage, last trained 200 days ago, no model card, no CI tag, no dataset lineage.
    claims = client.create_experiment("claims-triage", tags={"pilotlight.initiative": stale, DEMO_MARKER: "1"})
    claims_run = _log_run(client, claims, name="train-initial", start=now - 200 * DAY_MS,
                          metrics={"f1": 0.74}, params={"model": "bert-base"})
    runs += 1
    _register(client, "claims-triage", [claims_run], key=stale, alias=("production", 1), ci=False, description="")

    # 4. Unowned: a pricing model serving in production that no initiative claims.
    pricing = client.create_experiment("pricing-experiments", tags={DEMO_MARKER: "1"})
    pricing_run = _log_run(client, pricing, name="train", start=now - 12 * DAY_MS, metrics={"rmse": 3.2})
    runs += 1
    _register(client, "pricing-optimizer", [pricing_run], key=None, alias=("production", 1), ci=False,
              description="")

    # MLflow 3: a LoggedModel of the healthy initiative (ignored by MLflow 2 servers).
    try:
        client.create_logged_model(experiment_id=fraud, name="fraud-detector-candidate", model_type="xgboost",
                                   source_run_id=fraud_runs[-1], params={"max_depth": "6"})
    except Exception:  # noqa: BLE001 - older servers have no LoggedModels
        log.info("The demo MLflow server has no LoggedModels (MLflow 2); skipped.")

    _backdate_stale_model(store_path, name="claims-triage", at=now - 200 * DAY_MS)
    return {"created": runs}


def _backdate_stale_model(store_path: Path | None, *, name: str, at: int) -> None:
    """Move the stale model's registration into the past in the demo's sqlite store (MLflow stamps it itself)."""
    if store_path is None:
        from portal.embedded import VAR_DIR

        store_path = VAR_DIR / "mlflow" / "mlflow.db"
    if not Path(store_path).exists():
        log.info("No sqlite store at %s; the stale demo model keeps its registration time.", store_path)
        return
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE model_versions SET creation_time = ?, last_updated_time = ? WHERE name = ?",
                   (at, at, name))
        db.execute("UPDATE registered_models SET creation_time = ?, last_updated_time = ? WHERE name = ?",
                   (at, at, name))


# --- the portal side --------------------------------------------------------------------------------------------

# Which demo initiatives the models serve (apps/portfolio/management/demo_data.py names), first found wins.
_DEMO_ROLES = (("healthy", ("Fraud network", "Fraud")), ("drifting", ("Next-best-offer", "churn", "Churn")),
               ("stale", ("Submission intake", "triage", "Claims")))


def demo_initiative_keys() -> list[str]:
    """Keys of three demo initiatives for seed_demo_mlflow: healthy, drifting, stale (by name, else by stage)."""
    from apps.portfolio.models import Initiative

    chosen: list[str] = []
    for _, names in _DEMO_ROLES:
        for name in names:
            key = (Initiative.objects.filter(name__icontains=name).exclude(key__in=chosen).order_by("key")
                   .values_list("key", flat=True).first())
            if key:
                chosen.append(key)
                break
    if len(chosen) < 3:
        chosen += list(Initiative.objects.filter(stage__in=["production", "scaled", "pilot"])
                       .exclude(key__in=chosen).order_by("key").values_list("key", flat=True)[:3 - len(chosen)])
    return chosen


def demo_connect(url: str, initiative_keys: list[str], *, sync: bool = True) -> dict:
    """Create (or repoint) the "Demo MLflow" connection, add the demo monitoring rules, and sync it once in the
    foreground. Idempotent."""
    from apps.accounts.choices import GlobalRole
    from apps.accounts.models import User
    from apps.mlops.models import MLflowConnection, MonitoringRule
    from apps.mlops.services import connection_create, connection_update, mlflow_sync, rule_create
    from apps.portfolio.models import Initiative

    actor = (User.objects.filter(is_superuser=True, is_active=True).first()
             or User.objects.filter(groups__name=GlobalRole.PORTFOLIO_ADMIN, is_active=True).first())
    if actor is None:
        raise RuntimeError("demo_connect needs a portfolio admin or a superuser (run seed_demo first).")
    conn = MLflowConnection.objects.filter(name=CONNECTION_NAME).first()
    if conn is None:
        conn = connection_create(actor=actor, name=CONNECTION_NAME, tracking_uri=url, timeout_seconds=10)
    elif conn.tracking_uri != url.rstrip("/"):
        connection_update(actor=actor, connection=conn, tracking_uri=url)
    healthy, drifting, stale = initiative_keys[:3]
    initiatives = Initiative.objects.in_bulk([healthy, drifting, stale], field_name="key")
    rules = [
        (healthy, {"kind": "threshold", "metric_key": "auc", "min_value": 0.88, "name": "AUC floor"}),
        (drifting, {"kind": "drift", "metric_key": "psi", "consecutive_breaches": 2, "severity": "critical",
                    "name": "Input drift (PSI)"}),
        (drifting, {"kind": "relative_drop", "metric_key": "auc", "drop_tolerance": 0.03, "window_days": 7,
                    "baseline_days": 30, "name": "AUC decay vs previous month"}),
        (stale, {"kind": "staleness", "stale_days": 90, "name": "Retraining overdue"}),
    ]
    for key, fields in rules:
        initiative = initiatives.get(key)
        if initiative is not None and not MonitoringRule.objects.filter(initiative=initiative,
                                                                        name=fields["name"]).exists():
            rule_create(actor=actor, initiative=initiative, **fields)
    result = mlflow_sync(connection_id=conn.pk, full=True).as_dict() if sync else {}
    return {"connection": conn.pk, "sync": result}
