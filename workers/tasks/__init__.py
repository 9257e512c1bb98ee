"""Celery tasks, one module per domain; thin adapters that load by id and call one service."""

from workers.tasks import compliance, costs, mlops  # noqa: F401  (registers the tasks with the app)
