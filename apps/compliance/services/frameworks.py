"""Writes for frameworks, requirements and gate criteria (reference data: compliance officers and admins)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.compliance.applicability import applicable_sql
from apps.compliance.choices import CheckCode, ResultStatus
from apps.compliance.gates import CRITERIA
from apps.compliance.models import Framework, GateCriterion, Requirement
from apps.compliance.permissions import require_compliance_writer
from apps.portfolio.choices import AIType, OperatorRole, RiskTier, Stage

FRAMEWORK_FIELDS = frozenset({"slug", "name", "short_name", "kind", "version", "description", "source_url", "active",
                              "milestones"})
REQUIREMENT_FIELDS = frozenset({"code", "title", "summary", "reference", "section", "position", "applies_from",
                                "risk_tiers", "operator_roles", "ai_types", "stages", "personal_data_only", "checks",
                                "active"})
_LIST_CHOICES = {"risk_tiers": RiskTier.values, "operator_roles": OperatorRole.values, "ai_types": AIType.values,
                 "stages": Stage.values, "checks": CheckCode.values}


def _unknown(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be set here."))


def _clean_lists(fields: dict[str, Any]) -> None:
    errors = {}
    for name, allowed in _LIST_CHOICES.items():
        if name in fields:
            values = list(dict.fromkeys(str(v) for v in fields[name] or []))
            bad = [v for v in values if v not in allowed]
            if bad:
                errors[name] = f"Unknown values {bad}; choose from: {', '.join(allowed)}."
            fields[name] = values
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def framework_create(*, actor: User, **fields: Any) -> Framework:
    """Create a custom framework (no code change needed); add its requirements with requirement_create."""
    require_compliance_writer(actor, "create frameworks")
    _unknown(fields, FRAMEWORK_FIELDS)
    fields.setdefault("short_name", fields.get("name", "")[:40])
    framework = Framework(builtin=False, **fields)
    framework.full_clean()
    framework.save()
    return framework


@transaction.atomic
def framework_update(*, actor: User, framework: Framework, **fields: Any) -> Framework:
    """Change a framework's description, dates or active flag (built-in ones too: they are data)."""
    require_compliance_writer(actor, "edit frameworks")
    _unknown(fields, FRAMEWORK_FIELDS)
    changed = [name for name, value in fields.items() if getattr(framework, name) != value]
    for name in changed:
        setattr(framework, name, fields[name])
    framework.full_clean()
    if changed:
        framework.save(update_fields=[*changed, "updated_at"])
    return framework


def _add_missing_results(requirement: Requirement) -> int:
    """Give every existing assessment of the framework a result row for a requirement that now applies to it."""
    from django.db import connection

    sql = f"""
        INSERT INTO compliance_requirementresult
            (assessment_id, initiative_id, requirement_id, status, automatic, note, updated_at, review_comment)
        SELECT a.id, i.id, r.id, %s, cardinality(r.checks) > 0, '', %s, ''
        FROM compliance_assessment a
        JOIN portfolio_initiative i ON i.id = a.initiative_id
        JOIN compliance_requirement r ON r.framework_id = a.framework_id AND r.id = %s
        JOIN compliance_framework f ON f.id = r.framework_id
        WHERE {applicable_sql()}
        ON CONFLICT (assessment_id, requirement_id) DO NOTHING
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [ResultStatus.NOT_ASSESSED, timezone.now(), requirement.pk])
        return cursor.rowcount


@transaction.atomic
def requirement_create(*, actor: User, framework: Framework, **fields: Any) -> Requirement:
    """Add a requirement to a framework; existing assessments of that framework get a 'not assessed' result for it
    wherever it applies."""
    require_compliance_writer(actor, "add requirements")
    _unknown(fields, REQUIREMENT_FIELDS)
    _clean_lists(fields)
    if "position" not in fields:
        last = framework.requirements.order_by("-position").values_list("position", flat=True).first()
        fields["position"] = (last or 0) + 10
    if Requirement.objects.filter(framework=framework, code=fields.get("code", "")).exists():
        raise ValidationError({"code": f"{framework} already has a requirement {fields['code']}."})
    requirement = Requirement(framework=framework, **fields)
    requirement.full_clean()
    requirement.save()
    _add_missing_results(requirement)
    return requirement


@transaction.atomic
def requirement_update(*, actor: User, requirement: Requirement, **fields: Any) -> Requirement:
    """Change a requirement's text, applicability or checks; newly covered assessments get a result row."""
    require_compliance_writer(actor, "edit requirements")
    _unknown(fields, REQUIREMENT_FIELDS)
    _clean_lists(fields)
    code = fields.get("code")
    if code and code != requirement.code and Requirement.objects.filter(
            framework_id=requirement.framework_id, code=code).exists():
        raise ValidationError({"code": f"The framework already has a requirement {code}."})
    changed = [name for name, value in fields.items() if getattr(requirement, name) != value]
    for name in changed:
        setattr(requirement, name, fields[name])
    requirement.full_clean()
    if changed:
        requirement.save(update_fields=[*changed, "updated_at"])
        _add_missing_results(requirement)
    return requirement


@transaction.atomic
def gate_criterion_set(*, actor: User, target_stage: str, criterion: str, risk_tiers: list[str] | None = None,
                       active: bool = True, note: str = "") -> GateCriterion:
    """Create or change what entering `target_stage` requires (for the given risk tiers; empty = every tier)."""
    require_compliance_writer(actor, "configure stage gates")
    errors = {}
    if target_stage not in Stage.values:
        errors["target_stage"] = f"Choose one of: {', '.join(Stage.values)}."
    if criterion not in CRITERIA:
        errors["criterion"] = f"Unknown criterion; choose one of: {', '.join(CRITERIA)}."
    tiers = list(dict.fromkeys(risk_tiers or []))
    if any(tier not in RiskTier.values for tier in tiers):
        errors["risk_tiers"] = f"Choose from: {', '.join(RiskTier.values)}."
    if errors:
        raise ValidationError(errors)
    gate, created = GateCriterion.objects.get_or_create(
        target_stage=target_stage, criterion=criterion, defaults={"risk_tiers": tiers, "active": active, "note": note}
    )
    if not created:
        values = {"risk_tiers": tiers, "active": active, "note": note}
        changed = [name for name, value in values.items() if getattr(gate, name) != value]
        for name in changed:
            setattr(gate, name, values[name])
        if changed:
            gate.save(update_fields=[*changed, "updated_at"])
    return gate
