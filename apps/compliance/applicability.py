"""Which requirements apply to an initiative: one rule, in two forms (an ORM filter and a SQL predicate).

A requirement applies when its framework and itself are active and every applicability list is empty or holds the
initiative's value (risk tier, operator role, AI type, lifecycle stage); `personal_data_only` requirements apply only
when the initiative processes personal data. Change the classification or the stage and the list changes with it.
"""

from __future__ import annotations

from django.db.models import Q

from apps.portfolio.models import Initiative

DIMENSIONS = (("risk_tiers", "risk_tier"), ("operator_roles", "operator_role"), ("ai_types", "ai_type"),
              ("stages", "stage"))


def applicable_q(*, risk_tier: str, operator_role: str, ai_type: str, stage: str, personal_data: bool,
                 prefix: str = "") -> Q:
    """Filter for Requirement (or, with prefix='requirement__', for rows that point at one)."""
    condition = Q(**{f"{prefix}active": True, f"{prefix}framework__active": True})
    for array_field, value in zip((d[0] for d in DIMENSIONS), (risk_tier, operator_role, ai_type, stage), strict=True):
        condition &= Q(**{f"{prefix}{array_field}": []}) | Q(**{f"{prefix}{array_field}__contains": [value]})
    if not personal_data:
        condition &= Q(**{f"{prefix}personal_data_only": False})
    return condition


def applicable_to(initiative: Initiative, *, stage: str | None = None, prefix: str = "") -> Q:
    """Requirements that apply to the initiative now (or as if it were in `stage`)."""
    return applicable_q(risk_tier=initiative.risk_tier, operator_role=initiative.operator_role,
                        ai_type=initiative.ai_type, stage=stage or initiative.stage,
                        personal_data=initiative.processes_personal_data, prefix=prefix)


def applicable_sql(initiative: str = "i", requirement: str = "r", framework: str = "f") -> str:
    """The same rule as a SQL predicate over aliases of portfolio_initiative, compliance_requirement and
    compliance_framework, for bulk queries across the whole portfolio."""
    i, r, f = initiative, requirement, framework
    parts = [f"{r}.active", f"{f}.active"]
    for array_field, column in DIMENSIONS:
        parts.append(f"(cardinality({r}.{array_field}) = 0 OR {i}.{column} = ANY({r}.{array_field}))")
    parts.append(f"(NOT {r}.personal_data_only OR {i}.processes_personal_data)")
    return " AND ".join(parts)
