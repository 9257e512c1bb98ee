"""Business units over the REST API: scoped reads, creation by portfolio admins only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import BusinessUnit
from apps.accounts.services import api_token_create
from tests.factories import make_initiative, make_unit

pytestmark = pytest.mark.django_db


def token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def slugs(response) -> list[str]:
    return [row["slug"] for row in response.json()["results"]]


def test_business_units_list_is_scoped_and_tree_ordered(unit_a, unit_b, lead_a, executive):
    # given Claims with a sub-unit, and Retail banking
    motor = make_unit("Motor claims", parent=unit_a)

    # when a Claims lead and an executive list units
    as_lead = token_client(lead_a).get("/api/v1/business-units/")
    as_exec = token_client(executive).get("/api/v1/business-units/")

    # then the lead sees Claims and its sub-unit, the executive all, parents before children
    assert slugs(as_lead) == ["claims", "motor-claims"]
    assert slugs(as_exec) == ["claims", "motor-claims", "retail-banking"]
    child = as_lead.json()["results"][1]
    assert (child["name"], child["parent"], child["depth"], child["id"]) == ("Motor claims", "claims", 1, motor.pk)


def test_business_unit_by_slug_and_out_of_scope_404(unit_a, unit_b, lead_a):
    client = token_client(lead_a)
    assert client.get("/api/v1/business-units/claims/").json()["name"] == "Claims"
    other = client.get("/api/v1/business-units/retail-banking/")
    assert other.status_code == 404
    assert other.json() == {"detail": "Not found."}


def test_portfolio_admin_creates_a_sub_unit(unit_a, admin_user, lead_a):
    # when an admin creates a unit under Claims with a head
    response = token_client(admin_user).post("/api/v1/business-units/", {
        "name": "Home claims", "parent": "claims", "head": "lead_a", "cost_centre": "CC-42"}, format="json")

    # then it exists in the tree
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["slug"], data["parent"], data["head"], data["cost_centre"], data["depth"]) == (
        "home-claims", "claims", "lead_a", "CC-42", 1)
    unit = BusinessUnit.objects.get(slug="home-claims")
    assert unit.path == f"{unit_a.path}{unit.pk}/"
    # and the Claims lead sees it through inheritance
    assert "home-claims" in slugs(token_client(lead_a).get("/api/v1/business-units/"))


def test_creating_a_unit_needs_a_portfolio_admin(unit_a, lead_a, executive):
    for user in (lead_a, executive):
        response = token_client(user).post("/api/v1/business-units/", {"name": "Rogue"}, format="json")
        assert response.status_code == 403
        assert response.json() == {"detail": "Only portfolio admins can create business units."}
    assert not BusinessUnit.objects.filter(name="Rogue").exists()


def test_creating_a_unit_with_a_used_slug_is_400(unit_a, admin_user):
    response = token_client(admin_user).post("/api/v1/business-units/", {"name": "Claims 2", "slug": "claims"},
                                             format="json")
    assert response.status_code == 400
    assert response.json() == {"slug": ["A business unit with the slug 'claims' already exists."]}
    assert BusinessUnit.objects.count() == 1


def test_creating_a_unit_with_bad_input_names_the_fields(admin_user):
    response = token_client(admin_user).post("/api/v1/business-units/", {
        "parent": "nowhere", "head": "ghost", "slug": "not a slug"}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["name"] == ["This field is required."]
    assert errors["parent"] == ["Object with slug=nowhere does not exist."]
    assert errors["head"] == ["Object with username=ghost does not exist."]
    assert errors["slug"] == ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.']


def _count(client: APIClient, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["lead_a", "executive"])
def test_query_counts_of_business_unit_endpoints_do_not_grow(who, unit_a, lead_a, executive, admin_user):
    # given 5 sub-units of Claims with an initiative each
    client = token_client(lead_a if who == "lead_a" else executive)
    for i in range(5):
        make_initiative(actor=admin_user, unit=make_unit(f"Team {i}", parent=unit_a))
    urls = ["/api/v1/business-units/", "/api/v1/business-units/claims/"]
    at_5 = [_count(client, url) for url in urls]

    # when there are 50
    for i in range(5, 50):
        make_initiative(actor=admin_user, unit=make_unit(f"Team {i}", parent=unit_a))
    at_50 = [_count(client, url) for url in urls]

    # then the query counts are the same
    assert at_5 == at_50
