"""Shared fixtures for the cost tests: an admin, three initiatives, a FOCUS source, import folders under tmp."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.costs.choices import SourceKind
from apps.costs.models import CostSource, FxRate
from tests.factories import make_initiative


@pytest.fixture(autouse=True)
def cost_dirs(settings, tmp_path):
    """Imports keep their files under a per-test COST_IMPORT_DIR."""
    settings.COST_IMPORT_DIR = tmp_path / "cost-imports"
    settings.REPORTING_CURRENCY = "EUR"
    return settings.COST_IMPORT_DIR


@pytest.fixture
def initiatives(unit_a, unit_b, admin_user):
    """AI-001 and AI-002 in Claims, AI-003 in Retail banking."""
    return [
        make_initiative(actor=admin_user, unit=unit_a, name="Claims triage", key="AI-001", budget=Decimal("50000")),
        make_initiative(actor=admin_user, unit=unit_a, name="Fraud scoring", key="AI-002"),
        make_initiative(actor=admin_user, unit=unit_b, name="Next best offer", key="AI-003"),
    ]


@pytest.fixture
def focus_source(db):
    return CostSource.objects.create(name="AWS FOCUS export", kind=SourceKind.FOCUS)


@pytest.fixture
def usd_rate(db):
    return FxRate.objects.create(currency="USD", valid_from=date(2000, 1, 1), rate=Decimal("0.9"))
