"""Writes for Job: every long task reports its progress through these."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.choices import JobStatus
from apps.core.models import Job


@transaction.atomic
def job_create(*, kind: str, params: dict[str, Any] | None = None, requested_by=None, total: int | None = None) -> Job:
    """Create a queued Job; the caller enqueues the task that runs it (on commit)."""
    return Job.objects.create(kind=kind, params=params or {}, requested_by=requested_by, progress_total=total)


def job_start(*, job_id: int, total: int | None = None, message: str = "") -> None:
    """Mark a job running (idempotent: a retried task starts it again from zero)."""
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), progress_done=0, progress_total=total, message=message,
        error="",
    )


def job_progress(*, job_id: int, done: int | None = None, advance: int = 0, total: int | None = None,
                 message: str | None = None) -> None:
    """Record progress; runs outside the task's transaction so pollers see it at once."""
    values: dict[str, Any] = {}
    if done is not None:
        values["progress_done"] = done
    elif advance:
        values["progress_done"] = F("progress_done") + advance
    if total is not None:
        values["progress_total"] = total
    if message is not None:
        values["message"] = message[:255]
    if values:
        Job.objects.filter(pk=job_id).update(**values)


def job_succeed(*, job_id: int, result: dict[str, Any] | None = None, message: str = "Done") -> None:
    """Mark a job finished successfully with its result."""
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(), result=result or {}, message=message,
        # a job that never learnt its total ends at 100% of what it did
        progress_total=Coalesce(F("progress_total"), F("progress_done")),
        progress_done=Coalesce(F("progress_total"), F("progress_done")),
    )


def job_fail(*, job_id: int, error: str) -> None:
    """Mark a job failed with a readable error."""
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED, finished_at=timezone.now(), error=error, message="Failed"
    )
