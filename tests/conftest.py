"""Shared fixtures. The database is a real PostgreSQL: DATABASE_URL, or the embedded server (portal.embedded)."""

from __future__ import annotations

import pytest

from apps.accounts.choices import GlobalRole, UnitRole
from tests.factories import make_admin, make_unit, make_user


@pytest.fixture
def unit_a(db):
    return make_unit("Claims")


@pytest.fixture
def unit_b(db):
    return make_unit("Retail banking")


@pytest.fixture
def admin_user(db):
    return make_admin(username="admin")


@pytest.fixture
def executive(db):
    return make_user(role=GlobalRole.EXECUTIVE, username="exec")


@pytest.fixture
def lead_a(unit_a):
    return make_user(unit=unit_a, unit_role=UnitRole.LEAD, username="lead_a")


@pytest.fixture
def lead_b(unit_b):
    return make_user(unit=unit_b, unit_role=UnitRole.LEAD, username="lead_b")


@pytest.fixture
def contributor_a(unit_a):
    return make_user(unit=unit_a, unit_role=UnitRole.CONTRIBUTOR, username="contrib_a")


@pytest.fixture
def viewer_a(unit_a):
    return make_user(unit=unit_a, unit_role=UnitRole.VIEWER, username="viewer_a")


@pytest.fixture(scope="session", autouse=True)
def _allow_flushing_the_audit_trail():
    """Transactional tests flush tables with TRUNCATE between tests; the audit trail refuses that unless told."""
    from django.db.backends.signals import connection_created

    def allow(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pilotlight.audit_maintenance', 'on', false)")

    connection_created.connect(allow, weak=False, dispatch_uid="tests_audit_maintenance")
    yield
    connection_created.disconnect(dispatch_uid="tests_audit_maintenance")


@pytest.fixture(autouse=True)
def compliance_gates(settings):
    """Stage gates are OFF for tests outside tests/compliance.

    The default gate criteria (installed by a data migration of apps.compliance) would refuse the stage walks that
    portfolio, KPI, seed and API tests make with bare initiatives. tests/compliance/conftest.py overrides this fixture
    to switch gates ON; a test elsewhere that wants gates can set `settings.COMPLIANCE_GATES_ENABLED = True` itself.
    """
    settings.COMPLIANCE_GATES_ENABLED = False
