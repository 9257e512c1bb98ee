"""The compliance audit: opens findings for failing checks that matter, refreshes and resolves them, reopens them,
updates automatic requirement results, and runs as a Celery task with progress in a Job."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.compliance.choices import FindingStatus, ResultStatus
from apps.compliance.models import Finding, Framework, RequirementResult
from apps.compliance.services import assessment_start, compliance_audit_run, result_set
from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.portfolio.services import initiative_update
from tests.compliance.helpers import move, pilot_ready
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


def findings(initiative) -> dict[str, str]:
    return dict(Finding.objects.filter(initiative=initiative).values_list("check_code", "status"))


@pytest.fixture
def pilot(unit_a, lead_a):
    return move(lead_a, pilot_ready(lead_a, unit_a), "pilot")


def test_the_audit_opens_findings_for_failing_checks_that_apply(pilot, lead_a):
    # given a pilot with owner, sponsor, KPI and classification but no MLOps data, costs or data assets
    # when the nightly audit runs
    summary = compliance_audit_run()

    # then each failing check named by an applicable requirement is an open finding with its severity and reason
    rows = {f.check_code: f for f in Finding.objects.filter(initiative=pilot)}
    assert set(rows) == {"model_versioned", "monitoring_active", "model_card_present", "lineage_logged",
                         "costs_allocated"}
    assert rows["monitoring_active"].severity == "high"
    assert rows["costs_allocated"].severity == "low"
    assert rows["monitoring_active"].message == "No active monitoring rule: add one on a quality or drift metric."
    assert all(f.status == FindingStatus.OPEN and f.first_seen == f.last_seen for f in rows.values())
    assert (summary.opened, summary.resolved, summary.initiatives) == (5, 0, 1)


def test_a_failing_check_opens_a_finding_only_where_an_applicable_requirement_names_it(unit_a, lead_a):
    # given an idea without a KPI: the KPI check fails, but the requirements naming it apply from discovery on
    initiative = make_initiative(actor=lead_a, unit=unit_a, sponsor=lead_a)
    compliance_audit_run()
    # then only the checks that matter for an idea are findings: classification (EU AI Act Art. 5 and 6 apply in
    # every stage); no KPI, model-card or cost finding yet
    assert findings(initiative) == {"classification_done": FindingStatus.OPEN}

    # when it moves to discovery, the KPI and cost checks start to matter
    move(lead_a, initiative, "discovery")
    compliance_audit_run()
    assert {"kpi_baseline_target", "costs_allocated", "model_card_present"} <= set(findings(initiative))


def test_the_audit_resolves_a_finding_when_the_facts_change_and_reopens_it(unit_a, lead_a):
    # given an open finding: no executive sponsor
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    start = timezone.now() - timedelta(days=2)
    compliance_audit_run(now=start)
    assert findings(initiative)["owner_sponsor_set"] == FindingStatus.OPEN

    # when a sponsor is named and the audit runs the next night
    initiative_update(actor=lead_a, initiative=initiative, sponsor=lead_a)
    summary = compliance_audit_run(now=start + timedelta(days=1))

    # then the finding is resolved; it was last seen the night before
    finding = Finding.objects.get(initiative=initiative, check_code="owner_sponsor_set")
    assert (finding.status, finding.resolved_at, finding.last_seen) == ("resolved", start + timedelta(days=1), start)
    assert summary.resolved == 1

    # when the sponsor leaves again, the next run reopens it as a new episode
    initiative_update(actor=lead_a, initiative=initiative, sponsor=None)
    summary = compliance_audit_run(now=start + timedelta(days=2))
    finding.refresh_from_db()
    assert (finding.status, finding.first_seen, finding.resolved_at) == ("open", start + timedelta(days=2), None)
    assert summary.reopened == 1


def test_a_second_run_on_the_same_facts_writes_nothing_to_the_trail(unit_a, lead_a):
    # given an audited portfolio
    for index in range(3):
        make_initiative(actor=lead_a, unit=unit_a, name=f"I{index}")
    first = compliance_audit_run()
    opened = Finding.objects.filter(status="open").count()
    assert first.opened == opened > 0
    events = AuditEvent.objects.count()

    # when the audit runs again the next night
    second = compliance_audit_run(now=timezone.now() + timedelta(days=1))

    # then the open findings were seen again (last_seen moved) without a single trail event
    assert (second.opened, second.still_open, second.resolved) == (0, opened, 0)
    assert AuditEvent.objects.count() == events
    assert all(f.last_seen > f.first_seen for f in Finding.objects.all())


def test_opening_and_resolving_findings_is_audited(unit_a, lead_a):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    compliance_audit_run()
    initiative_update(actor=lead_a, initiative=initiative, sponsor=lead_a)
    compliance_audit_run()
    sponsor = Finding.objects.get(initiative=initiative, check_code="owner_sponsor_set")
    actions = list(AuditEvent.objects.filter(table_name="compliance_finding", object_pk=str(sponsor.pk))
                   .order_by("seq").values_list("action", "after__status", "initiative_id"))
    assert actions == [("insert", "open", initiative.pk), ("update", "resolved", initiative.pk)]


def test_findings_of_cancelled_initiatives_are_resolved(unit_a, lead_a):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    compliance_audit_run()
    assert FindingStatus.OPEN in findings(initiative).values()
    move(lead_a, initiative, "cancelled")
    compliance_audit_run()
    assert set(findings(initiative).values()) == {FindingStatus.RESOLVED}


def test_the_audit_updates_automatic_results_and_leaves_manual_ones(pilot, lead_a):
    # given a NIST assessment: GOVERN-2.1 is proven by the owner/sponsor check, GOVERN-2.2 is manual
    nist = Framework.objects.get(slug="nist-ai-rmf")
    assessment = assessment_start(actor=lead_a, initiative=pilot, framework=nist)
    result = assessment.results.get(requirement__code="GOVERN-2.1")
    manual = assessment.results.get(requirement__code="GOVERN-2.2")
    result_set(actor=lead_a, result=manual, status=ResultStatus.PARTIAL, note="Training planned for Q1.")
    assert (result.automatic, manual.automatic) == (True, False)
    result.refresh_from_db()
    assert result.status == ResultStatus.COMPLIANT  # evaluated when the assessment started

    # when the sponsor leaves and the audit runs
    initiative_update(actor=lead_a, initiative=pilot, sponsor=None)
    summary = compliance_audit_run()

    # then the automatic result turns non-compliant and the manual one is untouched
    assert RequirementResult.objects.get(pk=result.pk).status == ResultStatus.NON_COMPLIANT
    assert RequirementResult.objects.get(pk=manual.pk).status == ResultStatus.PARTIAL
    assert summary.results_updated >= 1


def test_the_audit_task_runs_in_a_worker_and_reports_progress_in_a_job(transactional_db, settings):
    """A real Celery worker (in-process, memory broker) runs compliance.run_audit against committed data."""
    from celery.contrib.testing.worker import start_worker

    from apps.accounts.choices import GlobalRole
    from apps.compliance.services import compliance_audit_request
    from portal.celery import app
    from tests.factories import make_unit, make_user

    unit = make_unit("Audit unit")
    officer = make_user(role=GlobalRole.COMPLIANCE_OFFICER, username="officer_worker")
    initiative = make_initiative(actor=make_user(role=GlobalRole.PORTFOLIO_ADMIN, username="admin_worker"), unit=unit,
                                 name="Checked by the worker")
    previous = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "broker_transport_options")}
    app.conf.update(broker_url="memory://", task_always_eager=False, broker_transport_options={})
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=["default"], shutdown_timeout=30):
            job = compliance_audit_request(actor=officer)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.2)
    finally:
        app.conf.update(**previous)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["opened"] >= 1 and job.progress_done == job.progress_total
    assert Job.objects.filter(kind="compliance.audit").count() == 1
    assert findings(initiative)["owner_sponsor_set"] == FindingStatus.OPEN
