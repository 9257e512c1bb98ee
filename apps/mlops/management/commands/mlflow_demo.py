"""Seed a demo MLflow server and connect the portal to it: manage.py mlflow_demo --url http://127.0.0.1:5055.

For `make demo`: the launcher starts the server with apps.mlops.demo.start_demo_mlflow_server(VAR_DIR) and runs
this command once migrate and seed_demo are done. Idempotent: a second run seeds nothing and only re-syncs.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.mlops import demo


class Command(BaseCommand):
    help = "Seed the demo MLflow server (healthy, drifting, stale and unowned models) and sync it into the portal."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", required=True, help="Tracking URL of the demo mlflow server.")
        parser.add_argument("--keys", help="Comma-separated initiative keys: healthy, drifting, stale "
                                           "(default: picked from the demo portfolio by name).")

    def handle(self, *args, url: str, keys: str | None = None, **options) -> None:
        chosen = [key.strip().upper() for key in keys.split(",")] if keys else demo.demo_initiative_keys()
        if len(chosen) < 3:
            raise CommandError("Three initiatives are needed (run seed_demo first, or pass --keys).")
        seeded = demo.seed_demo_mlflow(url, chosen)
        outcome = demo.demo_connect(url, chosen)
        sync = outcome["sync"]
        self.stdout.write(
            f"MLflow demo at {url}: {seeded['created']} runs seeded for {', '.join(chosen[:3])}; sync "
            f"{sync.get('status')} ({sync.get('counts', {}).get('runs_seen', 0)} runs, "
            f"{sync.get('alerts_opened', 0)} alerts opened)."
        )
