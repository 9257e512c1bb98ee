"""The compliance audit: run every automated check over the portfolio (nightly, or on demand for one initiative),
open, refresh, reopen and resolve Findings, and update the requirement results marked automatic.

Built for 10,000+ initiatives: one query per check across all initiatives (apps.compliance.checks), one query for
which checks matter to which initiative (a check matters when an applicable requirement names it), one query for the
existing findings, then a handful of set-based writes (INSERT ... ON CONFLICT over arrays, UPDATE ... = ANY(array)).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.compliance.applicability import applicable_sql
from apps.compliance.checks import REGISTRY
from apps.compliance.choices import FindingStatus, ResultStatus
from apps.compliance.models import Finding
from apps.compliance.permissions import require_initiative_compliance_write
from apps.compliance.posture import posture_refresh
from apps.compliance.services.assessments import assessments_sync_results
from apps.core.models import Job
from apps.core.services import job_create, job_progress, job_start, job_succeed
from apps.portfolio.choices import TERMINAL_STAGES
from apps.portfolio.models import Initiative

logger = logging.getLogger(__name__)

AUDIT_JOB_KIND = "compliance.audit"
_LOCK = 7_310_061  # advisory lock: one full audit at a time


@dataclass
class AuditSummary:
    initiatives: int = 0
    checks_run: int = 0
    failures: int = 0
    opened: int = 0
    reopened: int = 0
    still_open: int = 0
    resolved: int = 0
    results_updated: int = 0
    skipped: bool = False


_RELEVANT_SQL = f"""
    SELECT DISTINCT i.id, c.code
    FROM portfolio_initiative i
    JOIN compliance_requirement r ON cardinality(r.checks) > 0
    JOIN compliance_framework f ON f.id = r.framework_id
    CROSS JOIN LATERAL unnest(r.checks) AS c(code)
    WHERE {applicable_sql()} AND i.stage <> ALL(%s) {{where}}
"""

_UPSERT_SQL = """
    INSERT INTO compliance_finding (initiative_id, check_code, severity, status, message, first_seen, last_seen)
    SELECT t.initiative_id, t.check_code, t.severity, 'open', t.message, %(now)s, %(now)s
    FROM unnest(%(ids)s::bigint[], %(codes)s::varchar[], %(severities)s::varchar[], %(messages)s::varchar[])
        AS t(initiative_id, check_code, severity, message)
    ON CONFLICT (initiative_id, check_code) DO UPDATE SET
        status = 'open',
        severity = EXCLUDED.severity,
        message = EXCLUDED.message,
        last_seen = EXCLUDED.last_seen,
        first_seen = CASE WHEN compliance_finding.status = 'open' THEN compliance_finding.first_seen
                          ELSE EXCLUDED.first_seen END,
        resolved_at = NULL
"""

_RESULTS_SQL = """
    WITH failing AS (
        SELECT DISTINCT t.initiative_id, t.code
        FROM unnest(%(fail_ids)s::bigint[], %(fail_codes)s::varchar[]) AS t(initiative_id, code)
    ),
    computed AS (
        SELECT rr.id, bool_or(fl.initiative_id IS NOT NULL) AS fails
        FROM compliance_requirementresult rr
        JOIN compliance_requirement r ON r.id = rr.requirement_id
        JOIN portfolio_initiative i ON i.id = rr.initiative_id AND i.stage <> ALL(%(terminal)s::varchar[])
        CROSS JOIN LATERAL unnest(r.checks) AS c(code)
        LEFT JOIN failing fl ON fl.initiative_id = rr.initiative_id AND fl.code = c.code
        WHERE rr.automatic AND (%(evaluated)s::bigint[] IS NULL OR rr.initiative_id = ANY(%(evaluated)s::bigint[]))
        GROUP BY rr.id
    )
    UPDATE compliance_requirementresult rr
    SET status = CASE WHEN c.fails THEN %(non_compliant)s ELSE %(compliant)s END, updated_at = %(now)s,
        updated_by_id = NULL, reviewed_by_id = NULL, reviewed_at = NULL, review_comment = ''
    FROM computed c
    WHERE rr.id = c.id AND rr.status IS DISTINCT FROM (CASE WHEN c.fails THEN %(non_compliant)s ELSE %(compliant)s END)
"""


def _relevant_pairs(initiative_ids: list[int] | None) -> set[tuple[int, str]]:
    where, params = ("AND i.id = ANY(%s)", [initiative_ids]) if initiative_ids is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(_RELEVANT_SQL.format(where=where), [list(TERMINAL_STAGES), *params])
        return {(initiative_id, code) for initiative_id, code in cursor.fetchall()}


def compliance_audit_run(*, initiative_ids: list[int] | None = None, job_id: int | None = None,
                         now: datetime | None = None) -> AuditSummary:
    """Run every automated check and reconcile findings and automatic results, for the whole portfolio or the given
    initiatives. Idempotent: running it twice with the same facts changes nothing the second time. A full run holds
    an advisory lock and is skipped (skipped=True) if another full run is in progress."""
    now = now or timezone.now()
    summary = AuditSummary()
    full = initiative_ids is None
    if full:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK])
            if not cursor.fetchone()[0]:
                summary.skipped = True
                return summary
    try:
        _run(summary, initiative_ids, job_id, now)
    finally:
        if full:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK])
    return summary


def _run(summary: AuditSummary, initiative_ids: list[int] | None, job_id: int | None, now: datetime) -> None:
    scope = Initiative.objects.all() if initiative_ids is None else Initiative.objects.filter(pk__in=initiative_ids)
    evaluated = scope.exclude(stage__in=TERMINAL_STAGES)
    if job_id:
        job_start(job_id=job_id, total=len(REGISTRY) + 2, message="Finding which checks apply")
    relevant = _relevant_pairs(initiative_ids)
    if job_id:
        job_progress(job_id=job_id, advance=1, message="Running checks")

    evaluated_ids: set[int] = set()
    failing_all: list[tuple[int, str]] = []
    failing_relevant: dict[tuple[int, str], tuple[str, str]] = {}
    for code, check in REGISTRY.items():
        for initiative_id, passed, reason in check.run(evaluated):
            evaluated_ids.add(initiative_id)
            if passed:
                continue
            failing_all.append((initiative_id, code))
            if (initiative_id, code) in relevant:
                failing_relevant[(initiative_id, code)] = (check.severity, reason[:500])
        summary.checks_run += 1
        if job_id:
            job_progress(job_id=job_id, advance=1, message=f"Checked: {check.title}")
    summary.initiatives = len(evaluated_ids)
    summary.failures = len(failing_all)

    existing = Finding.objects.all() if initiative_ids is None else Finding.objects.filter(
        initiative_id__in=initiative_ids)
    state = {(initiative_id, code): (pk, status)
             for pk, initiative_id, code, status in existing.values_list("id", "initiative_id", "check_code", "status")}
    to_resolve = [pk for key, (pk, status) in state.items()
                  if status == FindingStatus.OPEN and key not in failing_relevant]
    for key in failing_relevant:
        previous = state.get(key)
        if previous is None:
            summary.opened += 1
        elif previous[1] == FindingStatus.RESOLVED:
            summary.reopened += 1
        else:
            summary.still_open += 1
    summary.resolved = len(to_resolve)

    with transaction.atomic():
        if job_id:
            job_progress(job_id=job_id, message="Recording findings")
        keys = list(failing_relevant)
        with connection.cursor() as cursor:
            if keys:
                cursor.execute(_UPSERT_SQL, {
                    "now": now, "ids": [k[0] for k in keys], "codes": [k[1] for k in keys],
                    "severities": [failing_relevant[k][0] for k in keys],
                    "messages": [failing_relevant[k][1] for k in keys],
                })
            if to_resolve:
                cursor.execute(
                    "UPDATE compliance_finding SET status = %s, resolved_at = %s WHERE id = ANY(%s::bigint[])",
                    [FindingStatus.RESOLVED, now, to_resolve],
                )
        assessments_sync_results(initiative_ids=initiative_ids)
        with connection.cursor() as cursor:
            cursor.execute(_RESULTS_SQL, {
                "fail_ids": [k[0] for k in failing_all], "fail_codes": [k[1] for k in failing_all],
                "evaluated": sorted(evaluated_ids) if initiative_ids is not None else None, "now": now,
                "terminal": list(TERMINAL_STAGES),
                "compliant": ResultStatus.COMPLIANT, "non_compliant": ResultStatus.NON_COMPLIANT,
            })
            summary.results_updated = cursor.rowcount
        posture_refresh(initiative_ids=initiative_ids)
    if job_id:
        job_succeed(job_id=job_id, result=asdict(summary),
                    message=f"{summary.opened + summary.reopened} opened, {summary.resolved} resolved")
    logger.info("Compliance audit: %s", asdict(summary))


def compliance_audit_request(*, actor: User | None, initiative: Initiative | None = None) -> Job:
    """Queue an audit (one initiative, or the portfolio for compliance writers); the worker runs it after commit."""
    from apps.compliance.permissions import require_compliance_writer

    if initiative is not None:
        require_initiative_compliance_write(actor, initiative, "run its compliance checks")
        params = {"initiative_id": initiative.pk, "initiative": initiative.key}
    else:
        require_compliance_writer(actor, "run the portfolio-wide compliance audit")
        params = {}
    job = job_create(kind=AUDIT_JOB_KIND, params=params, requested_by=actor)

    def enqueue() -> None:
        from workers.tasks.compliance import run_audit

        run_audit.delay(job_id=job.pk, initiative_id=params.get("initiative_id"))

    transaction.on_commit(enqueue)
    return job


def compliance_audit_now(*, actor: User, initiative: Initiative) -> AuditSummary:
    """Run the automated checks for one initiative right away (a few dozen queries) and record its findings."""
    require_initiative_compliance_write(actor, initiative, "run its compliance checks")
    return compliance_audit_run(initiative_ids=[initiative.pk])
