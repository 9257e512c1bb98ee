"""Compliance tasks: the nightly (and on-demand) compliance audit.

A thin adapter: it takes ids and calls one service. The audit is idempotent (findings are upserted on their natural
key, results updated only when they change), so a redelivered task (late acks) converges on the same state.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(
    name="compliance.run_audit", queue="default", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(OperationalError,), retry_backoff=30, retry_jitter=True, max_retries=3,
    time_limit=1800, soft_time_limit=1740,
)
def run_audit(job_id: int | None = None, initiative_id: int | None = None) -> dict:
    """Run the automated checks for one initiative, or for the whole portfolio (the nightly beat entry), and
    record findings; progress goes to the Job (one is created for scheduled runs)."""
    from dataclasses import asdict

    from apps.compliance.services import compliance_audit_run
    from apps.compliance.services.audit import AUDIT_JOB_KIND
    from apps.core.services import job_create, job_fail

    if job_id is None:
        job_id = job_create(kind=AUDIT_JOB_KIND, params={"scheduled": initiative_id is None}).pk
    try:
        summary = compliance_audit_run(initiative_ids=[initiative_id] if initiative_id else None, job_id=job_id)
    except Exception as exc:
        job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    if summary.skipped:
        job_fail(job_id=job_id, error="Another portfolio-wide audit was running; this one was skipped.")
    return asdict(summary)
