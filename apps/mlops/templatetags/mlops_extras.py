"""Template helpers for the MLOps pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict | None, key: str):
    """mapping[key], or '' when absent (tag values with dots in their keys, e.g. mlflow.source.git.commit)."""
    if not mapping:
        return ""
    return mapping.get(key, "")
