"""Imports in a real Celery worker process: SIGKILL in the middle of the swap (line items written, not committed)
leaves no partial rows, and the redelivered task (late acks) completes the import exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from celery import Celery
from django.db import connection as db
from django.db.models import Sum

from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.costs.choices import ImportStatus
from apps.costs.models import CostDaily, CostImport, CostRecord
from apps.costs.services import cost_import_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

VISIBILITY_TIMEOUT = 4  # seconds before an unacknowledged task is handed to another worker
ROWS = 400_000
HEADER = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName," \
         "ServiceName,ResourceId,Tags\n"


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
    return "redis://127.0.0.1:6379/12"


def _database_url() -> str:
    s = db.settings_dict
    host, port, password = s["HOST"] or "127.0.0.1", s["PORT"] or 5432, s.get("PASSWORD") or ""
    if host.startswith("/"):  # the embedded server listens on a unix socket
        return f"postgresql://{s['USER']}:{password}@/{s['NAME']}?host={host}&port={port}"
    return f"postgresql://{s['USER']}:{password}@{host}:{port}/{s['NAME']}"


def _start_worker(queue: str, broker: str, log_path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker,
           "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo", "-Q", queue, "-l", "info",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{queue}@%h"],
        env=env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )


def _kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        process.wait(30)


def _wait(predicate, timeout: float, what: str, worker: subprocess.Popen | None, log_path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"worker exited ({worker.returncode}) waiting for {what}:\n"
                                 f"{log_path.read_text()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n{log_path.read_text()[-3000:]}")


def _waiting_on_lock() -> int:
    """Sessions waiting for a lock (the worker's swap, blocked by the test)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'costs_costdaily'::regclass")
        return cursor.fetchone()[0]


def _write_big_file(path) -> Decimal:
    """400,000 daily lines over 28 days; returns their total effective cost."""
    total = Decimal(0)
    tags = ['"{""pilotlight-initiative"": ""AI-00' + str(key) + '""}"' for key in (1, 2, 3)]
    with open(path, "w") as handle:
        handle.write(HEADER)
        for index in range(ROWS):
            day = 1 + index % 28
            amount = Decimal(index % 997) / 100
            total += amount
            handle.write(f"2025-02-{day:02d}T00:00:00Z,2025-02-{day:02d}T23:59:59Z,{amount},{amount},EUR,Usage,AWS,"
                         f"Amazon S3,res-{index % 300},{tags[index % 3]}\n")
    return total


def test_a_worker_killed_while_writing_leaves_nothing_and_the_redelivered_import_completes(
        admin_user, initiatives, focus_source, tmp_path):
    broker = _redis_url()
    if broker is None:
        pytest.skip("needs Redis (CELERY_BROKER_URL or 127.0.0.1:6379): the filesystem transport cannot redeliver")
    # given an accepted import of a 400,000-line file
    path = tmp_path / "big.csv"
    expected = _write_big_file(path)
    cost_import = cost_import_create(actor=admin_user, source=focus_source, paths=[path], enqueue=False)
    queue = f"costs-test-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    sender = Celery(broker=broker)
    sender.conf.broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}
    first = _start_worker(queue, broker, log_path)
    second = None
    # Hold the daily rollup table, so the worker's swap stops right after writing its 400,000 line items (still
    # uncommitted) and waits there: the kill lands mid-transaction, deterministically.
    blocker = psycopg.connect(_database_url())
    blocker.execute("LOCK TABLE costs_costdaily IN EXCLUSIVE MODE")
    try:
        # when a worker runs it and is killed with SIGKILL in the middle of the swap
        sender.send_task("costs.run_import", args=[cost_import.pk], queue=queue)
        job = cost_import.job
        _wait(lambda: Job.objects.get(pk=job.pk).message == "Updating the daily rollup", 180,
              "the swap to write its line items", first, log_path)
        _wait(lambda: _waiting_on_lock() > 0, 60, "the swap to wait for the rollup table", first, log_path)
        _kill(first)
        blocker.rollback()

        # then nothing of it is visible: no line items, no rollup, the import still marked running
        assert CostRecord.objects.count() == 0
        assert CostDaily.objects.count() == 0
        assert CostImport.objects.get(pk=cost_import.pk).status == ImportStatus.RUNNING

        # and when a worker is back after the visibility timeout, the broker redelivers the task
        time.sleep(VISIBILITY_TIMEOUT + 1)
        second = _start_worker(queue, broker, log_path)
        _wait(lambda: CostImport.objects.get(pk=cost_import.pk).status == ImportStatus.SUCCEEDED, 300,
              "the redelivered import", second, log_path)
    finally:
        blocker.close()
        for worker in (first, second):
            if worker is not None:
                _kill(worker, signal.SIGTERM)
        sender.close()

    # then the import completed once: every line exactly once, totals equal the file's
    cost_import.refresh_from_db()
    assert (cost_import.rows_imported, cost_import.attempts) == (ROWS, 2)
    assert CostRecord.objects.count() == ROWS
    assert CostRecord.objects.aggregate(total=Sum("effective_cost"))["total"] == expected
    assert CostDaily.objects.aggregate(total=Sum("cost"))["total"] == expected
    assert Job.objects.get(pk=cost_import.job_id).status == JobStatus.SUCCEEDED
    assert log_path.read_text().count("Task costs.run_import[") >= 2
