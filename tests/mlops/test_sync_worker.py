"""The sync task in a real Celery worker process: SIGKILL mid-sync, restart, and the end state equals that of an
uninterrupted sync with no duplicates (late acks redeliver the task; the sync is idempotent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from celery import Celery
from django.db import connection as db

from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.core.services import job_create
from apps.mlops.models import Run
from apps.mlops.services import connection_create, mlflow_sync
from tests.mlops.helpers import row_versions, seed_run, server_runs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

VISIBILITY_TIMEOUT = 4  # seconds before an unacknowledged task is handed to another worker


def _redis_url() -> str | None:
    """CELERY_BROKER_URL when it is Redis (CI), else a local Redis on a test-only database number, if it answers."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis://"):
        return url
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        return None
    return "redis://127.0.0.1:6379/13"


def _database_url() -> str:
    s = db.settings_dict
    host, port, password = s["HOST"] or "127.0.0.1", s["PORT"] or 5432, s.get("PASSWORD") or ""
    if host.startswith("/"):  # the embedded server listens on a unix socket
        return f"postgresql://{s['USER']}:{password}@/{s['NAME']}?host={host}&port={port}"
    return f"postgresql://{s['USER']}:{password}@{host}:{port}/{s['NAME']}"


def _start_worker(queue: str, broker: str, log_path) -> subprocess.Popen:
    env = {
        **os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "MLFLOW_REQUEST_RETRIES": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo", "-Q", queue, "-l", "info",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{queue}@%h"],
        env=env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )


def _kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(20)


def _wait(predicate, timeout: float, what: str, worker: subprocess.Popen | None = None, log_path=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"worker exited ({worker.returncode}) while waiting for {what}:\n"
                                 f"{log_path.read_text()[-3000:] if log_path else ''}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log_path.read_text()[-3000:] if log_path else ''}")


def test_worker_killed_mid_sync_then_restarted_ends_like_an_uninterrupted_sync(admin_user, proxy, mlflow_client,
                                                                               suffix, tmp_path):
    broker = _redis_url()
    if broker is None:
        pytest.skip("needs Redis (CELERY_BROKER_URL or 127.0.0.1:6379): the filesystem transport cannot redeliver")
    # given runs on the server, behind a proxy that makes each runs/search page take a while
    experiment_id = mlflow_client.create_experiment(f"kill-{suffix}")
    for n in range(5):
        seed_run(mlflow_client, experiment_id, name=f"r{n}", metrics={"auc": 0.8 + n / 100})
    proxy.delay, proxy.delay_paths = 2.0, ("runs/search",)
    conn = connection_create(actor=admin_user, name="Killed", tracking_uri=proxy.url, timeout_seconds=30)
    job = job_create(kind="mlops.sync_connection", params={"connection": conn.pk})
    queue = f"mlops-test-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    sender = Celery(broker=broker)
    sender.conf.broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}
    first = _start_worker(queue, broker, log_path)
    second = None
    try:
        # when the task is sent, the worker starts it and is killed with SIGKILL while reading runs
        sender.send_task("mlops.sync_connection", args=[conn.pk, job.pk, True], queue=queue)
        _wait(lambda: Job.objects.get(pk=job.pk).status == JobStatus.RUNNING and any(
            "runs/search" in path for path in proxy.requests), 90, "the sync to start", first, log_path)
        _kill(first)
        assert Run.objects.filter(connection=conn).count() == 0  # nothing committed mid-sync
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING

        # and a worker is started again once the task's visibility timeout has passed
        proxy.delay = 0
        time.sleep(VISIBILITY_TIMEOUT + 1)
        second = _start_worker(queue, broker, log_path)
        _wait(lambda: Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED, 120, "the redelivered sync",
              second, log_path)
    finally:
        for worker in (first, second):
            if worker is not None:
                _kill(worker, signal.SIGTERM)
        sender.close()

    # then the same task was delivered twice (late ack: the killed worker never acknowledged it) ...
    assert log_path.read_text().count("Task mlops.sync_connection[") >= 2
    # ... and the redelivered task completed the sync: every server run once, no duplicates ...
    upstream = server_runs(mlflow_client)
    assert Run.objects.filter(connection=conn).count() == len(upstream)
    assert Run.objects.filter(connection=conn).values("run_id").distinct().count() == len(upstream)
    # ... and the state is exactly that of an uninterrupted sync: a full reconcile now changes nothing
    before = row_versions()
    result = mlflow_sync(connection_id=conn.pk, full=True)
    assert result.counts.changed is False, result.counts
    assert row_versions() == before
