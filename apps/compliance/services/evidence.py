"""Writes for evidence: uploaded files (type and size checked, SHA-256 stored) and links. Evidence is never edited;
a new version supersedes the old one, which stays on record and downloadable."""

from __future__ import annotations

import hashlib
import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.compliance.choices import EvidenceCategory, EvidenceKind
from apps.compliance.models import Evidence, EvidenceRequirement, Requirement
from apps.compliance.permissions import require_initiative_compliance_write
from apps.portfolio.models import Initiative

OOXML = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "application/vnd.openxmlformats-officedocument.presentationml.presentation")
TEXT_TYPES = ("text/plain", "text/csv", "text/markdown", "application/json")
# What the first bytes of a file of each type look like; a declared type that the content contradicts is refused.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    **dict.fromkeys(OOXML, (b"PK\x03\x04",)),
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _looks_like(content_type: str, head: bytes) -> bool:
    if content_type in SIGNATURES:
        return head.startswith(SIGNATURES[content_type])
    if content_type in TEXT_TYPES:
        if b"\x00" in head:
            return False
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sniffed block is fine.
            return exc.start >= len(head) - 3
        return True
    return True  # a type an operator allowed that we have no signature for


def _safe_filename(name: str) -> str:
    base = os.path.basename(name or "evidence")
    stem, ext = os.path.splitext(base)
    stem = _SAFE_NAME.sub("-", stem).strip("-.")[:80] or "evidence"
    ext = _SAFE_NAME.sub("", ext)[:10]
    return f"{stem}{ext}"


def _requirements(initiative: Initiative, requirements: list[Requirement] | None) -> list[Requirement]:
    return list(dict.fromkeys(requirements or []))


def _check_supersedes(initiative: Initiative, supersedes: Evidence | None) -> None:
    if supersedes is None:
        return
    if supersedes.initiative_id != initiative.pk:
        raise ValidationError({"supersedes": "Evidence can only supersede evidence of the same initiative."})
    if Evidence.objects.filter(supersedes=supersedes).exists():
        raise ValidationError({"supersedes": f"“{supersedes}” was already superseded; supersede its newest version."})


def _link(evidence: Evidence, requirements: list[Requirement]) -> None:
    EvidenceRequirement.objects.bulk_create(
        [EvidenceRequirement(evidence=evidence, requirement=requirement) for requirement in requirements]
    )


def _validate_common(title: str, category: str) -> None:
    errors = {}
    if not title.strip():
        errors["title"] = "Give the evidence a title."
    if category not in EvidenceCategory.values:
        errors["category"] = f"Choose one of: {', '.join(EvidenceCategory.values)}."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def evidence_upload(*, actor: User, initiative: Initiative, file: UploadedFile, title: str,
                    category: str = EvidenceCategory.OTHER, description: str = "",
                    requirements: list[Requirement] | None = None, supersedes: Evidence | None = None) -> Evidence:
    """Store an uploaded file as evidence: size and content type checked (against its first bytes too), SHA-256
    computed while reading, stored under MEDIA_ROOT/evidence/<initiative>/...; links it to the requirements it
    supports (in any framework)."""
    require_initiative_compliance_write(actor, initiative, "add its evidence")
    _validate_common(title, category)
    _check_supersedes(initiative, supersedes)
    limit = settings.EVIDENCE_MAX_BYTES
    if file.size is None or file.size == 0:
        raise ValidationError({"file": "The file is empty."})
    if file.size > limit:
        raise ValidationError({"file": f"The file is {file.size:,} bytes; the limit is {limit:,} bytes."})
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    allowed = [value.lower() for value in settings.EVIDENCE_ALLOWED_TYPES]
    if content_type not in allowed:
        raise ValidationError({"file": f"Files of type '{content_type or 'unknown'}' are not accepted. Accepted: "
                                       f"{', '.join(allowed)}."})
    digest = hashlib.sha256()
    head = b""
    file.seek(0)
    for chunk in file.chunks():
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        digest.update(chunk)
    if not _looks_like(content_type, head):
        raise ValidationError({"file": f"The file's content is not {content_type}: it was refused."})
    file.seek(0)
    evidence = Evidence(
        initiative=initiative, kind=EvidenceKind.FILE, category=category, title=title.strip(),
        description=description.strip(), original_name=os.path.basename(file.name or "evidence")[:255],
        content_type=content_type, size=file.size, sha256=digest.hexdigest(), supersedes=supersedes,
        uploaded_by=actor, created_at=timezone.now(),
    )
    evidence.file.save(_safe_filename(file.name), file, save=False)
    evidence.save()
    _link(evidence, _requirements(initiative, requirements))
    return evidence


@transaction.atomic
def evidence_add_link(*, actor: User, initiative: Initiative, url: str, title: str,
                      category: str = EvidenceCategory.OTHER, description: str = "",
                      requirements: list[Requirement] | None = None, supersedes: Evidence | None = None) -> Evidence:
    """Record a link (an http(s) URL to a document system, ticket or dashboard) as evidence."""
    require_initiative_compliance_write(actor, initiative, "add its evidence")
    _validate_common(title, category)
    _check_supersedes(initiative, supersedes)
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValidationError({"url": "Enter an http or https address."}) from exc
    evidence = Evidence.objects.create(
        initiative=initiative, kind=EvidenceKind.LINK, category=category, title=title.strip(),
        description=description.strip(), url=url, supersedes=supersedes, uploaded_by=actor, created_at=timezone.now(),
    )
    _link(evidence, _requirements(initiative, requirements))
    return evidence


@transaction.atomic
def evidence_link_requirements(*, actor: User, evidence: Evidence, requirements: list[Requirement]) -> int:
    """Say that existing evidence also supports these requirements (the evidence itself is not changed)."""
    require_initiative_compliance_write(actor, evidence.initiative, "link its evidence")
    existing = set(evidence.requirement_links.values_list("requirement_id", flat=True))
    new = [requirement for requirement in dict.fromkeys(requirements) if requirement.pk not in existing]
    _link(evidence, new)
    return len(new)


@transaction.atomic
def evidence_unlink_requirement(*, actor: User, evidence: Evidence, requirement: Requirement) -> None:
    """Stop counting the evidence for a requirement."""
    require_initiative_compliance_write(actor, evidence.initiative, "link its evidence")
    EvidenceRequirement.objects.filter(evidence=evidence, requirement=requirement).delete()
