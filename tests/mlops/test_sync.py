"""The MLflow sync against a real `mlflow server`: full sync equals the server, no-change syncs write nothing,
incremental syncs pick up new / finished / deleted runs and moved aliases, tags link objects to initiatives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.core.services import job_create
from apps.mlops.choices import LinkKind, LinkSource
from apps.mlops.models import (
    Experiment,
    LoggedModel,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    Run,
    SyncState,
)
from apps.mlops.services import mlflow_sync, model_link_create, rule_create
from apps.mlops.services.sync import ms_to_datetime
from tests.factories import make_initiative
from tests.mlops.helpers import audit_count, now_ms, row_versions, seed_run, server_runs

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def seeded(mlflow_client, suffix):
    """One experiment with three runs (history, params, tags, a dataset) and a model with two versions."""
    client = mlflow_client
    experiment_id = client.create_experiment(f"churn-{suffix}", tags={"team": "retention"})
    runs = [
        seed_run(client, experiment_id, name="baseline", metrics={"auc": [0.80, 0.82, 0.83], "loss": 0.4},
                 params={"lr": "0.1", "depth": "6"}, tags={"stage": "dev"}, dataset="customers"),
        seed_run(client, experiment_id, name="tuned", metrics={"auc": 0.86}, params={"lr": "0.05"}),
        seed_run(client, experiment_id, name="in-flight", metrics={"auc": 0.5}, finish=False),
    ]
    model = f"churn-model-{suffix}"
    client.create_registered_model(model, description="Predicts churn.")
    client.create_model_version(model, source=f"runs:/{runs[0].run_id}/model", run_id=runs[0].run_id)
    client.create_model_version(model, source=f"runs:/{runs[1].run_id}/model", run_id=runs[1].run_id,
                                tags={"mlflow.source.git.commit": "abc123"})
    client.set_registered_model_alias(model, "champion", "2")
    return {"experiment_id": experiment_id, "runs": runs, "model": model}


def test_full_sync_equals_what_the_server_holds(connection, seeded, mlflow_client):
    # given a server holding experiments, runs and a registry (this test's and others')

    # when the connection is synced for the first time
    result = mlflow_sync(connection_id=connection.pk)

    # then it was a full sync and every active run of the server is stored with the server's values
    assert result.status == "succeeded" and result.full is True
    upstream = server_runs(mlflow_client)
    assert Run.objects.filter(connection=connection).count() == len(upstream)
    assert result.counts.runs_created == len(upstream)
    for run in Run.objects.filter(connection=connection).select_related("experiment"):
        remote = upstream[run.run_id]
        assert run.experiment.experiment_id == remote.info.experiment_id
        assert run.status == remote.info.status
        assert run.name == remote.info.run_name
        assert run.start_time == ms_to_datetime(remote.info.start_time)
        assert run.end_time == ms_to_datetime(remote.info.end_time)
        assert run.params == remote.data.params
        assert run.tags == remote.data.tags
        assert {k: v[0] for k, v in run.metrics.items()} == remote.data.metrics
    # and the experiments, registered models, versions and aliases match too
    experiments = {e.experiment_id: e for e in mlflow_client.search_experiments(view_type=3, max_results=50_000)}
    assert set(Experiment.objects.filter(connection=connection).values_list("experiment_id", flat=True)) == set(
        experiments)
    model = RegisteredModel.objects.get(connection=connection, name=seeded["model"])
    assert model.description == "Predicts churn."
    assert model.aliases == {"champion": 2}
    versions = {v.version: v for v in ModelVersion.objects.filter(registered_model=model)}
    assert sorted(versions) == [1, 2]
    assert versions[2].aliases == ["champion"] and versions[1].aliases == []
    assert versions[2].tags == {"mlflow.source.git.commit": "abc123"}
    assert versions[1].run_id == seeded["runs"][0].run_id
    remote_models = {m.name for m in mlflow_client.search_registered_models(max_results=1000)}
    assert set(RegisteredModel.objects.filter(connection=connection).values_list("name", flat=True)) == remote_models
    # and the dataset input (lineage) of the first run is kept
    baseline = Run.objects.get(run_id=seeded["runs"][0].run_id)
    assert baseline.datasets == [{"name": "customers", "digest": "d1g3st", "source_type": "local",
                                  "context": "training"}]
    # and the health says when it last succeeded
    state = SyncState.objects.get(connection=connection)
    assert state.last_success_at is not None and state.last_full_sync_at is not None
    assert state.runs_watermark >= max(r.info.start_time for r in upstream.values())


def test_second_sync_with_no_changes_writes_nothing(connection, seeded):
    # given a synced connection
    mlflow_sync(connection_id=connection.pk)
    before, events_before = row_versions(), audit_count()

    # when it is synced again, incrementally, with nothing new on the server
    result = mlflow_sync(connection_id=connection.pk, full=False)

    # then no synced row was inserted, updated or deleted, and no audit event was written
    assert result.status == "succeeded" and result.full is False
    assert result.counts.changed is False, result.counts
    assert row_versions() == before
    assert audit_count() == events_before


def test_a_full_reconcile_with_no_changes_writes_nothing_either(connection, seeded):
    # given a synced connection
    mlflow_sync(connection_id=connection.pk)
    before = row_versions()

    # when a full reconcile runs with nothing new
    result = mlflow_sync(connection_id=connection.pk, full=True)

    # then it read every run but wrote none
    assert result.counts.runs_seen == Run.objects.filter(connection=connection).count()
    assert result.counts.changed is False, result.counts
    assert row_versions() == before


def test_incremental_sync_picks_up_new_finished_and_deleted_runs_and_moved_aliases(connection, seeded,
                                                                                   mlflow_client):
    # given a synced connection
    mlflow_sync(connection_id=connection.pk)
    client = mlflow_client
    in_flight, tuned = seeded["runs"][2], seeded["runs"][1]
    assert Run.objects.get(run_id=in_flight.run_id).status == "RUNNING"

    # when upstream a run finishes with a new metric, a new run appears, one is deleted and the alias moves
    client.log_metric(in_flight.run_id, "auc", 0.91)
    client.set_terminated(in_flight.run_id)
    new = seed_run(client, seeded["experiment_id"], name="retrained", metrics={"auc": 0.9})
    client.delete_run(tuned.run_id)
    client.set_registered_model_alias(seeded["model"], "champion", "1")
    result = mlflow_sync(connection_id=connection.pk, full=False)

    # then the incremental sync saw each change
    assert result.full is False
    finished = Run.objects.get(run_id=in_flight.run_id)
    assert finished.status == "FINISHED" and finished.end_time is not None
    assert finished.metrics["auc"][0] == 0.91
    assert Run.objects.filter(run_id=new.run_id, name="retrained").exists()
    assert not Run.objects.filter(run_id=tuned.run_id).exists()
    model = RegisteredModel.objects.get(connection=connection, name=seeded["model"])
    assert model.aliases == {"champion": 1}
    assert dict(model.versions.values_list("version", "aliases")) == {1: ["champion"], 2: []}
    assert (result.counts.runs_created, result.counts.runs_deleted) == (1, 1)
    assert result.counts.runs_updated >= 1
    # and the changing sync is audited as one event
    event = AuditEvent.objects.filter(action="mlflow_sync").order_by("-seq").first()
    assert event.detail["runs_created"] == 1 and event.detail["connection"] == connection.pk


def test_runs_with_old_timestamps_wait_for_the_full_reconcile(connection, seeded, mlflow_client, settings):
    # given a synced connection and no overlap window
    settings.MLFLOW_SYNC_OVERLAP_SECONDS = 0
    mlflow_sync(connection_id=connection.pk)
    # when a run is backfilled with start and end times before the watermark
    old = now_ms() - 30 * 86_400_000
    late = seed_run(mlflow_client, seeded["experiment_id"], name="backfilled", metrics={"auc": 0.7},
                    start_time=old, end_time=old + 1000)
    incremental = mlflow_sync(connection_id=connection.pk, full=False)
    # then the incremental sync cannot see it (MLflow runs have no last-update time) ...
    assert not Run.objects.filter(run_id=late.run_id).exists()
    assert incremental.counts.runs_created == 0
    # ... and the full reconcile does
    full = mlflow_sync(connection_id=connection.pk, full=True)
    assert Run.objects.filter(run_id=late.run_id).exists()
    assert full.counts.runs_created == 1


def test_full_reconcile_removes_runs_purged_upstream(connection, seeded, mlflow_client, mlflow_server):
    # given a synced run that is then deleted and garbage-collected upstream (gone entirely)
    mlflow_sync(connection_id=connection.pk)
    victim = seeded["runs"][0].run_id
    mlflow_client.delete_run(victim)
    subprocess.run([str(Path(sys.executable).with_name("mlflow")), "gc", "--backend-store-uri",
                    f"sqlite:///{mlflow_server.root / 'mlflow.db'}", "--run-ids", victim],
                   check=True, capture_output=True, timeout=120, env={**os.environ, "MLFLOW_TRACKING_URI":
                                                                      mlflow_server.url})
    assert Run.objects.filter(run_id=victim).exists()

    # when the full reconcile runs
    result = mlflow_sync(connection_id=connection.pk, full=True)

    # then the run and its history are gone here too
    assert not Run.objects.filter(run_id=victim).exists()
    assert result.counts.runs_deleted == 1


def test_tags_and_explicit_links_assign_objects_to_the_right_initiatives(connection, mlflow_client, suffix,
                                                                         admin_user, unit_a):
    # given three initiatives and objects tagged or linked to them
    fraud = make_initiative(actor=admin_user, unit=unit_a, name="Fraud", key=f"FR-{suffix.split('-')[0]}1")
    churn = make_initiative(actor=admin_user, unit=unit_a, name="Churn", key=f"CH-{suffix.split('-')[0]}1")
    pricing = make_initiative(actor=admin_user, unit=unit_a, name="Pricing", key=f"PR-{suffix.split('-')[0]}1")
    client = mlflow_client
    tagged_exp = client.create_experiment(f"fraud-{suffix}", tags={"pilotlight.initiative": fraud.key.lower()})
    plain_exp = client.create_experiment(f"plain-{suffix}")
    inherits = seed_run(client, tagged_exp, name="inherits")
    overrides = seed_run(client, tagged_exp, name="overrides", tags={"pilotlight.initiative": churn.key})
    orphan = seed_run(client, plain_exp, name="orphan")
    client.create_registered_model(f"fraud-model-{suffix}", tags={"pilotlight.initiative": fraud.key})
    client.create_registered_model(f"pricing-model-{suffix}")

    # when synced, and the plain experiment and the untagged model are then linked explicitly
    mlflow_sync(connection_id=connection.pk)
    run = {r.name: r for r in Run.objects.filter(experiment__experiment_id__in=[tagged_exp, plain_exp])}
    assert (run["inherits"].initiative, run["inherits"].link_source) == (fraud, LinkSource.EXPERIMENT)
    assert (run["overrides"].initiative, run["overrides"].link_source) == (churn, LinkSource.TAG)
    assert run["orphan"].initiative is None
    assert RegisteredModel.objects.get(name=f"fraud-model-{suffix}").initiative == fraud
    assert RegisteredModel.objects.get(name=f"pricing-model-{suffix}").initiative is None
    model_link_create(actor=admin_user, initiative=pricing, connection=connection, kind=LinkKind.EXPERIMENT,
                      target=f"plain-{suffix}")
    model_link_create(actor=admin_user, initiative=pricing, connection=connection,
                      kind=LinkKind.REGISTERED_MODEL, target=f"pricing-model-{suffix}")

    # then the links apply at once, by experiment id, and the runs follow their experiment
    assert Experiment.objects.get(experiment_id=plain_exp).initiative == pricing
    assert Run.objects.get(run_id=orphan.run_id).initiative == pricing
    model = RegisteredModel.objects.get(name=f"pricing-model-{suffix}")
    assert (model.initiative, model.link_source) == (pricing, LinkSource.EXPLICIT)
    assert {inherits.run_id, overrides.run_id} <= set(Run.objects.filter(
        initiative__in=[fraud, churn]).values_list("run_id", flat=True))


def test_metric_history_of_monitored_keys_is_synced(connection, seeded, admin_user, unit_a, mlflow_client, suffix):
    # given an initiative whose experiment logs auc over steps, with a rule on auc
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Churn")
    model_link_create(actor=admin_user, initiative=initiative, connection=connection, kind=LinkKind.EXPERIMENT,
                      target=seeded["experiment_id"])
    rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.5)

    # when synced
    mlflow_sync(connection_id=connection.pk)

    # then every logged auc value of the initiative's runs is stored, not only the latest
    baseline = Run.objects.get(run_id=seeded["runs"][0].run_id)
    values = list(MetricPoint.objects.filter(run=baseline, key="auc").order_by("step").values_list("value",
                                                                                                  flat=True))
    assert values == [0.80, 0.82, 0.83]
    assert not MetricPoint.objects.filter(key="loss").exists()  # not monitored
    # and a further sync adds nothing
    before = row_versions()
    mlflow_sync(connection_id=connection.pk, full=False)
    assert row_versions() == before


def test_logged_models_are_synced_from_mlflow_3(connection, mlflow_client, suffix):
    # given an MLflow 3 LoggedModel
    experiment_id = mlflow_client.create_experiment(f"genai-{suffix}")
    logged = mlflow_client.create_logged_model(experiment_id=experiment_id, name=f"agent-{suffix}",
                                               params={"temperature": "0.2"}, model_type="agent")

    # when synced
    mlflow_sync(connection_id=connection.pk)

    # then it is stored with its parameters
    stored = LoggedModel.objects.get(connection=connection, model_id=logged.model_id)
    assert (stored.name, stored.params, stored.model_type) == (f"agent-{suffix}", {"temperature": "0.2"}, "agent")
    assert SyncState.objects.get(connection=connection).supports_logged_models is True


def test_sync_reports_progress_in_its_job(connection, seeded, admin_user):
    # given a queued sync job
    job = job_create(kind="mlops.sync_connection", params={"connection": connection.pk}, requested_by=admin_user)

    # when the sync runs
    mlflow_sync(connection_id=connection.pk, job_id=job.pk)

    # then the job finished with the counts and full progress
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["counts"]["runs_created"] == Run.objects.filter(connection=connection).count()
    assert job.progress_done == job.progress_total == Run.objects.filter(connection=connection).count()
    assert job.message.startswith("Full reconcile:")


def test_sync_mlflow_command_runs_in_the_foreground(connection, seeded, capsys):
    # when the management command syncs the connection
    call_command("sync_mlflow", "--connection", str(connection.pk), "--full")

    # then the data is there and the output says what changed
    out = capsys.readouterr().out
    assert "Test MLflow" in out and "Full reconcile" in out
    assert Run.objects.filter(connection=connection).count() > 0
