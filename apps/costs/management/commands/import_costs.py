"""Import FOCUS files or pull cloud cost sources from the command line.

    manage.py import_costs --source "AWS FOCUS export" exports/2025-01/*.parquet   # files, as one import, now
    manage.py import_costs --source 3 --pull [--start 2025-01-01 --end 2025-02-01]  # one source's pull, now
    manage.py import_costs --all                                                     # every enabled source, now
    manage.py import_costs --reallocate                                              # re-allocate all history
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.choices import GlobalRole
from apps.costs.choices import ImportStatus, SourceKind
from apps.costs.models import CostSource
from apps.costs.services import (
    can_manage_costs,
    cost_import_file,
    cost_import_run,
    cost_reallocate_run,
    cost_source_pull,
)


class Command(BaseCommand):
    help = "Import FOCUS cost files, pull AWS/Azure/FOCUS-folder sources, or re-allocate cost history (synchronously)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", type=Path, help="FOCUS files (CSV, .csv.gz, Parquet): one import.")
        parser.add_argument("--source", help="Cost source id or name.")
        parser.add_argument("--pull", action="store_true", help="Pull the source (API window or folder).")
        parser.add_argument("--all", action="store_true", help="Pull every enabled source.")
        parser.add_argument("--start", type=date.fromisoformat, help="First day of an API pull (YYYY-MM-DD).")
        parser.add_argument("--end", type=date.fromisoformat, help="Day after the last day of an API pull.")
        parser.add_argument("--reallocate", action="store_true", help="Re-allocate all cost history.")
        parser.add_argument("--user", help="Username recorded as the importer (default: the first superuser).")

    def handle(self, *args, **options) -> None:
        actor = self._actor(options.get("user"))
        if not can_manage_costs(actor):
            raise CommandError(f"{actor} may not import costs: use a portfolio admin (--user).")
        if options["reallocate"]:
            result = cost_reallocate_run(actor=actor)
            self.stdout.write(self.style.SUCCESS(f"Re-allocated: {result}"))
            return
        if options["all"]:
            sources = list(CostSource.objects.filter(enabled=True).exclude(kind=SourceKind.FOCUS, folder=""))
        elif options["source"]:
            sources = [self._source(options["source"])]
        else:
            raise CommandError("Name a --source (with files or --pull), or use --all or --reallocate.")
        failed = False
        if options["files"]:
            if len(sources) != 1:
                raise CommandError("Files go into exactly one --source.")
            for path in options["files"]:
                if not path.is_file():
                    raise CommandError(f"{path} is not a file.")
            try:
                cost_import = cost_import_file(actor=actor, source=sources[0], paths=options["files"])
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            failed |= self._report(cost_import)
        elif options["pull"] or options["all"]:
            for source in sources:
                try:
                    imports = cost_source_pull(actor=actor, source=source, start=options.get("start"),
                                               end=options.get("end"), enqueue=False)
                except ValidationError as exc:
                    self.stderr.write(f"{source.name}: {'; '.join(exc.messages)}")
                    failed = True
                    continue
                if not imports:
                    self.stdout.write(f"{source.name}: nothing new.")
                for cost_import in imports:
                    cost_import = cost_import_run(import_id=cost_import.pk) or cost_import
                    failed |= self._report(cost_import)
        else:
            raise CommandError("Give FOCUS files to import, or --pull.")
        if failed:
            raise CommandError("Some imports failed; see above (nothing was written for those).")

    def _report(self, cost_import) -> bool:
        cost_import.refresh_from_db()
        if cost_import.status == ImportStatus.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(
                f"Import #{cost_import.pk} into {cost_import.source.name}: {cost_import.rows_imported:,} lines "
                f"(replaced {cost_import.rows_replaced:,}), totals {cost_import.totals}"))
            return False
        self.stderr.write(f"Import #{cost_import.pk} into {cost_import.source.name} failed: {cost_import.error}")
        for error in cost_import.errors.all()[:20]:
            self.stderr.write(f"  {error.file} line {error.line} {error.column}: {error.reason} ({error.value!r})")
        return True

    def _source(self, value: str) -> CostSource:
        query = CostSource.objects.filter(pk=int(value)) if value.isdigit() else CostSource.objects.filter(name=value)
        source = query.first()
        if source is None:
            raise CommandError(f"No cost source {value!r}.")
        return source

    def _actor(self, username: str | None):
        users = get_user_model().objects.filter(is_active=True)
        if username:
            actor = users.filter(username=username).first()
        else:
            actor = (users.filter(is_superuser=True).order_by("pk").first()
                     or users.filter(groups__name=GlobalRole.PORTFOLIO_ADMIN).order_by("pk").first())
        if actor is None:
            raise CommandError("No user to record as the importer: create a superuser or a portfolio admin, or pass "
                               "--user.")
        return actor
