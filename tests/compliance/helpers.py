"""Builders shared by the compliance tests; everything goes through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.compliance.choices import EvidenceCategory
from apps.compliance.services import classification_record, evidence_upload
from apps.portfolio.models import Initiative
from apps.portfolio.services import initiative_transition
from tests.factories import make_initiative, make_kpi

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

MINIMAL = {"role": "provider"}
HIGH_PROVIDER = {"annex_iii_area": "employment", "role": "provider"}
HIGH_DEPLOYER = {"annex_iii_area": "essential_services", "profiling": True, "role": "deployer"}
LIMITED = {"t_interacts": True, "role": "deployer"}


def classify(actor, initiative: Initiative, answers: dict | None = None) -> Initiative:
    classification_record(actor=actor, initiative=initiative, answers=answers or MINIMAL)
    initiative.refresh_from_db()
    return initiative


def pilot_ready(actor, unit, *, answers: dict | None = None, **fields) -> Initiative:
    """An initiative in discovery that meets the default pilot gate: owner, sponsor, KPI with baseline, classified."""
    fields.setdefault("owner", actor)
    fields.setdefault("sponsor", actor)
    initiative = make_initiative(actor=actor, unit=unit, **fields)
    make_kpi(actor=actor, initiative=initiative, baseline_value=Decimal("100"))
    classify(actor, initiative, answers)
    move(actor, initiative, "discovery")
    return initiative


def move(actor, initiative: Initiative, *stages: str) -> Initiative:
    for stage in stages:
        initiative_transition(actor=actor, initiative=initiative, to_stage=stage, rationale="Gate review done.")
        initiative.refresh_from_db()
    return initiative


def pdf_upload(name: str = "dpia.pdf", content: bytes = PDF, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def add_dpia(actor, initiative: Initiative, requirements=None):
    return evidence_upload(actor=actor, initiative=initiative, file=pdf_upload(), title="DPIA v1",
                           category=EvidenceCategory.DPIA, requirements=requirements)


def in_days(days: int):
    return timezone.now() + timedelta(days=days)
