"""Writes for assessments (initiative × framework) and their requirement results, with sign-off and approval."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.compliance.applicability import applicable_sql, applicable_to
from apps.compliance.choices import ASSESSED_STATUSES, AssessmentStatus, ResultStatus
from apps.compliance.models import Assessment, Framework, Requirement, RequirementResult
from apps.compliance.permissions import (
    is_compliance_writer,
    require_compliance_writer,
    require_initiative_compliance_write,
)
from apps.compliance.posture import posture_refresh
from apps.portfolio.models import Initiative

_SYNC_SQL = f"""
    INSERT INTO compliance_requirementresult
        (assessment_id, initiative_id, requirement_id, status, automatic, note, updated_at, review_comment)
    SELECT a.id, i.id, r.id, %s, cardinality(r.checks) > 0, '', %s, ''
    FROM compliance_assessment a
    JOIN portfolio_initiative i ON i.id = a.initiative_id
    JOIN compliance_framework f ON f.id = a.framework_id
    JOIN compliance_requirement r ON r.framework_id = f.id
    WHERE {applicable_sql()} {{where}}
    ON CONFLICT (assessment_id, requirement_id) DO NOTHING
"""


def assessments_sync_results(*, initiative: Initiative | None = None, initiative_ids: list[int] | None = None) -> int:
    """Add a 'not assessed' result to assessments for requirements that now apply (after a change of tier, role,
    stage or requirements); one statement for one initiative, a list of them, or (neither given) the portfolio."""
    if initiative is not None:
        initiative_ids = [initiative.pk]
    where, params = ("AND a.initiative_id = ANY(%s)", [initiative_ids]) if initiative_ids is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(_SYNC_SQL.format(where=where), [ResultStatus.NOT_ASSESSED, timezone.now(), *params])
        return cursor.rowcount


@transaction.atomic
def assessment_start(*, actor: User, initiative: Initiative, framework: Framework) -> Assessment:
    """Start assessing an initiative against a framework: one result per applicable requirement, automatic ones
    evaluated at once from the automated checks."""
    from apps.compliance.services.audit import compliance_audit_run

    require_initiative_compliance_write(actor, initiative, "start its assessments")
    if not framework.active:
        raise ValidationError({"framework": f"{framework} is inactive."})
    if Assessment.objects.filter(initiative=initiative, framework=framework).exists():
        raise ValidationError({"framework": f"{initiative.key} already has a {framework} assessment."})
    if not Requirement.objects.filter(applicable_to(initiative), framework=framework).exists():
        raise ValidationError({"framework": f"No {framework} requirement applies to {initiative.key} "
                                            "(its risk tier, role, AI type and stage)."})
    assessment = Assessment.objects.create(initiative=initiative, framework=framework, started_by=actor)
    assessments_sync_results(initiative=initiative)
    compliance_audit_run(initiative_ids=[initiative.pk])
    return assessment


def _revert_approval(assessment: Assessment, reason: str) -> None:
    if assessment.status == AssessmentStatus.APPROVED:
        assessment.status = AssessmentStatus.IN_PROGRESS
        assessment.approval_note = reason
        assessment.save(update_fields=["status", "approval_note", "updated_at"])


@transaction.atomic
def result_set(*, actor: User, result: RequirementResult, status: str, note: str = "",
               automatic: bool | None = None) -> RequirementResult:
    """Set a requirement's status (and note). A person setting the status of an automatic result takes it over
    (automatic = False) unless `automatic=True` hands it back to the checks. Clears any earlier sign-off."""
    result = RequirementResult.objects.select_related("assessment", "requirement", "initiative").get(pk=result.pk)
    require_initiative_compliance_write(actor, result.initiative, "assess its requirements")
    if status not in ResultStatus.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(ResultStatus.values)}."})
    if automatic and not result.requirement.checks:
        raise ValidationError({"automatic": "This requirement has no automated check."})
    if status == ResultStatus.NOT_APPLICABLE and not note.strip():
        raise ValidationError({"note": "Say why the requirement does not apply."})
    result.status = status
    result.note = note.strip()
    result.automatic = bool(automatic) if automatic is not None else False
    result.updated_by = actor
    result.updated_at = timezone.now()
    result.reviewed_by = None
    result.reviewed_at = None
    result.review_comment = ""
    result.save()
    posture_refresh(initiative_ids=[result.initiative_id])
    if status not in ASSESSED_STATUSES or status == ResultStatus.NON_COMPLIANT:
        _revert_approval(result.assessment, f"Reopened: {result.requirement.code} set to {status} by {actor}.")
    return result


@transaction.atomic
def result_sign_off(*, actor: User, result: RequirementResult, comment: str = "") -> RequirementResult:
    """A compliance officer (not the person who set the status) signs a result off as reviewed."""
    require_compliance_writer(actor, "sign off requirement results")
    result = RequirementResult.objects.select_for_update().get(pk=result.pk)
    if result.status == ResultStatus.NOT_ASSESSED:
        raise ValidationError({"status": "Assess the requirement before signing it off."})
    if result.updated_by_id == actor.pk:
        raise PermissionDenied("You set this result yourself; another person must sign it off.")
    result.reviewed_by = actor
    result.reviewed_at = timezone.now()
    result.review_comment = comment.strip()
    result.save(update_fields=["reviewed_by", "reviewed_at", "review_comment"])
    return result


@transaction.atomic
def assessment_approve(*, actor: User, assessment: Assessment, note: str = "") -> Assessment:
    """Approve an assessment once every applicable requirement is compliant, partial or not applicable."""
    require_compliance_writer(actor, "approve assessments")
    assessment = Assessment.objects.select_for_update().select_related("initiative", "framework").get(pk=assessment.pk)
    assessments_sync_results(initiative=assessment.initiative)
    applicable = Requirement.objects.filter(applicable_to(assessment.initiative), framework=assessment.framework)
    done = RequirementResult.objects.filter(assessment=assessment, status__in=ASSESSED_STATUSES)
    open_codes = list(applicable.exclude(pk__in=done.values("requirement_id")).order_by("position", "code")
                      .values_list("code", flat=True))
    if open_codes:
        shown = ", ".join(open_codes[:10]) + (f" and {len(open_codes) - 10} more" if len(open_codes) > 10 else "")
        raise ValidationError({"status": f"{len(open_codes)} requirement(s) are not assessed or non-compliant: "
                                         f"{shown}."})
    assessment.status = AssessmentStatus.APPROVED
    assessment.approved_by = actor
    assessment.approved_at = timezone.now()
    assessment.approval_note = note.strip()
    assessment.save(update_fields=["status", "approved_by", "approved_at", "approval_note", "updated_at"])
    return assessment


@transaction.atomic
def assessment_reopen(*, actor: User, assessment: Assessment, note: str) -> Assessment:
    """Withdraw an approval (e.g. after a material change), with the reason."""
    if not is_compliance_writer(actor):
        raise PermissionDenied("Only compliance officers and portfolio admins can reopen assessments.")
    if not note.strip():
        raise ValidationError({"note": "Say why the assessment is reopened."})
    _revert_approval(assessment, note.strip())
    return assessment
