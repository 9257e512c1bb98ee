"""Writes for MLflow connections (portfolio admins only), and the jobs that test and sync them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.accounts.selectors import user_access_scope
from apps.core.models import Job
from apps.core.services import job_create, job_fail, job_start, job_succeed
from apps.integrations import mlflow as wire
from apps.mlops import crypto
from apps.mlops.choices import AuthType
from apps.mlops.models import MLflowConnection, SyncState

CONNECTION_FIELDS = ("name", "tracking_uri", "auth_type", "username", "verify_tls", "timeout_seconds", "enabled")
JOB_SYNC = "mlops.sync_connection"
JOB_TEST = "mlops.test_connection"


def _require_admin(actor) -> None:
    if not user_access_scope(user=actor).write_all:
        raise PermissionDenied("Only portfolio admins manage MLflow connections.")


def _validate(values: dict[str, Any], *, has_secret: bool, instance: MLflowConnection | None) -> None:
    errors: dict[str, str] = {}
    try:
        wire.base_url(values["tracking_uri"])
    except wire.MlflowRequestError as exc:
        errors["tracking_uri"] = exc.message
    auth = values["auth_type"]
    if auth == AuthType.BASIC and not values.get("username"):
        errors["username"] = "Basic authentication needs a username."
    if auth != AuthType.NONE and not has_secret:
        errors["secret"] = {
            AuthType.BASIC: "Basic authentication needs a password.",
            AuthType.BEARER: "Bearer authentication needs a token.",
            AuthType.DATABRICKS: "Databricks needs a personal access token.",
        }[auth]
    if auth == AuthType.DATABRICKS and values["tracking_uri"].startswith("http://"):
        errors["tracking_uri"] = "Databricks workspaces are served over HTTPS."
    duplicate = MLflowConnection.objects.filter(name=values["name"])
    if instance is not None:
        duplicate = duplicate.exclude(pk=instance.pk)
    if duplicate.exists():
        errors["name"] = f"A connection named “{values['name']}” already exists."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def connection_create(*, actor, name: str, tracking_uri: str, auth_type: str = AuthType.NONE, username: str = "",
                      secret: str = "", verify_tls: bool = True, timeout_seconds: int = 10,
                      enabled: bool = True) -> MLflowConnection:
    """Register a tracking server; the secret is encrypted before it is stored and never shown again."""
    _require_admin(actor)
    values = {"name": name.strip(), "tracking_uri": tracking_uri.strip().rstrip("/"), "auth_type": auth_type,
              "username": username.strip(), "verify_tls": verify_tls, "timeout_seconds": timeout_seconds,
              "enabled": enabled}
    _validate(values, has_secret=bool(secret), instance=None)
    connection = MLflowConnection.objects.create(
        **values, secret_encrypted=crypto.encrypt(secret) if auth_type != AuthType.NONE else "",
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    SyncState.objects.create(connection=connection)
    return connection


@transaction.atomic
def connection_update(*, actor, connection: MLflowConnection, secret: str | None = None,
                      **changes: Any) -> MLflowConnection:
    """Change a connection's settings. `secret=None` (or empty) keeps the stored secret; a new one replaces it."""
    _require_admin(actor)
    unknown = set(changes) - set(CONNECTION_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    values = {name: getattr(connection, name) for name in CONNECTION_FIELDS}
    values.update({k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items()})
    values["tracking_uri"] = values["tracking_uri"].rstrip("/")
    keeps_secret = connection.has_secret and not secret
    _validate(values, has_secret=bool(secret) or keeps_secret, instance=connection)
    for name, value in values.items():
        setattr(connection, name, value)
    update_fields = [*CONNECTION_FIELDS, "updated_at"]
    if values["auth_type"] == AuthType.NONE:
        connection.secret_encrypted = ""
        update_fields.append("secret_encrypted")
    elif secret:
        connection.secret_encrypted = crypto.encrypt(secret)
        update_fields.append("secret_encrypted")
    connection.save(update_fields=update_fields)
    return connection


@transaction.atomic
def connection_delete(*, actor, connection: MLflowConnection) -> None:
    """Remove a connection with everything synced from it (explicit links included)."""
    _require_admin(actor)
    connection.delete()


def connection_config(connection: MLflowConnection) -> wire.MlflowConfig:
    """The wire configuration of a connection, with its secret decrypted (workers only; never rendered)."""
    from django.conf import settings

    try:
        secret = crypto.decrypt(connection.secret_encrypted)
    except crypto.SecretUnreadable as exc:
        raise wire.MlflowAuthError(str(exc)) from exc
    return wire.MlflowConfig(
        tracking_uri=connection.tracking_uri, auth_type=connection.auth_type, username=connection.username,
        secret=secret, verify_tls=connection.verify_tls, timeout=float(connection.timeout_seconds),
        retries=int(getattr(settings, "MLFLOW_REQUEST_RETRIES", 2)),
        backoff=float(getattr(settings, "MLFLOW_REQUEST_BACKOFF_SECONDS", 0.5)),
    )


@transaction.atomic
def connection_sync_request(*, actor, connection: MLflowConnection, full: bool = False) -> Job:
    """Queue a sync of one connection now; returns the Job to poll. The task is sent when the transaction commits."""
    _require_admin(actor)
    return _enqueue_sync(connection=connection, full=full, requested_by=actor)


def _enqueue_sync(*, connection: MLflowConnection, full: bool, requested_by=None) -> Job:
    from workers.tasks.mlops import INTEGRATIONS_QUEUE, sync_connection

    job = job_create(kind=JOB_SYNC, params={"connection": connection.pk, "full": full},
                     requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None)
    SyncState.objects.filter(pk=connection.pk).update(last_job=job)
    transaction.on_commit(lambda: sync_connection.apply_async((connection.pk, job.pk, full), queue=INTEGRATIONS_QUEUE))
    return job


@transaction.atomic
def connections_sync_due() -> list[Job]:
    """Queue a sync of every enabled connection that has no sync queued or running (the beat schedule)."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.choices import JobStatus

    jobs = []
    recent = timezone.now() - timedelta(hours=1)
    for connection in MLflowConnection.objects.filter(enabled=True).select_related("state__last_job"):
        state = getattr(connection, "state", None)
        last = state.last_job if state is not None else None
        if last is not None and last.status in (JobStatus.QUEUED, JobStatus.RUNNING) and last.created_at > recent:
            continue
        jobs.append(_enqueue_sync(connection=connection, full=False))
    return jobs


@transaction.atomic
def connection_test_request(*, actor, connection: MLflowConnection) -> Job:
    """Queue a connection test (workers talk to MLflow, web requests never do); returns the Job to poll."""
    from workers.tasks.mlops import INTEGRATIONS_QUEUE, test_connection

    _require_admin(actor)
    job = job_create(kind=JOB_TEST, params={"connection": connection.pk}, requested_by=actor)
    transaction.on_commit(lambda: test_connection.apply_async((connection.pk, job.pk), queue=INTEGRATIONS_QUEUE))
    return job


def connection_test(*, connection_id: int, job_id: int | None = None) -> wire.ServerCheck:
    """Talk to the server once: authenticate and list an experiment. Records the outcome on the Job."""
    connection = MLflowConnection.objects.get(pk=connection_id)
    if job_id:
        job_start(job_id=job_id, total=1, message=f"Testing {connection.tracking_uri}")
    try:
        with wire.MlflowRestClient(connection_config(connection)) as client:
            check = client.check()
    except wire.MlflowError as exc:
        check = wire.ServerCheck(ok=False, message=exc.message)
        if job_id:
            job_fail(job_id=job_id, error=exc.message)
        return check
    if check.version:
        SyncState.objects.filter(pk=connection_id).update(server_version=check.version[:40])
    if job_id:
        job_succeed(job_id=job_id, message=check.message, result={
            "ok": True, "version": check.version, "latency_ms": check.latency_ms,
            "experiments_visible": check.experiments_visible,
        })
    return check
