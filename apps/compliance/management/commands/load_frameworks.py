"""`manage.py load_frameworks [--overwrite] [--gates] [FILE ...]`: load framework YAML files (idempotent)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.compliance.frameworks import FrameworkFileError, framework_files, load_frameworks
from apps.compliance.gates import DEFAULT_GATE_CRITERIA
from apps.compliance.models import Framework, GateCriterion, Requirement


class Command(BaseCommand):
    help = ("Load compliance frameworks from YAML (default: apps/compliance/fixtures/frameworks/*.yaml). Missing "
            "frameworks and requirements are created; edited ones are kept unless --overwrite.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", help="Framework YAML files (default: the shipped ones).")
        parser.add_argument("--overwrite", action="store_true",
                            help="Reset shipped frameworks and requirements to the files' content.")
        parser.add_argument("--gates", action="store_true",
                            help="Also install the default stage-gate criteria that are missing.")

    @transaction.atomic
    def handle(self, *args, files: list[str], overwrite: bool, gates: bool, **options) -> None:
        paths = [Path(name) for name in files] if files else framework_files()
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise CommandError(f"No such file: {', '.join(missing)}")
        try:
            result = load_frameworks(framework_model=Framework, requirement_model=Requirement, paths=paths,
                                     overwrite=overwrite)
        except FrameworkFileError as exc:
            raise CommandError(str(exc)) from exc
        installed = 0
        if gates:
            for stage, criteria in DEFAULT_GATE_CRITERIA.items():
                for criterion in criteria:
                    _, created = GateCriterion.objects.get_or_create(target_stage=stage, criterion=criterion)
                    installed += created
        self.stdout.write(
            f"Frameworks created: {', '.join(result.frameworks_created) or 'none'}; "
            f"updated: {', '.join(result.frameworks_updated) or 'none'}. Requirements created: "
            f"{result.requirements_created}, updated: {result.requirements_updated}."
            + (f" Gate criteria installed: {installed}." if gates else "")
        )
