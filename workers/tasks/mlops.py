"""MLflow tasks: sync a connection, queue the scheduled syncs, test a connection, email a new alert.

Thin adapters: they take ids and call one service. Late acks (settings) make delivery at-least-once; the sync is
idempotent (natural-key upserts, a lock per connection, watermarks committed with the data), so a redelivered or
retried task converges on the same state.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.integrations.mlflow import MlflowServerError, MlflowUnreachable

# Queues are chosen when a task is sent (the `queue` task attribute is deprecated in Celery 5.7): MLflow work goes to
# "integrations", so a slow tracking server cannot starve report emails; alert emails go to "default".
INTEGRATIONS_QUEUE = "integrations"
MAIL_QUEUE = "default"
MAX_RETRIES = int(getattr(settings, "MLFLOW_TASK_MAX_RETRIES", 5))
BACKOFF = int(getattr(settings, "MLFLOW_RETRY_BACKOFF_SECONDS", 15))
SYNC_TIME_LIMIT = int(getattr(settings, "MLFLOW_SYNC_TIME_LIMIT", 3000))


@shared_task(
    bind=True, name="mlops.sync_connection", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(MlflowUnreachable, MlflowServerError), retry_backoff=BACKOFF, retry_backoff_max=600,
    retry_jitter=True, max_retries=MAX_RETRIES, time_limit=SYNC_TIME_LIMIT + 60, soft_time_limit=SYNC_TIME_LIMIT,
)
def sync_connection(self, connection_id: int, job_id: int | None = None, full: bool | None = None) -> dict:
    """Pull one MLflow connection into the database; transient MLflow errors are retried with backoff."""
    from apps.mlops.services import mlflow_sync

    final = self.request.retries >= (self.max_retries or 0)
    return mlflow_sync(connection_id=connection_id, job_id=job_id, full=full, final_attempt=final).as_dict()


@shared_task(name="mlops.sync_due_connections", acks_late=True, time_limit=120, soft_time_limit=110)
def sync_due_connections() -> int:
    """Queue a sync of every enabled connection (the beat schedule runs this every 15 minutes)."""
    from apps.mlops.services import connections_sync_due

    return len(connections_sync_due())


@shared_task(name="mlops.test_connection", acks_late=True, time_limit=180, soft_time_limit=170)
def test_connection(connection_id: int, job_id: int | None = None) -> bool:
    """Talk to one connection's server once and record the outcome on the Job."""
    from apps.mlops.services import connection_test

    return connection_test(connection_id=connection_id, job_id=job_id).ok


@shared_task(name="mlops.notify_alert", acks_late=True, time_limit=120, soft_time_limit=110)
def notify_alert(alert_id: int) -> bool:
    """Email a newly opened alert to the initiative owner and the rule's recipients (once)."""
    from apps.mlops.services import alert_notify

    return alert_notify(alert_id=alert_id)
