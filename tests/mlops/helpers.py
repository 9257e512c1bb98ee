"""Helpers for the MLOps tests: seeding the MLflow server, reading it back, and detecting database writes."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection as db

from apps.audit.models import AuditEvent

SYNCED_TABLES = ("mlops_experiment", "mlops_run", "mlops_registeredmodel", "mlops_modelversion",
                 "mlops_loggedmodel", "mlops_metricpoint")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SeededRun:
    run_id: str
    name: str


def seed_run(client, experiment_id: str, *, name: str, metrics: dict[str, float | list[float]] | None = None,
             params: dict[str, str] | None = None, tags: dict[str, str] | None = None, finish: bool = True,
             start_time: int | None = None, end_time: int | None = None, dataset: str | None = None,
             status: str = "FINISHED") -> SeededRun:
    """Create a run through MlflowClient; a list of metric values logs a history (step = position)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

    run = client.create_run(experiment_id, run_name=name, tags=tags or {}, start_time=start_time)
    run_id = run.info.run_id
    stamp = start_time or now_ms()
    metric_rows = []
    for key, values in (metrics or {}).items():
        series = values if isinstance(values, list) else [values]
        metric_rows.extend(Metric(key, float(v), stamp + step * 1000, step) for step, v in enumerate(series))
    client.log_batch(run_id, metrics=metric_rows, params=[Param(k, v) for k, v in (params or {}).items()],
                     tags=[RunTag(k, v) for k, v in (tags or {}).items()])
    if dataset:
        client.log_inputs(run_id, datasets=[DatasetInput(
            Dataset(name=dataset, digest="d1g3st", source_type="local", source=f"/data/{dataset}.csv"),
            tags=[InputTag("mlflow.data.context", "training")])])
    if finish:
        client.set_terminated(run_id, status=status, end_time=end_time)
    return SeededRun(run_id, name)


def server_runs(client) -> dict[str, object]:
    """Every active run of every active experiment on the server, by run id."""
    from mlflow.entities import ViewType

    experiment_ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY,
                                                                         max_results=50_000)]
    runs = {}
    token = None
    while True:
        page = client.search_runs(experiment_ids, max_results=10_000, page_token=token)
        runs.update({run.info.run_id: run for run in page})
        token = page.token
        if not token:
            return runs


def row_versions() -> dict[str, set[tuple[int, str]]]:
    """(id, xmin, ctid) of every synced row: any insert, update or delete changes this (an update writes a new
    tuple version, so its ctid changes even inside the test's transaction)."""
    versions = {}
    with db.cursor() as cursor:
        for table in SYNCED_TABLES:
            cursor.execute(f"SELECT id, xmin::text, ctid::text FROM {table}")  # noqa: S608 - fixed table names
            versions[table] = set(cursor.fetchall())
    return versions


def audit_count() -> int:
    return AuditEvent.objects.count()
