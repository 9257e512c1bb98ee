"""Pages that manage unit memberships and per-initiative grants."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Membership
from apps.audit.models import AuditEvent
from apps.portfolio.selectors import initiative_grant_list
from tests.factories import make_initiative, make_unit, make_user

pytestmark = pytest.mark.django_db


def test_lead_adds_and_removes_a_member_of_their_unit(client, lead_a, unit_a):
    newcomer = make_user(username="newcomer", first_name="Nia", last_name="Okafor")
    client.force_login(lead_a)
    response = client.post(reverse("accounts:unit_members", args=[unit_a.slug]),
                           {"add": "1", "user": newcomer.pk, "role": "contributor"}, follow=True)
    assert "Nia Okafor is now Contributor of Claims." in response.content.decode()
    membership = Membership.objects.get(user=newcomer, business_unit=unit_a)
    assert membership.role == "contributor"
    client.post(reverse("accounts:unit_members", args=[unit_a.slug]), {"remove": membership.pk})
    assert not Membership.objects.filter(user=newcomer).exists()
    assert AuditEvent.objects.filter(kind="security", action="permission_changed").count() == 2


def test_sub_unit_members_page_shows_inherited_roles(client, lead_a, unit_a):
    child = make_unit("Claims fraud", parent=unit_a)
    client.force_login(lead_a)
    body = client.get(reverse("accounts:unit_members", args=[child.slug])).content.decode()
    assert "Claims (inherited)" in body and lead_a.display_name in body


def test_viewer_sees_members_but_cannot_change_them(client, viewer_a, unit_a):
    client.force_login(viewer_a)
    page = client.get(reverse("accounts:unit_members", args=[unit_a.slug]))
    assert page.status_code == 200 and "Add a member" not in page.content.decode()
    response = client.post(reverse("accounts:unit_members", args=[unit_a.slug]),
                           {"add": "1", "user": viewer_a.pk, "role": "lead"})
    assert response.status_code == 403
    assert Membership.objects.get(user=viewer_a).role == "viewer"


def test_units_page_lists_only_visible_units(client, lead_a, unit_a, unit_b):
    client.force_login(lead_a)
    body = client.get(reverse("accounts:units")).content.decode()
    assert unit_a.name in body and unit_b.name not in body


def test_lead_grants_an_external_reviewer_read_access(client, admin_user, lead_a, unit_a):
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    reviewer = make_user(username="reviewer")
    client.force_login(lead_a)
    client.post(reverse("portfolio:initiative_access", args=[initiative.key]),
                {"add": "1", "user": reviewer.pk, "access": "view"})
    assert initiative_grant_list(user=lead_a, initiative=initiative) == [(reviewer, "view")]
    client.force_login(reviewer)
    assert client.get(reverse("portfolio:initiative_detail", args=[initiative.key])).status_code == 200
    client.force_login(lead_a)
    client.post(reverse("portfolio:initiative_access", args=[initiative.key]), {"revoke": reviewer.pk})
    client.force_login(reviewer)
    assert client.get(reverse("portfolio:initiative_detail", args=[initiative.key])).status_code == 404
