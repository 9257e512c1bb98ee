"""Celery tasks, one module per domain; thin adapters that load by id and call one service."""
