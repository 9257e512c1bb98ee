"""Connections: encrypted secrets (rotation, a lost key), admin-only writes, the test job, the beat schedule,
per-object grants on synced data, and the initiative summary the initiative page embeds."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.integrations import mlflow as wire
from apps.mlops import crypto
from apps.mlops.models import MLflowConnection, SyncState
from apps.mlops.selectors import mlops_initiative_summary, run_list
from apps.mlops.services import connection_config, connection_create, connection_test_request, rule_create
from apps.portfolio.services import initiative_grant
from tests.factories import make_initiative, make_user
from tests.mlops.factories import make_connection, make_model, make_run

pytestmark = pytest.mark.django_db


def test_secrets_are_encrypted_and_a_rotated_key_still_decrypts(settings, admin_user):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old_key
    conn = connection_create(actor=admin_user, name="S", tracking_uri="https://m.example.com", auth_type="bearer",
                             secret="tok-1")
    assert "tok-1" not in conn.secret_encrypted
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"  # rotation: the new key first, the old one still read
    assert connection_config(MLflowConnection.objects.get(pk=conn.pk)).secret == "tok-1"
    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone
    with pytest.raises(wire.MlflowAuthError, match="cannot be decrypted with FIELD_ENCRYPTION_KEY"):
        connection_config(MLflowConnection.objects.get(pk=conn.pk))


def test_the_default_key_is_derived_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEY = ""
    token = crypto.encrypt("pw")
    assert crypto.decrypt(token) == "pw"
    assert Fernet(crypto.derive_key(settings.SECRET_KEY)).decrypt(token.encode()) == b"pw"


def test_only_portfolio_admins_create_connections(lead_a, executive):
    for user in (lead_a, executive):
        with pytest.raises(PermissionDenied, match="Only portfolio admins manage MLflow connections."):
            connection_create(actor=user, name="x", tracking_uri="http://127.0.0.1:1")
    assert not MLflowConnection.objects.exists()


@pytest.mark.slow
def test_the_test_job_connects_and_records_the_server_version(admin_user, mlflow_server, eager_celery,
                                                             django_capture_on_commit_callbacks):
    import mlflow

    conn = connection_create(actor=admin_user, name="Live", tracking_uri=mlflow_server.url)
    with django_capture_on_commit_callbacks(execute=True):
        job = connection_test_request(actor=admin_user, connection=conn)
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.SUCCEEDED
    assert job.message.startswith(f"Connected to MLflow {mlflow.__version__} in ")
    assert job.result["ok"] is True
    assert SyncState.objects.get(connection=conn).server_version == mlflow.__version__


def test_the_test_job_fails_clearly_when_the_server_is_down(admin_user, eager_celery,
                                                           django_capture_on_commit_callbacks):
    from tests.mlops.conftest import free_port

    conn = connection_create(actor=admin_user, name="Down", tracking_uri=f"http://127.0.0.1:{free_port()}",
                             timeout_seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        job = connection_test_request(actor=admin_user, connection=conn)
    job = Job.objects.get(pk=job.pk)
    assert job.status == JobStatus.FAILED and "connection refused" in job.error


def test_the_beat_schedule_syncs_every_15_minutes(settings):
    from django.apps import apps as registry
    from django_celery_beat.models import PeriodicTask

    migration = __import__("apps.mlops.migrations.0003_beat_schedule", fromlist=["create_schedule"])
    PeriodicTask.objects.filter(name=migration.TASK_NAME).delete()  # a transactional test may have flushed it
    migration.create_schedule(registry, None)
    task = PeriodicTask.objects.get(name=migration.TASK_NAME)
    assert (task.task, task.queue, task.enabled) == ("mlops.sync_due_connections", "integrations", True)
    assert (task.interval.every, task.interval.period) == (15, "minutes")


def test_sync_due_queues_one_job_per_enabled_connection_and_skips_queued_ones(admin_user,
                                                                             django_capture_on_commit_callbacks):
    from apps.mlops.services import connections_sync_due

    first, second = make_connection(admin_user), make_connection(admin_user)
    MLflowConnection.objects.filter(pk=second.pk).update(enabled=False)
    with django_capture_on_commit_callbacks() as callbacks:
        jobs = connections_sync_due()
    assert [job.params["connection"] for job in jobs] == [first.pk] and len(callbacks) == 1
    assert connections_sync_due() == []  # its job is still queued: no pile-up when workers are down


def test_a_per_object_grant_shows_the_synced_runs_of_that_initiative_only(admin_user, unit_a, unit_b, lead_a):
    # given two initiatives of Claims with runs, and an outside reviewer granted one of them
    shown = make_initiative(actor=admin_user, unit=unit_a, name="Shown")
    hidden = make_initiative(actor=admin_user, unit=unit_a, name="Hidden")
    conn = make_connection(admin_user)
    make_run(conn, shown, metrics={"auc": 0.9})
    make_run(conn, hidden, metrics={"auc": 0.9})
    reviewer = make_user(unit=unit_b, username="reviewer")
    initiative_grant(actor=lead_a, initiative=shown, user=reviewer, access="view")

    # then the reviewer sees the shown initiative's run and nothing else
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)  # a fresh user object: no cached access scope
    assert [run.initiative for run in run_list(user=reviewer)] == [shown]


def test_initiative_summary_takes_a_fixed_number_of_queries(admin_user, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Summary")
    conn = make_connection(admin_user)

    def grow(n: int) -> None:
        for _ in range(n):
            run = make_run(conn, initiative, metrics={"auc": 0.5})
            make_model(conn, initiative, run=run)
        rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.9)

    grow(5)
    with CaptureQueriesContext(db) as small:
        summary = mlops_initiative_summary(user=admin_user, initiative=initiative)
    assert len(summary.models) == 5 and summary.run_count == 5 and len(summary.open_alerts) == 1
    grow(45)
    with CaptureQueriesContext(db) as large:
        summary = mlops_initiative_summary(user=admin_user, initiative=initiative)
    assert summary.run_count == 50 and len(summary.models) == 10  # the card shows the first ten
    assert len(small.captured_queries) == len(large.captured_queries)
