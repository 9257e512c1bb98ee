"""`manage.py run_compliance_audit [--initiative KEY]`: run the automated compliance checks in the foreground."""

from __future__ import annotations

import time
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.compliance.services import compliance_audit_run
from apps.compliance.services.audit import AUDIT_JOB_KIND
from apps.core.services import job_create
from apps.portfolio.models import Initiative


class Command(BaseCommand):
    help = ("Run every automated compliance check (the nightly audit) over the whole portfolio, or one initiative, "
            "and record findings; progress is recorded in a Job like the scheduled run.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--initiative", help="Key of one initiative (default: the whole portfolio).")

    def handle(self, *args, initiative: str | None = None, **options) -> None:
        ids = None
        if initiative:
            found = Initiative.objects.filter(key=initiative.strip().upper()).values_list("pk", flat=True).first()
            if found is None:
                raise CommandError(f"No initiative with the key {initiative}.")
            ids = [found]
        job = job_create(kind=AUDIT_JOB_KIND, params={"command": True, "initiative": initiative or ""})
        started = time.perf_counter()
        summary = compliance_audit_run(initiative_ids=ids, job_id=job.pk)
        if summary.skipped:
            raise CommandError("Another portfolio-wide compliance audit is running; try again when it has finished.")
        seconds = time.perf_counter() - started
        figures = asdict(summary)
        self.stdout.write(
            f"Checked {figures['initiatives']:,} initiatives with {figures['checks_run']} checks in {seconds:.1f} s: "
            f"{figures['opened']:,} findings opened, {figures['reopened']:,} reopened, {figures['resolved']:,} "
            f"resolved, {figures['still_open']:,} still open; {figures['results_updated']:,} automatic results "
            f"updated (job {job.pk})."
        )
