"""Sync MLflow connections in the foreground with a progress bar: manage.py sync_mlflow [--connection ID] [--full]."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from apps.integrations.mlflow import MlflowError
from apps.mlops.models import MLflowConnection
from apps.mlops.services import mlflow_sync

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Pull MLflow connections into the database now (incremental, or a full reconcile with --full)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--connection", type=int, action="append", dest="connections",
                            help="Connection id (repeatable); default: every enabled connection.")
        parser.add_argument("--full", action="store_true", help="Full reconcile: re-read everything, remove what "
                                                                "MLflow no longer has.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (e.g. in logs).")

    def handle(self, *args, connections: list[int] | None = None, full: bool = False, no_progress: bool = False,
               **options) -> None:
        queryset = MLflowConnection.objects.order_by("pk")
        queryset = queryset.filter(pk__in=connections) if connections else queryset.filter(enabled=True)
        targets = list(queryset)
        if connections and len(targets) != len(set(connections)):
            missing = sorted(set(connections) - {c.pk for c in targets})
            raise CommandError(f"No MLflow connection with id {', '.join(map(str, missing))}.")
        if not targets:
            self.stdout.write("No MLflow connection to sync.")
            return
        failures = 0
        for conn in targets:
            self.stdout.write(f"{conn.name} ({conn.tracking_uri})")
            bar = _ProgressBar(self.stdout, enabled=not no_progress and self.stdout.isatty())
            try:
                result = mlflow_sync(connection_id=conn.pk, full=True if full else None, progress=bar.update)
            except MlflowError as exc:  # transient errors are re-raised only for the Celery task's retries
                bar.done()
                self.stderr.write(f"  failed: {exc.message}")
                failures += 1
                continue
            bar.done()
            if result.status == "failed":
                failures += 1
                self.stderr.write(f"  failed ({result.error_kind}): {result.message}")
            elif result.status == "skipped":
                self.stdout.write(f"  skipped: {result.message}")
            else:
                from apps.mlops.services.sync import _summary

                self.stdout.write(f"  {_summary(result)} {result.counts.runs_seen:,} runs read in "
                                  f"{result.seconds:.1f} s ({result.requests} requests).")
        if failures:
            raise CommandError(f"{failures} connection(s) failed to sync.")


class _ProgressBar:
    """A one-line text progress bar, redrawn at most ten times a second."""

    def __init__(self, stream, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.last = 0.0
        self.drawn = False

    def update(self, done: int, total: int | None, message: str) -> None:
        if not self.enabled or time.monotonic() - self.last < 0.1:
            return
        self.last = time.monotonic()
        if total:
            filled = int(BAR_WIDTH * min(done, total) / total)
            line = f"  [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:,}/{total:,} {message}"
        else:
            line = f"  {message}"
        self.stream.write(f"\r{line[:100]:<100}", ending="")
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * 100 + "\r", ending="")
            self.stream.flush()


