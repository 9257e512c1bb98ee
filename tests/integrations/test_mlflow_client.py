"""apps.integrations.mlflow: wire parsing, URL checks, error classification and MLflow 2 compatibility, against a
real `mlflow server` (and a fault-injecting proxy in front of it where a fault is needed)."""

from __future__ import annotations

import math

import pytest

from apps.integrations import mlflow as wire
from tests.mlops import conftest as mlops_fixtures
from tests.mlops.conftest import free_port
from tests.mlops.helpers import seed_run

# The MLOps fixtures (a real mlflow server, a fault-injecting proxy, a connection), shared with tests/mlops.
mlflow_server = mlops_fixtures.mlflow_server
mlflow_client = mlops_fixtures.mlflow_client
proxy = mlops_fixtures.proxy
connection = mlops_fixtures.connection
suffix = mlops_fixtures.suffix
_fast_client_retries = mlops_fixtures._fast_client_retries


def test_parse_run_keeps_latest_metrics_nan_values_and_dataset_inputs():
    run = wire.parse_run({
        "info": {"run_uuid": "abc", "experiment_id": "3", "run_name": "r", "status": "FINISHED",
                 "start_time": "1700000000000", "end_time": 1700000005000, "lifecycle_stage": "active"},
        "data": {"metrics": [{"key": "auc", "value": 0.9, "timestamp": 1, "step": 2},
                             {"key": "loss", "value": "NaN", "timestamp": 1, "step": 0}],
                 "params": [{"key": "lr", "value": "0.1"}], "tags": [{"key": "t", "value": "v"}]},
        "inputs": {"dataset_inputs": [{"dataset": {"name": "d", "digest": "x", "source_type": "s3"},
                                       "tags": [{"key": "mlflow.data.context", "value": "training"}]}]},
    })
    assert (run.run_id, run.experiment_id, run.start_time, run.end_time) == ("abc", "3", 1700000000000, 1700000005000)
    assert run.metrics["auc"] == wire.Metric(0.9, 1, 2)
    assert math.isnan(run.metrics["loss"].value)
    assert run.params == {"lr": "0.1"} and run.tags == {"t": "v"}
    assert run.datasets == (wire.DatasetInput("d", "x", "s3", "training"),)


def test_parse_registered_model_reads_aliases_and_ignores_the_none_stage():
    model = wire.parse_registered_model({"name": "m", "aliases": [{"alias": "champion", "version": "4"}],
                                         "tags": [{"key": "pilotlight.initiative", "value": "AI-1"}]})
    assert model.aliases == {"champion": 4} and model.tags == {"pilotlight.initiative": "AI-1"}
    version = wire.parse_model_version({"name": "m", "version": "4", "current_stage": "None"})
    assert (version.version, version.current_stage) == (4, "")


@pytest.mark.parametrize("uri", ["databricks", "file:///tmp/mlruns", "sqlite:///x.db", "mlflow.example.com", ""])
def test_non_http_tracking_uris_are_refused(uri):
    with pytest.raises(wire.MlflowRequestError, match="is not an HTTP\\(S\\) tracking server URL"):
        wire.base_url(uri)


def test_base_url_drops_trailing_slashes():
    assert wire.base_url(" https://mlflow.example.com/ ") == "https://mlflow.example.com"


@pytest.mark.slow
def test_check_reports_the_server_version(mlflow_server):
    with wire.MlflowRestClient(wire.MlflowConfig(tracking_uri=mlflow_server.url)) as client:
        check = client.check()
    import mlflow

    assert check.ok and check.version == mlflow.__version__
    assert check.message.startswith(f"Connected to MLflow {mlflow.__version__} in ")


@pytest.mark.slow
def test_iter_runs_pages_with_a_stable_order(mlflow_server, mlflow_client, suffix):
    experiment_id = mlflow_client.create_experiment(f"paging-{suffix}")
    for n in range(5):
        seed_run(mlflow_client, experiment_id, name=f"r{n}", start_time=1_700_000_000_000 + n * 1000)
    with wire.MlflowRestClient(wire.MlflowConfig(tracking_uri=mlflow_server.url)) as client:
        pages = list(client.iter_runs([experiment_id], page_size=2))
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [run.run_name for page in pages for run in page] == ["r0", "r1", "r2", "r3", "r4"]


@pytest.mark.slow
def test_metric_history_returns_every_point(mlflow_server, mlflow_client, suffix):
    experiment_id = mlflow_client.create_experiment(f"history-{suffix}")
    run = seed_run(mlflow_client, experiment_id, name="h", metrics={"auc": [0.7, 0.75, 0.8]})
    with wire.MlflowRestClient(wire.MlflowConfig(tracking_uri=mlflow_server.url)) as client:
        points = client.metric_history(run.run_id, "auc")
    assert [(p.step, p.value) for p in points] == [(0, 0.7), (1, 0.75), (2, 0.8)]


def test_unreachable_server_is_transient_and_named():
    config = wire.MlflowConfig(tracking_uri=f"http://127.0.0.1:{free_port()}", timeout=2, retries=0)
    with pytest.raises(wire.MlflowUnreachable) as error, wire.MlflowRestClient(config) as client:
        client.check()
    assert error.value.transient and error.value.kind == "unreachable"
    assert "connection refused" in error.value.message


@pytest.mark.slow
def test_an_mlflow_2_server_without_logged_models_still_syncs(connection, proxy, admin_user):
    """MLflow 2.x answers 404 on logged-models/search: the sync skips LoggedModels and says so in its health."""
    from apps.mlops.models import SyncState
    from apps.mlops.services import connection_update, mlflow_sync

    connection_update(actor=admin_user, connection=connection, tracking_uri=proxy.url)
    proxy.fail_paths.clear()

    original_send = proxy._server.RequestHandlerClass._send

    def send(handler, status, payload, content_type="application/json"):
        if "logged-models/search" in handler.path:
            return original_send(handler, 404, b"<!doctype html><title>404 Not Found</title>", "text/html")
        return original_send(handler, status, payload, content_type)

    proxy._server.RequestHandlerClass._send = send
    result = mlflow_sync(connection_id=connection.pk)
    assert result.status == "succeeded", result.message
    assert SyncState.objects.get(connection=connection).supports_logged_models is False
    requests_before = sum("logged-models" in path for path in proxy.requests)
    mlflow_sync(connection_id=connection.pk, full=False)
    assert sum("logged-models" in path for path in proxy.requests) == requests_before  # not asked again
