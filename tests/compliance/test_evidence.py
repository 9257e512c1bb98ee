"""Evidence: uploads checked for type and size and stored with their SHA-256; links; never edited, only superseded;
one piece of evidence can support requirements in several frameworks."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.test import override_settings

from apps.compliance.choices import EvidenceCategory
from apps.compliance.models import Evidence, Requirement
from apps.compliance.selectors import evidence_list, initiative_compliance
from apps.compliance.services import evidence_add_link, evidence_link_requirements, evidence_upload
from tests.compliance.helpers import PDF, pdf_upload
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db


@pytest.fixture
def initiative(unit_a, lead_a):
    return make_initiative(actor=lead_a, unit=unit_a, processes_personal_data=True)


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


def test_an_upload_is_stored_with_its_sha256_size_and_type(initiative, lead_a, evidence_media):
    evidence = evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload("DPIA 2026 (final).pdf"),
                               title="DPIA", category=EvidenceCategory.DPIA)
    evidence.refresh_from_db()
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (evidence.size, evidence.content_type, evidence.original_name) == (len(PDF), "application/pdf",
                                                                              "DPIA 2026 (final).pdf")
    path = evidence_media / evidence.file.name
    assert path.read_bytes() == PDF
    assert evidence.file.name == f"evidence/{initiative.pk}/{evidence.sha256[:2]}/{evidence.sha256}/DPIA-2026-final.pdf"


@pytest.mark.parametrize(("name", "content", "content_type", "message"), [
    ("tool.exe", b"MZ\x90\x00rest", "application/x-msdownload",
     "Files of type 'application/x-msdownload' are not accepted."),
    ("fake.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf",
     "The file's content is not application/pdf: it was refused."),
    ("notes.txt", b"\x00\x01\x02binary", "text/plain", "The file's content is not text/plain: it was refused."),
])
def test_a_wrong_content_type_is_refused_and_nothing_is_stored(initiative, lead_a, evidence_media, name, content,
                                                               content_type, message):
    with pytest.raises(ValidationError) as error:
        evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(name, content, content_type),
                        title="Bad", category=EvidenceCategory.OTHER)
    assert error.value.message_dict["file"][0].startswith(message)
    assert not Evidence.objects.exists()
    assert stored_files(evidence_media) == []


def test_an_oversized_file_is_refused(settings, initiative, lead_a, evidence_media):
    settings.EVIDENCE_MAX_BYTES = 40
    with pytest.raises(ValidationError) as error:
        evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(), title="Too big")
    assert error.value.message_dict == {"file": [f"The file is {len(PDF):,} bytes; the limit is 40 bytes."]}
    assert not Evidence.objects.exists()
    assert stored_files(evidence_media) == []


def test_evidence_is_never_edited_only_superseded(initiative, lead_a):
    # given a stored DPIA
    first = evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(), title="DPIA v1",
                            category=EvidenceCategory.DPIA)

    # when someone tries to edit the row, the database refuses
    with pytest.raises(DatabaseError, match="Evidence is never edited"), transaction.atomic():
        Evidence.objects.filter(pk=first.pk).update(title="DPIA v1 (edited)")

    # when a new version supersedes it
    second = evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(content=PDF + b"% v2\n"),
                             title="DPIA v2", category=EvidenceCategory.DPIA, supersedes=first)

    # then both are on record, only the new one is current, and the old one cannot be superseded twice
    rows = {e.title: e.is_current for e in evidence_list(user=lead_a, initiative=initiative)}
    assert rows == {"DPIA v1": False, "DPIA v2": True}
    assert second.supersedes_id == first.pk
    with pytest.raises(ValidationError) as error:
        evidence_add_link(actor=lead_a, initiative=initiative, url="https://docs.example.com/dpia-v3", title="v3",
                          supersedes=first)
    assert error.value.message_dict == {"supersedes": ["“DPIA v1” was already superseded; supersede its newest "
                                                       "version."]}


def test_a_link_needs_an_http_address(initiative, lead_a):
    with pytest.raises(ValidationError) as error:
        evidence_add_link(actor=lead_a, initiative=initiative, url="javascript:alert(1)", title="Bad link")
    assert error.value.message_dict == {"url": ["Enter an http or https address."]}
    link = evidence_add_link(actor=lead_a, initiative=initiative, url="https://wiki.example.com/model-card",
                             title="Model card", category=EvidenceCategory.MODEL_CARD)
    assert (link.kind, link.sha256) == ("link", "")


def test_one_piece_of_evidence_supports_requirements_in_several_frameworks(initiative, lead_a):
    # given a DPIA linked to the GDPR DPIA article and the NIST privacy subcategory
    gdpr = Requirement.objects.get(framework__slug="gdpr", code="ART-35")
    nist = Requirement.objects.get(framework__slug="nist-ai-rmf", code="MEASURE-2.10")
    evidence = evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(), title="DPIA",
                               category=EvidenceCategory.DPIA, requirements=[gdpr, nist])
    # and later also to the CCPA risk assessment
    ccpa = Requirement.objects.get(framework__slug="ccpa", code="RISK-ASSESSMENT")
    assert evidence_link_requirements(actor=lead_a, evidence=evidence, requirements=[ccpa, gdpr]) == 1

    # then, once the initiative is in pilot (where all three apply), its compliance page shows it under each
    from apps.portfolio.services import initiative_transition

    with override_settings(COMPLIANCE_GATES_ENABLED=False):
        for stage in ("discovery", "pilot"):
            initiative_transition(actor=lead_a, initiative=initiative, to_stage=stage, rationale="Go.")
    initiative.refresh_from_db()
    page = initiative_compliance(user=lead_a, initiative=initiative)
    shown = {(block.framework.slug, row.requirement.code) for block in page.frameworks for row in block.rows
             if evidence in row.evidence}
    assert shown == {("gdpr", "ART-35"), ("nist-ai-rmf", "MEASURE-2.10"), ("ccpa", "RISK-ASSESSMENT")}


def test_viewers_and_auditors_cannot_add_evidence(initiative, viewer_a, auditor, officer):
    for actor in (viewer_a, auditor):
        with pytest.raises(PermissionDenied):
            evidence_upload(actor=actor, initiative=initiative, file=pdf_upload(), title="DPIA")
    assert evidence_upload(actor=officer, initiative=initiative, file=pdf_upload(), title="DPIA").uploaded_by == officer
