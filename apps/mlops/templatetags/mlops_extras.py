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


@register.filter
def ago(moment) -> str:
    """'just now', '5 minutes ago', '3 hours ago' (the largest unit only), or 'never'."""
    from django.utils import timezone
    from django.utils.timesince import timesince

    if not moment:
        return "never"
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, depth=1)} ago"
