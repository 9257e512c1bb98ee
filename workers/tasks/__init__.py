"""Celery tasks, one module per domain; thin adapters that load by id and call one service."""
from workers.tasks import compliance  # noqa: F401,E402
