"""Fixtures for compliance tests: gates ON, the shipped frameworks and default gate criteria present, evidence
files under a temporary MEDIA_ROOT, and the compliance roles."""

from __future__ import annotations

import pytest

from apps.accounts.choices import GlobalRole
from tests.factories import make_user


@pytest.fixture(autouse=True)
def compliance_gates(settings):
    """Overrides tests/conftest.py: stage gates are ON in compliance tests."""
    settings.COMPLIANCE_GATES_ENABLED = True


@pytest.fixture(autouse=True)
def compliance_reference_data(db):
    """The data migration loads frameworks and default gates; transactional tests elsewhere may have flushed them."""
    from apps.compliance.models import Framework, GateCriterion

    if not Framework.objects.filter(builtin=True).exists() or not GateCriterion.objects.exists():
        from django.core.management import call_command

        call_command("load_frameworks", "--gates", verbosity=0)


@pytest.fixture(autouse=True)
def evidence_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def officer(db):
    return make_user(role=GlobalRole.COMPLIANCE_OFFICER, username="officer")


@pytest.fixture
def officer_2(db):
    return make_user(role=GlobalRole.COMPLIANCE_OFFICER, username="officer2")


@pytest.fixture
def auditor(db):
    return make_user(role=GlobalRole.AUDITOR, username="auditor")
