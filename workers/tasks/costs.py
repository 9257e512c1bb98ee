"""Cloud cost tasks: run an import (files or an API pull), pull sources daily, recover stalled imports, re-allocate.

Thin adapters: they take ids and call one service. All are idempotent: an import replaces its source's rows for
the periods it covers, a finished import is left alone, and a second runner of the same import returns at once; so a
redelivered message (late acks, a killed worker) converges on the same data.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError)


BUSY_RETRY_SECONDS = 15


@shared_task(
    bind=True, name="costs.run_import", queue="integrations", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=TRANSIENT, retry_backoff=30, retry_jitter=True, max_retries=8,
    time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60,
)
def run_import(self, import_id: int) -> str | None:
    """Import one cost import's files or API pull (stage, validate, swap); progress goes to its Job.

    When another session still holds the import (a live worker, or the database session of a killed one that has not
    ended yet), try again shortly: a finished import is then left alone.
    """
    from apps.costs.services import cost_import_run

    cost_import = cost_import_run(import_id=import_id)
    if cost_import is None:
        raise self.retry(countdown=BUSY_RETRY_SECONDS)
    return cost_import.status


@shared_task(
    name="costs.pull_all_sources", queue="integrations", acks_late=True, autoretry_for=TRANSIENT,
    retry_backoff=60, max_retries=3, time_limit=600, soft_time_limit=540,
)
def pull_all_sources() -> dict:
    """The daily pull: queue an import for every enabled source with something new."""
    from apps.costs.services import cost_sources_pull_all

    return {str(source): imports for source, imports in cost_sources_pull_all().items()}


@shared_task(
    name="costs.recover_stalled_imports", queue="integrations", acks_late=True, autoretry_for=TRANSIENT,
    max_retries=3, time_limit=300, soft_time_limit=270,
)
def recover_stalled_imports() -> list[int]:
    """Queue again imports whose worker died or whose message was lost."""
    from apps.costs.services import cost_imports_recover_stalled

    return cost_imports_recover_stalled()


@shared_task(
    name="costs.reallocate", queue="integrations", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=TRANSIENT, retry_backoff=30, retry_jitter=True, max_retries=5,
    time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60,
)
def reallocate(job_id: int) -> dict:
    """Re-allocate all cost history to the current rules and rebuild the daily rollup."""
    from apps.costs.services import cost_reallocate_run

    return cost_reallocate_run(job_id=job_id)
