"""Celery tasks, one module per domain; thin adapters that load by id and call one service."""
from workers.tasks import compliance  # noqa: F401,E402
from workers.tasks import mlops  # noqa: F401,E402
from workers.tasks import costs  # noqa: F401,E402
