"""Faults: server down, HTTP 500 mid-sync, slow answers, bad credentials. Each gives a clear status on the
connection's health and the job, writes no synced row, and the transient ones are retried."""

from __future__ import annotations

import pytest

from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.core.services import job_create
from apps.integrations import mlflow as wire
from apps.mlops.models import Experiment, RegisteredModel, Run, SyncState
from apps.mlops.services import connection_create, mlflow_sync
from tests.mlops.conftest import basic_header, free_port
from tests.mlops.helpers import row_versions, seed_run

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _job(connection) -> Job:
    return job_create(kind="mlops.sync_connection", params={"connection": connection.pk})


def _synced_rows() -> int:
    return Experiment.objects.count() + Run.objects.count() + RegisteredModel.objects.count()


def test_server_down_fails_clearly_and_writes_nothing(admin_user):
    # given a connection to a port where nothing listens
    conn = connection_create(actor=admin_user, name="Down", tracking_uri=f"http://127.0.0.1:{free_port()}",
                             timeout_seconds=2)
    job = _job(conn)

    # when it is synced (final attempt)
    result = mlflow_sync(connection_id=conn.pk, job_id=job.pk)

    # then the result, the health and the job all say MLflow is unreachable, and nothing was synced
    assert (result.status, result.error_kind) == ("failed", "unreachable")
    assert "unreachable" in result.message and "connection refused" in result.message
    state = SyncState.objects.get(connection=conn)
    assert state.last_error_kind == "unreachable" and state.consecutive_failures == 1
    assert state.last_success_at is None and state.runs_watermark is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "unreachable" in job.error
    assert _synced_rows() == 0


def test_transient_failure_before_the_last_attempt_is_raised_for_the_task_to_retry(admin_user):
    # given an unreachable server
    conn = connection_create(actor=admin_user, name="Down", tracking_uri=f"http://127.0.0.1:{free_port()}",
                             timeout_seconds=2)
    job = _job(conn)

    # when a sync that is not the task's last attempt fails
    with pytest.raises(wire.MlflowUnreachable):
        mlflow_sync(connection_id=conn.pk, job_id=job.pk, final_attempt=False)

    # then the job stays running with a "retrying" message instead of failing
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and "Retrying" in job.message


def test_http_500_mid_sync_rolls_back_everything_and_is_retried_by_the_client(admin_user, proxy, mlflow_client,
                                                                             suffix):
    # given a server behind a proxy that answers the registry search with 500 after the runs were read
    experiment_id = mlflow_client.create_experiment(f"fault500-{suffix}")
    seed_run(mlflow_client, experiment_id, name="r1", metrics={"auc": 0.8})
    conn = connection_create(actor=admin_user, name="Flaky", tracking_uri=proxy.url, timeout_seconds=5)
    proxy.fail_paths["registered-models/search"] = 0
    job = _job(conn)

    # when it is synced
    result = mlflow_sync(connection_id=conn.pk, job_id=job.pk)

    # then it failed as a server error after the client's own retries (1 try + 2 retries) ...
    assert (result.status, result.error_kind) == ("failed", "server_error")
    assert "HTTP 500" in result.message and "boom" in result.message
    assert sum("registered-models/search" in path for path in proxy.requests) == 3
    # ... and none of the runs it had already read were written
    assert _synced_rows() == 0
    assert SyncState.objects.get(connection=conn).runs_watermark is None

    # when the server recovers, the next sync stores everything
    proxy.fail_paths.clear()
    assert mlflow_sync(connection_id=conn.pk).status == "succeeded"
    assert Run.objects.filter(connection=conn, experiment__experiment_id=experiment_id).count() == 1
    state = SyncState.objects.get(connection=conn)
    assert state.last_error == "" and state.consecutive_failures == 0


def test_a_failure_on_a_later_runs_page_leaves_no_partial_runs(admin_user, proxy, mlflow_client, suffix,
                                                              monkeypatch):
    # given runs spread over several pages and a proxy failing the third runs/search page
    experiment_id = mlflow_client.create_experiment(f"pages-{suffix}")
    for n in range(6):
        seed_run(mlflow_client, experiment_id, name=f"r{n}")
    monkeypatch.setattr(wire, "RUNS_PAGE", 2)
    conn = connection_create(actor=admin_user, name="Pages", tracking_uri=proxy.url)
    proxy.fail_paths["runs/search"] = 2

    # when synced
    result = mlflow_sync(connection_id=conn.pk)

    # then nothing was written although two pages had been read
    assert result.error_kind == "server_error"
    assert _synced_rows() == 0


def test_slow_server_times_out_with_a_clear_message(admin_user, proxy):
    # given a server that answers after 3 s and a 1 s timeout
    proxy.delay = 3.0
    conn = connection_create(actor=admin_user, name="Slow", tracking_uri=proxy.url, timeout_seconds=1)

    # when synced
    result = mlflow_sync(connection_id=conn.pk)

    # then it timed out (not hung for minutes), said so, and wrote nothing
    assert (result.status, result.error_kind) == ("failed", "timeout")
    assert "did not answer within 1 s" in result.message
    assert result.seconds < 20
    assert SyncState.objects.get(connection=conn).last_error_kind == "timeout"
    assert _synced_rows() == 0


def test_bad_credentials_fail_without_retries(admin_user, proxy):
    # given a server requiring basic auth alice:s3cret and a connection with the wrong password
    proxy.require_auth = basic_header("alice", "s3cret")
    conn = connection_create(actor=admin_user, name="Guarded", tracking_uri=proxy.url, auth_type="basic",
                             username="alice", secret="wrong")
    job = _job(conn)

    # when synced, even as a non-final attempt
    result = mlflow_sync(connection_id=conn.pk, job_id=job.pk, final_attempt=False)

    # then it failed at once (no retry can fix credentials) with a clear message
    assert (result.status, result.error_kind) == ("failed", "auth")
    assert "refused the credentials (HTTP 401)" in result.message
    assert len(proxy.requests) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert _synced_rows() == 0


def test_basic_and_bearer_credentials_are_sent(admin_user, proxy):
    # given a server requiring basic auth, and a connection with the right password
    proxy.require_auth = basic_header("alice", "s3cret")
    basic = connection_create(actor=admin_user, name="Basic", tracking_uri=proxy.url, auth_type="basic",
                              username="alice", secret="s3cret")
    # then the sync succeeds
    assert mlflow_sync(connection_id=basic.pk).status == "succeeded"

    # and with a bearer token
    proxy.require_auth = "Bearer tok-123"
    bearer = connection_create(actor=admin_user, name="Bearer", tracking_uri=proxy.url, auth_type="bearer",
                               secret="tok-123")
    assert mlflow_sync(connection_id=bearer.pk).status == "succeeded"


def test_a_gateway_without_its_backend_is_a_server_error(admin_user, proxy):
    # given a proxy answering 503 with an HTML page
    proxy.down = True
    conn = connection_create(actor=admin_user, name="Gateway", tracking_uri=proxy.url)

    # when synced
    result = mlflow_sync(connection_id=conn.pk)

    # then the error is classified as a transient server error with the page's text
    assert result.error_kind == "server_error" and "HTTP 503" in result.message


def test_the_celery_task_retries_transient_errors_then_fails_the_job(admin_user, eager_celery, settings):
    # given an unreachable server
    from workers.tasks.mlops import sync_connection

    conn = connection_create(actor=admin_user, name="Down", tracking_uri=f"http://127.0.0.1:{free_port()}",
                             timeout_seconds=1)
    job = _job(conn)

    # when the task runs (eagerly: Celery retries inline)
    sync_connection.apply(args=[conn.pk, job.pk, None])

    # then it was attempted 1 + max_retries times and the job failed on the last attempt
    state = SyncState.objects.get(connection=conn)
    assert state.consecutive_failures == 1 + sync_connection.max_retries
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "unreachable" in job.error


def test_a_concurrent_sync_of_the_same_connection_is_skipped(connection, seeded_small):
    # given another session holding the connection's sync lock
    from django.db import connections

    from apps.mlops.services.sync import LOCK_NAMESPACE

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, connection.pk])
        before = row_versions()

        # when a sync starts
        result = mlflow_sync(connection_id=connection.pk)

        # then it is skipped, writing nothing; a separately queued job ends as done with the reason
        assert result.status == "skipped" and "Another sync" in result.message
        assert row_versions() == before
        job = _job(connection)
        mlflow_sync(connection_id=connection.pk, job_id=job.pk)
        job.refresh_from_db()
        assert (job.status, job.message) == (JobStatus.SUCCEEDED, "Another sync of this connection is running; "
                                                                  "skipped.")
    finally:
        other.close()


@pytest.fixture
def seeded_small(mlflow_client, suffix):
    experiment_id = mlflow_client.create_experiment(f"small-{suffix}")
    seed_run(mlflow_client, experiment_id, name="one")
    return experiment_id
