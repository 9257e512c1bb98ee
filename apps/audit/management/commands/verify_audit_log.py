from django.core.management.base import BaseCommand, CommandError

from apps.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain; exit non-zero naming the first bad event. Prints the head hash."

    def handle(self, *args, **options) -> None:
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit trail broken at event #{report.first_bad_seq}: {report.problem}. "
                f"{report.events} event(s) before it verified (last good #{report.head_seq})."
            )
        self.stdout.write(f"Audit trail intact: {report.events} event(s) verified.")
        self.stdout.write(f"Head: #{report.head_seq} {report.head_hash or '(empty trail)'}")
