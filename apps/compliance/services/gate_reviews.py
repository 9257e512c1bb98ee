"""Writes for gate reviews: request an exception to a stage gate, decide it (one or more approvers), cancel it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.choices import GlobalRole
from apps.accounts.models import User
from apps.accounts.selectors import user_access_scope
from apps.compliance.choices import ApprovalDecision, ApproverRole, GateReviewStatus
from apps.compliance.gates import gate_evaluate
from apps.compliance.models import GateReview, GateReviewApproval
from apps.portfolio.choices import RiskTier, Stage
from apps.portfolio.models import Initiative
from apps.portfolio.services import can_move_stage


def approver_role(user: User, initiative: Initiative) -> str | None:
    """The capacity in which `user` may approve an exception for `initiative`, or None if they may not."""
    if not user.is_active:
        return None
    scope = user_access_scope(user=user)
    if scope.has_role(GlobalRole.COMPLIANCE_OFFICER):
        return ApproverRole.COMPLIANCE_OFFICER
    if scope.write_all:
        return ApproverRole.PORTFOLIO_ADMIN
    if initiative.business_unit_id in scope.lead_units:
        return ApproverRole.UNIT_LEAD
    return None


@transaction.atomic
def gate_review_request(*, actor: User, initiative: Initiative, target_stage: str, reason: str,
                        expires_at: datetime, approvers: list[User]) -> GateReview:
    """Ask for an exception to the gate into `target_stage`: it waives the criteria unmet now, until `expires_at`,
    once every named approver approves. High-risk initiatives need a compliance officer among the approvers."""
    if not can_move_stage(actor, initiative):
        raise PermissionDenied("Only the initiative's owner, a lead of its business unit or a portfolio admin can "
                               "request a gate review.")
    errors: dict[str, str] = {}
    if target_stage not in Stage.values:
        errors["target_stage"] = f"Choose one of: {', '.join(Stage.values)}."
    if not reason.strip():
        errors["reason"] = "Say why the move should go ahead despite the unmet criteria."
    now = timezone.now()
    longest = now + timedelta(days=settings.COMPLIANCE_EXCEPTION_MAX_DAYS)
    if expires_at <= now:
        errors["expires_at"] = "The exception must expire in the future."
    elif expires_at > longest:
        errors["expires_at"] = f"An exception lasts at most {settings.COMPLIANCE_EXCEPTION_MAX_DAYS} days."
    approvers = list(dict.fromkeys(approvers))
    if not approvers:
        errors["approvers"] = "Name at least one approver."
    roles = {}
    for approver in approvers:
        role = approver_role(approver, initiative)
        if approver.pk == actor.pk:
            errors["approvers"] = "You cannot approve your own request."
        elif role is None:
            errors["approvers"] = (f"{approver.display_name} cannot approve: approvers are compliance officers, "
                                   "portfolio admins or leads of the initiative's business unit.")
        roles[approver.pk] = role
    if (not errors.get("approvers") and initiative.risk_tier == RiskTier.HIGH
            and ApproverRole.COMPLIANCE_OFFICER not in roles.values()):
        errors["approvers"] = "A high-risk initiative needs a compliance officer among the approvers."
    if errors:
        raise ValidationError(errors)
    gate = gate_evaluate(initiative=initiative, to_stage=target_stage)
    if not gate.unmet:
        raise ValidationError({"target_stage": f"{initiative.key} meets every criterion for "
                                               f"{Stage(target_stage).label}: no exception is needed."})
    if GateReview.objects.filter(initiative=initiative, target_stage=target_stage,
                                 status=GateReviewStatus.PENDING).exists():
        raise ValidationError({"target_stage": "A gate review for this stage is already pending."})
    review = GateReview.objects.create(
        initiative=initiative, target_stage=target_stage, reason=reason.strip(),
        waived_criteria=[item.code for item in gate.unmet],
        unmet_snapshot=[{"code": item.code, "label": item.label, "detail": item.detail} for item in gate.unmet],
        expires_at=expires_at, requested_by=actor,
    )
    GateReviewApproval.objects.bulk_create(
        [GateReviewApproval(review=review, approver=approver) for approver in approvers]
    )
    return review


@transaction.atomic
def gate_review_decide(*, actor: User, review: GateReview, decision: str, comment: str = "") -> GateReview:
    """Record one approver's decision with their role and comment. Any rejection rejects the review; the last
    approval approves it (the exception then covers moves until it expires)."""
    review = GateReview.objects.select_for_update().select_related("initiative").get(pk=review.pk)
    approval = GateReviewApproval.objects.filter(review=review, approver=actor).first()
    if approval is None:
        raise PermissionDenied("You are not an approver of this gate review.")
    if decision not in (ApprovalDecision.APPROVED, ApprovalDecision.REJECTED):
        raise ValidationError({"decision": "Choose approved or rejected."})
    if review.status != GateReviewStatus.PENDING:
        raise ValidationError({"decision": f"This review is already {review.get_status_display().lower()}."})
    if approval.decision != ApprovalDecision.PENDING:
        raise ValidationError({"decision": "You have already decided."})
    if decision == ApprovalDecision.REJECTED and not comment.strip():
        raise ValidationError({"comment": "Say why you reject the exception."})
    role = approver_role(actor, review.initiative)
    if role is None:
        raise PermissionDenied("You no longer hold a role that may approve this exception.")
    now = timezone.now()
    approval.decision = decision
    approval.role = role
    approval.comment = comment.strip()
    approval.decided_at = now
    approval.save(update_fields=["decision", "role", "comment", "decided_at"])
    decisions = set(review.approvals.values_list("decision", flat=True))
    if ApprovalDecision.REJECTED in decisions:
        review.status = GateReviewStatus.REJECTED
    elif decisions == {ApprovalDecision.APPROVED}:
        review.status = GateReviewStatus.APPROVED
    if review.status != GateReviewStatus.PENDING:
        review.decided_at = now
        review.save(update_fields=["status", "decided_at", "updated_at"])
    return review


@transaction.atomic
def gate_review_cancel(*, actor: User, review: GateReview) -> GateReview:
    """Withdraw a pending request (the requester), or end an approved exception early (requester or approver)."""
    review = GateReview.objects.select_for_update().get(pk=review.pk)
    is_party = review.requested_by_id == actor.pk or review.approvals.filter(approver=actor).exists()
    if not (is_party or user_access_scope(user=actor).write_all):
        raise PermissionDenied("Only the requester, an approver or a portfolio admin can cancel this review.")
    if review.status not in (GateReviewStatus.PENDING, GateReviewStatus.APPROVED):
        raise ValidationError({"status": f"This review is already {review.get_status_display().lower()}."})
    review.status = GateReviewStatus.CANCELLED
    review.decided_at = timezone.now()
    review.save(update_fields=["status", "decided_at", "updated_at"])
    return review
