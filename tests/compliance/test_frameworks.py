"""Frameworks as data: the shipped files load idempotently, keep people's edits, and bad files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db.models import Count

from apps.compliance.frameworks import FIXTURE_DIR, parse_framework_file
from apps.compliance.models import Framework, GateCriterion, Requirement
from apps.compliance.services import framework_create, requirement_create, requirement_update

pytestmark = pytest.mark.django_db


def test_the_shipped_frameworks_are_loaded_with_their_requirements():
    counts = dict(Framework.objects.filter(builtin=True).annotate(n=Count("requirements")).values_list("slug", "n"))
    assert counts == {"eu-ai-act": 32, "nist-ai-rmf": 72, "iso-42001": 38, "gdpr": 14, "ccpa": 9}
    art27 = Requirement.objects.get(framework__slug="eu-ai-act", code="ART-27")
    assert (art27.reference, art27.risk_tiers, art27.operator_roles) == ("Art. 27", ["high"], ["deployer"])
    assert str(art27.applies_from) == "2026-08-02"
    assert Framework.objects.get(slug="eu-ai-act").milestones[1] == {
        "date": "2025-02-02", "label": "Prohibited practices and AI literacy apply"}
    nist_sections = set(Requirement.objects.filter(framework__slug="nist-ai-rmf").values_list("section", flat=True))
    assert len(nist_sections) == 19  # every category of the four functions
    assert set(GateCriterion.objects.filter(target_stage="pilot").values_list("criterion", flat=True)) == {
        "owner_set", "sponsor_set", "kpi_with_baseline", "classified", "not_prohibited"}


def test_every_shipped_file_parses_and_names_only_known_checks():
    for path in sorted(FIXTURE_DIR.glob("*.yaml")):
        parsed = parse_framework_file(path)
        assert all(item["summary"] and item["reference"] for item in parsed["requirements"]), path.name


def test_loading_again_creates_nothing_and_keeps_edits(officer):
    requirement = Requirement.objects.get(framework__slug="gdpr", code="ART-35")
    requirement_update(actor=officer, requirement=requirement, title="DPIA before go-live (our policy)")
    before = Requirement.objects.count()
    call_command("load_frameworks", "--gates", verbosity=0)
    assert Requirement.objects.count() == before
    requirement.refresh_from_db()
    assert requirement.title == "DPIA before go-live (our policy)"
    call_command("load_frameworks", "--overwrite", verbosity=0)
    requirement.refresh_from_db()
    assert requirement.title == "Data protection impact assessment (DPIA)"


def test_a_bad_framework_file_is_refused_with_the_entry_named(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: bad\nname: Bad\nshort_name: Bad\nrequirements:\n"
                   "  - {code: B-1, title: One, summary: Fine.}\n"
                   "  - {code: B-2, title: Two, summary: Wrong tier., risk_tiers: [extreme]}\n")
    with pytest.raises(CommandError) as error:
        call_command("load_frameworks", str(bad), verbosity=0)
    assert str(error.value).startswith("bad.yaml requirement #2 (B-2): risk_tiers has unknown values ['extreme']")
    assert not Framework.objects.filter(slug="bad").exists()


def test_only_compliance_officers_and_admins_edit_frameworks(lead_a, auditor, officer):
    for actor in (lead_a, auditor):
        with pytest.raises(PermissionDenied):
            framework_create(actor=actor, slug="x", name="X")
    framework = framework_create(actor=officer, slug="x", name="X policy")
    assert (framework.short_name, framework.builtin) == ("X policy", False)
    with pytest.raises(ValidationError) as error:
        requirement_create(actor=officer, framework=framework, code="X-1", title="T", summary="S",
                           checks=["astrology"])
    assert list(error.value.message_dict) == ["checks"]
