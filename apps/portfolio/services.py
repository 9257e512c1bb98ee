"""Writes for the portfolio: initiatives, stage moves and strategic objectives."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from apps.accounts.models import BusinessUnit, User
from apps.accounts.selectors import user_access_scope
from apps.audit.choices import SecurityAction
from apps.audit.services import audit_security_event
from apps.core.access import can
from apps.portfolio.choices import Stage
from apps.portfolio.models import Initiative, StageTransition, StrategicObjective
from apps.portfolio.stages import IllegalMove, check_move

KEY_PREFIX = "AI"
_KEY_LOCK = 7_310_001  # advisory lock id serialising generated keys

# Fields a caller may set through initiative_create / initiative_update (stage moves go through the transition).
EDITABLE_FIELDS = frozenset({
    "name", "business_problem", "value_hypothesis", "business_unit", "sponsor", "owner", "technical_lead",
    "ai_type", "priority", "impact_score", "feasibility_score", "risk_tier", "operator_role",
    "processes_personal_data", "budget", "started_on", "target_production_on",
})


def _next_key() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_KEY_LOCK])
        cursor.execute(
            "SELECT COALESCE(MAX(CAST(SUBSTRING(key FROM %s) AS integer)), 0) FROM portfolio_initiative "
            "WHERE key ~ %s",
            [rf"^{KEY_PREFIX}-(\d+)$", rf"^{KEY_PREFIX}-\d+$"],
        )
        (last,) = cursor.fetchone()
    return f"{KEY_PREFIX}-{last + 1:03d}"


def _check_unit_writable(actor: User, unit: BusinessUnit) -> None:
    if not user_access_scope(user=actor).can_create_in_unit(unit.pk):
        raise PermissionDenied(f"You may not create or move initiatives into the business unit '{unit}'.")


def _validate(initiative: Initiative) -> None:
    initiative.full_clean(exclude=["objectives"], validate_unique=True)


@transaction.atomic
def initiative_create(
    *, actor: User, business_unit: BusinessUnit, name: str, ai_type: str, key: str = "",
    objectives: list[StrategicObjective] | None = None, rationale: str = "Initiative registered.",
    created_at: datetime | None = None, **fields: Any,
) -> Initiative:
    """Register a new initiative in the idea stage; records the opening StageTransition."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be set here."))
    _check_unit_writable(actor, business_unit)
    at = created_at or timezone.now()
    key = (key or "").strip().upper()
    if key and not re.fullmatch(r"[A-Z][A-Z0-9]{0,9}-\d{1,6}", key):
        raise ValidationError({"key": "Use capital letters, a dash and a number, e.g. AI-042."})
    if key and Initiative.objects.filter(key=key).exists():
        raise ValidationError({"key": f"The key {key} is already used by another initiative."})
    initiative = Initiative(
        key=key or _next_key(), name=name, business_unit=business_unit, ai_type=ai_type, stage=Stage.IDEA,
        stage_entered_at=at, **fields,
    )
    if initiative.owner_id is None and not user_access_scope(user=actor).write_all:
        initiative.owner = actor
    _validate(initiative)
    initiative.save()
    if objectives:
        initiative.objectives.set(objectives)
    StageTransition.objects.create(
        initiative=initiative, from_stage="", to_stage=Stage.IDEA, at=at, by=actor, decision="advance",
        rationale=rationale,
    )
    return initiative


@transaction.atomic
def initiative_update(
    *, actor: User, initiative: Initiative, objectives: list[StrategicObjective] | None = None, **fields: Any
) -> Initiative:
    """Change an initiative's editable fields; only portfolio admins may move it to another business unit."""
    if "stage" in fields:
        raise ValidationError({"stage": "Change the stage by recording a stage move, not by editing."})
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    if not can(actor, initiative, "change"):
        raise PermissionDenied("You may not edit this initiative.")
    new_unit = fields.get("business_unit")
    moves_unit = new_unit is not None and new_unit.pk != initiative.business_unit_id
    if moves_unit and not user_access_scope(user=actor).write_all:
        raise PermissionDenied("Only portfolio admins can move an initiative to another business unit.")
    changed = [name for name, value in fields.items() if getattr(initiative, name) != value]
    for name in changed:
        setattr(initiative, name, fields[name])
    _validate(initiative)
    if changed:
        initiative.save(update_fields=[*changed, "updated_at"])
    if objectives is not None:
        initiative.objectives.set(objectives)
    return initiative


def can_move_stage(actor: User, initiative: Initiative) -> bool:
    """Only the owner, a lead of the initiative's unit or a portfolio admin move its stage."""
    scope = user_access_scope(user=actor)
    if scope.write_all or initiative.business_unit_id in scope.lead_units:
        return True
    return initiative.owner_id == actor.pk and scope.can_read_unit(initiative.business_unit_id)


def paused_from(initiative: Initiative) -> str | None:
    """The stage an on-hold initiative was paused from, read from its last transition."""
    if initiative.stage != Stage.ON_HOLD:
        return None
    last = initiative.transitions.filter(to_stage=Stage.ON_HOLD).order_by("-at", "-id").first()
    return last.from_stage if last else None


@transaction.atomic
def initiative_transition(
    *, actor: User, initiative: Initiative, to_stage: str, rationale: str, decision: str | None = None,
    at: datetime | None = None,
) -> StageTransition:
    """Move an initiative to another stage, recording who, when, the decision and why; illegal moves are refused,
    and so are moves whose stage gate (apps.compliance.gates) is unmet and not waived by an approved exception.

    Side effects: updates the initiative's stage, stage_entered_at and key dates (pilot started, in production,
    retired) in the same transaction.
    """
    initiative = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if not can_move_stage(actor, initiative):
        raise PermissionDenied("Only the initiative's owner, a lead of its business unit or a portfolio admin "
                               "can move its stage.")
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationError({"rationale": "Say why: every stage move needs a rationale."})
    now = timezone.now()
    at = at or now
    if at > now:
        raise ValidationError({"at": "A stage move cannot be dated in the future."})
    if at < initiative.stage_entered_at:
        raise ValidationError({"at": "A stage move cannot be dated before the initiative entered its current stage."})
    try:
        decision = check_move(initiative.stage, to_stage, decision, paused_from(initiative))
    except IllegalMove as exc:
        raise ValidationError({"to_stage": str(exc)}) from exc
    from apps.compliance.gates import gate_check  # compliance builds on the portfolio: import here, not at the top

    gate = gate_check(initiative=initiative, to_stage=to_stage)
    if not gate.passed:
        raise ValidationError({"to_stage": gate.messages})
    transition = StageTransition.objects.create(
        initiative=initiative, from_stage=initiative.stage, to_stage=to_stage, at=at, by=actor, decision=decision,
        rationale=rationale,
    )
    initiative.stage = to_stage
    initiative.stage_entered_at = at
    update_fields = ["stage", "stage_entered_at", "updated_at"]
    day = timezone.localdate(at)
    for stage, field in ((Stage.PILOT, "pilot_started_on"), (Stage.PRODUCTION, "production_on"),
                         (Stage.RETIRED, "retired_on")):
        if to_stage == stage and getattr(initiative, field) is None:
            setattr(initiative, field, day)
            update_fields.append(field)
    if initiative.started_on is None and to_stage == Stage.DISCOVERY:
        initiative.started_on = day
        update_fields.append("started_on")
    initiative.save(update_fields=update_fields)
    return transition


@transaction.atomic
def initiative_set_classification(*, initiative: Initiative, risk_tier: str, operator_role: str) -> Initiative:
    """Write a recorded EU AI Act classification onto the initiative.

    Called only by apps.compliance.services.classification_record, which checks who may classify (compliance
    officers may, although they cannot edit initiatives) and keeps the classification history.
    """
    initiative.risk_tier = risk_tier
    initiative.operator_role = operator_role
    _validate(initiative)
    initiative.save(update_fields=["risk_tier", "operator_role", "updated_at"])
    return initiative


@transaction.atomic
def objective_create(
    *, actor: User, title: str, description: str = "", business_unit: BusinessUnit | None = None,
    owner: User | None = None, target_date=None,
) -> StrategicObjective:
    """Create a strategic objective; company-wide ones need a portfolio admin."""
    scope = user_access_scope(user=actor)
    if business_unit is None and not scope.write_all:
        raise PermissionDenied("Only portfolio admins create company-wide objectives.")
    if business_unit is not None:
        _check_unit_writable(actor, business_unit)
    objective = StrategicObjective(title=title, description=description, business_unit=business_unit, owner=owner,
                                   target_date=target_date)
    objective.full_clean()
    objective.save()
    return objective


GRANT_PERMISSIONS = {"view": "view_initiative", "change": "change_initiative"}


def can_manage_grants(actor: User, initiative: Initiative) -> bool:
    """Portfolio admins and leads of the initiative's unit manage its per-object grants."""
    scope = user_access_scope(user=actor)
    return scope.write_all or initiative.business_unit_id in scope.lead_units


def _check_can_grant(actor: User, initiative: Initiative) -> None:
    if not can_manage_grants(actor, initiative):
        raise PermissionDenied("Only portfolio admins and leads of the initiative's unit manage its grants.")


@transaction.atomic
def initiative_grant(*, actor: User, initiative: Initiative, user: User, access: str) -> None:
    """Give one user view or change access to one initiative outside their units (e.g. an external reviewer)."""
    if access not in GRANT_PERMISSIONS:
        raise ValidationError({"access": f"Choose one of: {', '.join(GRANT_PERMISSIONS)}."})
    _check_can_grant(actor, initiative)
    if not user.is_active:
        raise ValidationError({"user": f"{user} is deactivated."})
    assign_perm(GRANT_PERMISSIONS[access], user, initiative)
    audit_security_event(
        action=SecurityAction.PERMISSION_CHANGED, actor=actor, initiative_id=initiative.pk,
        business_unit_id=initiative.business_unit_id,
        detail={"change": "grant", "user_id": user.pk, "access": access, "initiative": initiative.key},
    )


@transaction.atomic
def initiative_revoke_grant(*, actor: User, initiative: Initiative, user: User) -> None:
    """Take away every per-object grant `user` holds on `initiative`."""
    _check_can_grant(actor, initiative)
    for codename in GRANT_PERMISSIONS.values():
        remove_perm(codename, user, initiative)
    audit_security_event(
        action=SecurityAction.PERMISSION_CHANGED, actor=actor, initiative_id=initiative.pk,
        business_unit_id=initiative.business_unit_id,
        detail={"change": "revoke", "user_id": user.pk, "initiative": initiative.key},
    )
