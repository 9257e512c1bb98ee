"""Writes for EU AI Act risk classification: the questionnaire outcome, its history, the tier on the initiative."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.compliance.classification import classify, clean_answers
from apps.compliance.models import RiskClassification
from apps.compliance.permissions import require_initiative_compliance_write
from apps.compliance.services.assessments import assessments_sync_results
from apps.portfolio.models import Initiative
from apps.portfolio.services import initiative_set_classification


@transaction.atomic
def classification_record(*, actor: User, initiative: Initiative, answers: dict[str, Any],
                          note: str = "") -> RiskClassification:
    """Classify an initiative from questionnaire answers: store answers, tier, role and rationale as a new history
    entry, write tier and role onto the initiative, and give its assessments rows for newly applicable requirements.
    """
    require_initiative_compliance_write(actor, initiative, "classify it")
    cleaned, errors = clean_answers(answers)
    if errors:
        raise ValidationError({"answers": [f"{key}: {message}" for key, message in errors.items()]})
    outcome = classify(cleaned)
    initiative = Initiative.objects.select_for_update().get(pk=initiative.pk)
    classification = RiskClassification.objects.create(
        initiative=initiative, answers=cleaned, risk_tier=outcome.risk_tier, operator_role=outcome.operator_role,
        rationale=outcome.rationale, note=note.strip(), previous_tier=initiative.risk_tier,
        previous_role=initiative.operator_role, classified_by=actor, classified_at=timezone.now(),
    )
    initiative_set_classification(initiative=initiative, risk_tier=outcome.risk_tier,
                                  operator_role=outcome.operator_role)
    assessments_sync_results(initiative=initiative)
    return classification
