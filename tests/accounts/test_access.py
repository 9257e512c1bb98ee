"""restrict(): business-unit scoping with inheritance, OR-ed with per-object guardian grants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from apps.accounts.selectors import user_access_scope
from apps.accounts.services import membership_assign, membership_remove
from apps.audit.models import AuditEvent
from apps.core.access import can, restrict
from apps.kpis.models import KPI, Measurement
from apps.kpis.services import measurement_record
from apps.portfolio.models import Initiative
from apps.portfolio.services import initiative_grant, initiative_revoke_grant
from tests.factories import make_initiative, make_kpi, make_unit, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_units(admin_user, unit_a, unit_b):
    a = make_initiative(actor=admin_user, unit=unit_a, name="A1")
    b = make_initiative(actor=admin_user, unit=unit_b, name="B1")
    kpi_b = make_kpi(actor=admin_user, initiative=b)
    measurement_record(actor=admin_user, kpi=kpi_b, date=date(2026, 2, 1), value=Decimal(90))
    return a, b, kpi_b


def test_grant_opens_one_initiative_and_its_children_for_reading(admin_user, two_units, lead_a):
    a, b, kpi_b = two_units
    reviewer = make_user(unit=None)
    assert set(restrict(Initiative.objects.all(), reviewer, "view")) == set()
    initiative_grant(actor=admin_user, initiative=b, user=reviewer, access="view")
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)  # a fresh request resolves the scope again
    assert set(restrict(Initiative.objects.all(), reviewer, "view")) == {b}
    assert set(restrict(KPI.objects.all(), reviewer, "view")) == {kpi_b}
    assert restrict(Measurement.objects.all(), reviewer, "view").count() == 1
    assert not can(reviewer, b, "change")


def test_change_grant_allows_writing_that_initiative_only(admin_user, two_units):
    a, b, _ = two_units
    reviewer = make_user()
    initiative_grant(actor=admin_user, initiative=b, user=reviewer, access="change")
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)
    assert can(reviewer, b, "change")
    assert not can(reviewer, a, "change")


def test_grants_are_managed_by_admins_and_the_units_leads_only(two_units, lead_a, lead_b):
    a, b, _ = two_units
    reviewer = make_user()
    with pytest.raises(PermissionDenied):
        initiative_grant(actor=lead_a, initiative=b, user=reviewer, access="view")
    initiative_grant(actor=lead_b, initiative=b, user=reviewer, access="view")
    initiative_revoke_grant(actor=lead_b, initiative=b, user=reviewer)
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)
    assert list(restrict(Initiative.objects.all(), reviewer, "view")) == []
    changes = AuditEvent.objects.filter(kind="security", action="permission_changed").order_by("seq")
    assert [e.detail["change"] for e in changes] == ["grant", "revoke"]
    assert all(e.actor_id == lead_b.pk for e in changes)


def test_unit_roles_are_inherited_by_sub_units(admin_user, unit_a):
    child = make_unit("Claims fraud", parent=unit_a)
    grandchild = make_unit("Claims fraud EU", parent=child)
    viewer = make_user(unit=child, unit_role="viewer")
    scope = user_access_scope(user=viewer)
    assert scope.read_units == {child.pk, grandchild.pk}
    assert scope.writable_units == frozenset()


def test_leads_manage_memberships_of_their_units_only(lead_a, unit_a, unit_b):
    newcomer = make_user()
    membership = membership_assign(actor=lead_a, user=newcomer, business_unit=unit_a, role="contributor")
    with pytest.raises(PermissionDenied):
        membership_assign(actor=lead_a, user=newcomer, business_unit=unit_b, role="viewer")
    membership_pk = membership.pk
    membership_remove(actor=lead_a, membership=membership)
    assert not newcomer.memberships.exists()
    data_events = AuditEvent.objects.filter(table_name="accounts_membership", object_pk=str(membership_pk))
    assert sorted(data_events.values_list("action", flat=True)) == ["delete", "insert"]
