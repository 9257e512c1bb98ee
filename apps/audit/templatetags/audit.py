"""Readable audit events: table names as nouns, values shortened."""

from __future__ import annotations

import json

from django import template

register = template.Library()

TABLE_LABELS = {
    "portfolio_initiative": "Initiative",
    "portfolio_stagetransition": "Stage move",
    "portfolio_strategicobjective": "Objective",
    "portfolio_initiative_objectives": "Objective link",
    "portfolio_initiativeuserobjectpermission": "User grant",
    "portfolio_initiativegroupobjectpermission": "Group grant",
    "kpis_kpi": "KPI",
    "kpis_measurement": "Measurement",
    "accounts_businessunit": "Business unit",
    "accounts_membership": "Membership",
    "accounts_user_groups": "Global role",
    "accounts_user_user_permissions": "User permission",
}


@register.filter
def table_label(table: str) -> str:
    """'kpis_measurement' -> 'Measurement'; unknown tables keep their name."""
    return TABLE_LABELS.get(table, table.replace("_", " ").capitalize())


@register.filter
def short_value(value: object, limit: int = 80) -> str:
    """A before/after value as compact text, cut at `limit` characters."""
    if value is None:
        return "∅"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= int(limit) else text[: int(limit) - 1] + "…"
