"""Synced MLOps rows for tests that do not need an MLflow server (pages, API, access, query counts).

The sync is the only writer of synced tables in the product; here they are created directly, as a sync would
leave them (with the pilotlight.initiative tags that link them, so link resolution keeps them), so that page and
API tests run in milliseconds.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from django.utils import timezone

from apps.mlops.models import Experiment, MLflowConnection, ModelVersion, RegisteredModel, Run
from apps.mlops.services import connection_create
from apps.mlops.services.sync import datetime_to_ms

_ids = itertools.count(1)


def make_connection(actor, name: str | None = None, url: str = "http://127.0.0.1:9") -> MLflowConnection:
    return connection_create(actor=actor, name=name or f"MLflow {next(_ids)}", tracking_uri=url)


def make_experiment(conn: MLflowConnection, initiative=None, name: str | None = None) -> Experiment:
    number = next(_ids)
    return Experiment.objects.create(
        connection=conn, experiment_id=str(number), name=name or f"experiment-{number}", synced_at=timezone.now(),
        initiative=initiative, link_source="tag" if initiative else "",
        tags={"pilotlight.initiative": initiative.key} if initiative else {},
    )


def make_run(conn: MLflowConnection, initiative=None, *, experiment: Experiment | None = None,
             metrics: dict[str, float] | None = None, offset_minutes: int = 0, status: str = "FINISHED",
             datasets: int = 0, tags: dict | None = None) -> Run:
    if experiment is None:
        experiment = Experiment.objects.filter(connection=conn, initiative=initiative).first() or make_experiment(
            conn, initiative)
    start = timezone.now() - timedelta(days=1) + timedelta(minutes=offset_minutes)
    stamp = datetime_to_ms(start)
    return Run.objects.create(
        connection=conn, experiment=experiment, run_id=uuid.uuid4().hex, name=f"run-{next(_ids)}", status=status,
        start_time=start, end_time=start + timedelta(minutes=5) if status != "RUNNING" else None,
        metrics={key: [value, stamp, 0] for key, value in (metrics or {}).items()}, params={"lr": "0.1"},
        tags=tags or {}, datasets=[{"name": "train", "digest": "x", "source_type": "local", "context": "training"}]
        * datasets, initiative=initiative, link_source="experiment" if initiative else "", synced_at=timezone.now(),
    )


def make_model(conn: MLflowConnection, initiative=None, *, name: str | None = None, versions: int = 2,
               aliases: dict[str, int] | None = None, description: str = "", version_tags: dict | None = None,
               run: Run | None = None, created_days_ago: int = 3) -> RegisteredModel:
    aliases = aliases if aliases is not None else {"champion": versions}
    model = RegisteredModel.objects.create(
        connection=conn, name=name or f"model-{next(_ids)}", description=description, aliases=aliases,
        tags={"pilotlight.initiative": initiative.key} if initiative else {}, initiative=initiative,
        link_source="tag" if initiative else "", synced_at=timezone.now(),
        mlflow_created_at=timezone.now() - timedelta(days=30),
    )
    by_version: dict[int, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    ModelVersion.objects.bulk_create([
        ModelVersion(registered_model=model, version=number, aliases=sorted(by_version.get(number, [])),
                     run_id=run.run_id if run is not None else "", status="READY",
                     tags=(version_tags or {}) if number == versions else {}, synced_at=timezone.now(),
                     mlflow_created_at=timezone.now() - timedelta(days=created_days_ago + versions - number))
        for number in range(1, versions + 1)
    ])
    return model
