"""Writes for compliance and governance, one module per area; import them from here."""

from apps.compliance.services.assessments import (
    assessment_approve,
    assessment_reopen,
    assessment_start,
    assessments_sync_results,
    result_set,
    result_sign_off,
)
from apps.compliance.services.audit import (
    AuditSummary,
    compliance_audit_now,
    compliance_audit_request,
    compliance_audit_run,
)
from apps.compliance.services.classification import classification_record
from apps.compliance.services.evidence import (
    evidence_add_link,
    evidence_link_requirements,
    evidence_unlink_requirement,
    evidence_upload,
)
from apps.compliance.services.frameworks import (
    framework_create,
    framework_update,
    gate_criterion_set,
    requirement_create,
    requirement_update,
)
from apps.compliance.services.gate_reviews import (
    approver_role,
    gate_review_cancel,
    gate_review_decide,
    gate_review_request,
)
from apps.compliance.services.risks import (
    data_asset_create,
    data_asset_link,
    data_asset_unlink,
    data_asset_update,
    risk_create,
    risk_update,
)

__all__ = [
    "AuditSummary",
    "approver_role",
    "assessment_approve",
    "assessment_reopen",
    "assessment_start",
    "assessments_sync_results",
    "classification_record",
    "compliance_audit_now",
    "compliance_audit_request",
    "compliance_audit_run",
    "data_asset_create",
    "data_asset_link",
    "data_asset_unlink",
    "data_asset_update",
    "evidence_add_link",
    "evidence_link_requirements",
    "evidence_unlink_requirement",
    "evidence_upload",
    "framework_create",
    "framework_update",
    "gate_criterion_set",
    "gate_review_cancel",
    "gate_review_decide",
    "gate_review_request",
    "requirement_create",
    "requirement_update",
    "result_set",
    "result_sign_off",
    "risk_create",
    "risk_update",
]
