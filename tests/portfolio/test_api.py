"""Portfolio REST API: initiatives (by key), their stage transitions, and strategic objectives."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.choices import UnitRole
from apps.accounts.services import api_token_create
from apps.core.pagination import StandardPagination
from apps.kpis.services import measurement_record
from apps.portfolio.choices import AIType, Stage
from apps.portfolio.models import Initiative, StageTransition, StrategicObjective
from apps.portfolio.services import initiative_transition, objective_create
from tests.factories import make_initiative, make_kpi, make_unit, make_user

pytestmark = pytest.mark.django_db


def token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def keys(response) -> list[str]:
    return [row["key"] for row in response.json()["results"]]


def count_queries(client: APIClient, url: str) -> int:
    client.get(url)  # warm up: the first request of a token stamps its last use
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def move(initiative: Initiative, actor, *stages: str, at=None) -> Initiative:
    for stage in stages:
        initiative_transition(actor=actor, initiative=initiative, to_stage=stage, rationale="Gate passed.", at=at)
        initiative.refresh_from_db()
    return initiative


# --- create ----------------------------------------------------------------------------------------------------


def test_create_initiative_with_a_token_registers_it_in_idea_owned_by_the_caller(unit_a, lead_a, executive):
    # given a BU lead with an API token
    client = token_client(lead_a)

    # when they register an initiative in their unit
    response = client.post("/api/v1/initiatives/", {
        "name": "Claims triage", "business_unit": "claims", "ai_type": "nlp", "priority": "high",
        "sponsor": "exec", "budget": "250000.00", "impact_score": 4,
    }, format="json")

    # then it exists in the idea stage, owned by them, with the opening transition recorded
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["key"] == "AI-001"
    assert data["stage"] == "idea"
    assert data["owner"] == "lead_a"
    assert data["sponsor"] == "exec"
    assert data["business_unit"] == "claims"
    assert data["budget"] == "250000.00"
    assert data["days_in_stage"] == 0
    assert data["in_purgatory"] is False
    assert data["next_stages"] == ["discovery", "on_hold", "cancelled"]
    assert data["kpis"] == []
    initiative = Initiative.objects.get(key="AI-001")
    assert (initiative.name, initiative.priority, initiative.impact_score) == ("Claims triage", "high", 4)
    assert list(initiative.transitions.values_list("from_stage", "to_stage")) == [("", "idea")]


def test_create_initiative_with_bad_fields_names_each_field_and_writes_nothing(unit_a, lead_a):
    # given a lead
    client = token_client(lead_a)

    # when the body lacks a name and has a bad AI type, score and owner
    response = client.post("/api/v1/initiatives/", {
        "business_unit": "claims", "ai_type": "astrology", "impact_score": 9, "owner": "nobody",
    }, format="json")

    # then each field has its message and nothing was written
    assert response.status_code == 400
    errors = response.json()
    assert errors["name"] == ["This field is required."]
    assert errors["ai_type"] == ['"astrology" is not a valid choice.']
    assert errors["impact_score"] == ["Ensure this value is less than or equal to 5."]
    assert errors["owner"] == ["Object with username=nobody does not exist."]
    assert Initiative.objects.count() == 0


def test_create_initiative_with_a_used_key_is_refused_by_the_service(unit_a, lead_a):
    # given an initiative AI-042
    make_initiative(actor=lead_a, unit=unit_a, key="AI-042")
    client = token_client(lead_a)

    # when another is created with the same key
    response = client.post("/api/v1/initiatives/", {
        "key": "AI-042", "name": "Copy", "business_unit": "claims", "ai_type": "agent"}, format="json")

    # then the service's message comes back on the key field
    assert response.status_code == 400
    assert response.json() == {"key": ["The key AI-042 is already used by another initiative."]}
    assert Initiative.objects.count() == 1


def test_create_initiative_in_a_unit_the_caller_only_views_is_403(unit_a, viewer_a):
    # given a viewer of Claims
    client = token_client(viewer_a)

    # when they try to register an initiative there
    response = client.post("/api/v1/initiatives/", {
        "name": "Sneaky", "business_unit": "claims", "ai_type": "agent"}, format="json")

    # then it is forbidden with the service's reason, and nothing is written
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not create or move initiatives into the business unit 'Claims'."}
    assert Initiative.objects.count() == 0


def test_create_initiative_in_an_invisible_unit_does_not_reveal_it(unit_a, unit_b, lead_a):
    # given a lead of Claims only
    client = token_client(lead_a)

    # when they name Retail banking as the unit
    response = client.post("/api/v1/initiatives/", {
        "name": "Elsewhere", "business_unit": "retail-banking", "ai_type": "agent"}, format="json")

    # then the unit is simply unknown to them
    assert response.status_code == 400
    assert response.json() == {"business_unit": ["Object with slug=retail-banking does not exist."]}


# --- read ------------------------------------------------------------------------------------------------------


def test_retrieve_initiative_by_key_shows_owners_kpis_and_their_status(unit_a, lead_a, contributor_a):
    # given an initiative with a KPI half-way to target, on the straight line
    today = timezone.localdate()
    initiative = make_initiative(actor=lead_a, unit=unit_a, name="Fraud scoring", owner=contributor_a,
                                 technical_lead=lead_a, ai_type=AIType.PREDICTIVE_ML)
    kpi = make_kpi(actor=lead_a, initiative=initiative, name="Handling hours", baseline_value=Decimal("100"),
                   baseline_date=today - timedelta(days=100), target_value=Decimal("60"),
                   target_date=today + timedelta(days=100))
    measurement_record(actor=lead_a, kpi=kpi, date=today, value=Decimal("80"))

    # when it is fetched by key (case-insensitively)
    response = token_client(lead_a).get(f"/api/v1/initiatives/{initiative.key.lower()}/")

    # then the detail has usernames, computed fields and the KPI with its status
    assert response.status_code == 200
    data = response.json()
    assert data["key"] == initiative.key
    assert data["name"] == "Fraud scoring"
    assert (data["owner"], data["technical_lead"], data["sponsor"]) == ("contrib_a", "lead_a", None)
    assert data["stage"] == "idea"
    assert data["days_in_pilot"] == 0
    assert data["kpis"] == [{
        "id": kpi.pk, "name": "Handling hours", "category": "cost_reduction", "unit": "hours", "direction": "down",
        "baseline_value": "100.000000", "target_value": "60.000000",
        "target_date": (today + timedelta(days=100)).isoformat(), "latest_value": "80.000000",
        "latest_date": today.isoformat(), "progress": 0.5, "status": "on_track",
    }]


def test_list_returns_exactly_the_permitted_set_for_a_bu_lead_and_an_executive(unit_a, unit_b, lead_a, lead_b,
                                                                               executive, admin_user):
    # given initiatives in Claims, in a sub-unit of Claims and in Retail banking
    motor = make_unit("Motor claims", parent=unit_a)
    a = make_initiative(actor=admin_user, unit=unit_a, name="A")
    m = make_initiative(actor=admin_user, unit=motor, name="M")
    b = make_initiative(actor=admin_user, unit=unit_b, name="B")

    # when each lists initiatives
    as_lead_a = token_client(lead_a).get("/api/v1/initiatives/")
    as_lead_b = token_client(lead_b).get("/api/v1/initiatives/")
    as_exec = token_client(executive).get("/api/v1/initiatives/")

    # then the lead sees their unit and its sub-units, the executive everything
    assert keys(as_lead_a) == [a.key, m.key]
    assert as_lead_a.json()["count"] == 2
    assert keys(as_lead_b) == [b.key]
    assert keys(as_exec) == [a.key, m.key, b.key]
    assert as_exec.json()["count"] == 3


def test_list_filters_like_the_portfolio_page(unit_a, unit_b, lead_a, admin_user, contributor_a):
    # given a varied portfolio: a sub-unit, stages, AI types, owners and one pilot stuck for 250 days
    now = timezone.now()
    motor = make_unit("Motor claims", parent=unit_a)
    fraud = make_initiative(actor=admin_user, unit=unit_a, name="Fraud detection", ai_type=AIType.PREDICTIVE_ML,
                            owner=lead_a, priority="high", created_at=now - timedelta(days=400))
    move(fraud, admin_user, Stage.DISCOVERY, at=now - timedelta(days=300))
    move(fraud, admin_user, Stage.PILOT, at=now - timedelta(days=250))
    chat = make_initiative(actor=admin_user, unit=motor, name="Claims chatbot", ai_type=AIType.GENERATIVE,
                           owner=contributor_a, business_problem="Customers wait on hold for fraud reports.")
    move(chat, admin_user, Stage.DISCOVERY, Stage.PILOT)
    vision = make_initiative(actor=admin_user, unit=unit_b, name="Damage photos", ai_type=AIType.COMPUTER_VISION,
                             owner=lead_a, risk_tier="high")
    client = token_client(admin_user)

    def listed(query: str) -> list[str]:
        response = client.get(f"/api/v1/initiatives/?{query}")
        assert response.status_code == 200, response.content
        assert response.json()["count"] == len(response.json()["results"])
        return keys(response)

    # then each filter narrows the list as the HTML list does
    assert listed("business_unit=claims") == [fraud.key, chat.key]
    assert listed("business_unit=motor-claims") == [chat.key]
    assert listed("stage=pilot") == [fraud.key, chat.key]
    assert listed("stage=idea&stage=pilot") == [fraud.key, chat.key, vision.key]
    assert listed("ai_type=generative&ai_type=computer_vision") == [chat.key, vision.key]
    assert listed("priority=high") == [fraud.key]
    assert listed("risk_tier=high") == [vision.key]
    assert listed("owner=lead_a") == [fraud.key, vision.key]
    assert listed("purgatory=true") == [fraud.key]
    assert listed("purgatory=false") == [chat.key, vision.key]
    assert listed("q=fraud") == [fraud.key, chat.key]
    assert listed(f"q={vision.key.lower()}") == [vision.key]
    assert listed("ordering=-key") == [vision.key, chat.key, fraud.key]
    assert listed("ordering=-stage_entered") == [vision.key, chat.key, fraud.key]
    assert listed("business_unit=claims&stage=pilot&owner=contrib_a") == [chat.key]
    # and the purgatory flag and days in stage are computed per row
    rows = {row["key"]: row for row in client.get("/api/v1/initiatives/").json()["results"]}
    assert rows[fraud.key]["in_purgatory"] is True
    assert rows[fraud.key]["days_in_stage"] == 250
    assert rows[chat.key]["in_purgatory"] is False


def test_list_with_an_invalid_filter_value_is_400_per_field(admin_user):
    # when the stage and unit filters have values that do not exist
    response = token_client(admin_user).get("/api/v1/initiatives/?stage=limbo&business_unit=atlantis")

    # then each is named
    assert response.status_code == 400
    errors = response.json()
    assert errors["stage"] == ["Select a valid choice. limbo is not one of the available choices."]
    assert errors["business_unit"] == ["Select a valid choice. That choice is not one of the available choices."]


def test_pagination_counts_and_pages_follow_the_filters(unit_a, unit_b, admin_user, monkeypatch):
    # given 7 initiatives in Claims and 2 in Retail banking
    claims = [make_initiative(actor=admin_user, unit=unit_a, name=f"C{i}").key for i in range(7)]
    make_initiative(actor=admin_user, unit=unit_b, name="R1")
    make_initiative(actor=admin_user, unit=unit_b, name="R2")
    client = token_client(admin_user)

    # when Claims is listed three at a time
    first = client.get("/api/v1/initiatives/?business_unit=claims&page_size=3").json()
    last = client.get("/api/v1/initiatives/?business_unit=claims&page_size=3&page=3").json()
    beyond = client.get("/api/v1/initiatives/?business_unit=claims&page_size=3&page=4")

    # then the count is the filtered count, pages split it, and links keep the filter
    assert first["count"] == 7
    assert [row["key"] for row in first["results"]] == claims[:3]
    assert "business_unit=claims" in first["next"] and "page=2" in first["next"]
    assert first["previous"] is None
    assert [row["key"] for row in last["results"]] == claims[6:]
    assert last["next"] is None
    assert beyond.status_code == 404
    assert beyond.json() == {"detail": "Invalid page."}

    # and the page size is capped at the maximum
    monkeypatch.setattr(StandardPagination, "max_page_size", 4)
    capped = client.get("/api/v1/initiatives/?page_size=1000").json()
    assert len(capped["results"]) == 4
    assert capped["count"] == 9


# --- update ----------------------------------------------------------------------------------------------------


def test_patch_initiative_changes_only_the_given_fields(unit_a, lead_a, executive):
    # given an initiative
    initiative = make_initiative(actor=lead_a, unit=unit_a, name="Old name", priority="low")
    client = token_client(lead_a)

    # when its name, sponsor and target date are patched
    response = client.patch(f"/api/v1/initiatives/{initiative.key}/", {
        "name": "New name", "sponsor": "exec", "target_production_on": "2027-06-30"}, format="json")

    # then those fields changed and the rest did not
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "New name"
    assert response.json()["sponsor"] == "exec"
    initiative.refresh_from_db()
    assert (initiative.name, initiative.sponsor, initiative.priority) == ("New name", executive, "low")
    assert initiative.target_production_on.isoformat() == "2027-06-30"


def test_put_initiative_requires_the_required_fields(unit_a, lead_a):
    # given an initiative
    initiative = make_initiative(actor=lead_a, unit=unit_a, name="Keep")
    client = token_client(lead_a)

    # when a full update leaves out the required fields
    response = client.put(f"/api/v1/initiatives/{initiative.key}/", {"priority": "high"}, format="json")

    # then they are named, and nothing changed
    assert response.status_code == 400
    assert set(response.json()) == {"name", "business_unit", "ai_type"}
    initiative.refresh_from_db()
    assert initiative.priority == "medium"

    # and a complete body replaces the fields
    response = client.put(f"/api/v1/initiatives/{initiative.key}/", {
        "name": "Replaced", "business_unit": "claims", "ai_type": "agent", "priority": "high"}, format="json")
    assert response.status_code == 200, response.content
    initiative.refresh_from_db()
    assert (initiative.name, initiative.ai_type, initiative.priority) == ("Replaced", "agent", "high")


def test_patch_stage_is_refused_with_a_pointer_to_the_transition(unit_a, lead_a):
    # given an initiative in idea
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    client = token_client(lead_a)

    # when the stage is edited directly
    response = client.patch(f"/api/v1/initiatives/{initiative.key}/", {"stage": "production"}, format="json")

    # then it is refused and the stage stays
    assert response.status_code == 400
    assert response.json() == {
        "stage": ["Change the stage by recording a stage move (POST …/transition/), not by editing."]}
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA
    # while sending back the unchanged stage is harmless
    assert client.patch(f"/api/v1/initiatives/{initiative.key}/", {"stage": "idea", "name": "Same"},
                        format="json").status_code == 200


def test_patch_by_a_viewer_is_403_and_changes_nothing(unit_a, lead_a, viewer_a):
    # given an initiative a viewer can see
    initiative = make_initiative(actor=lead_a, unit=unit_a, name="Untouched")

    # when the viewer edits it
    response = token_client(viewer_a).patch(f"/api/v1/initiatives/{initiative.key}/", {"name": "Mine"},
                                            format="json")

    # then it is forbidden
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not edit this initiative."}
    initiative.refresh_from_db()
    assert initiative.name == "Untouched"


def test_delete_is_not_offered(unit_a, admin_user):
    initiative = make_initiative(actor=admin_user, unit=unit_a)
    response = token_client(admin_user).delete(f"/api/v1/initiatives/{initiative.key}/")
    assert response.status_code == 405
    assert Initiative.objects.filter(pk=initiative.pk).exists()


# --- another unit's initiative -----------------------------------------------------------------------------------


def test_another_units_initiative_is_404_for_retrieve_update_and_transition(unit_a, unit_b, lead_a, lead_b):
    # given an initiative of Claims
    initiative = make_initiative(actor=lead_a, unit=unit_a, name="Private")
    client = token_client(lead_b)
    url = f"/api/v1/initiatives/{initiative.key}/"

    # when the lead of Retail banking reads, edits, moves it or lists its moves
    responses = [
        client.get(url),
        client.patch(url, {"name": "Taken"}, format="json"),
        client.put(url, {"name": "Taken", "business_unit": "retail-banking", "ai_type": "agent"}, format="json"),
        client.post(f"{url}transition/", {"to_stage": "discovery", "rationale": "Mine now."}, format="json"),
        client.get(f"{url}transitions/"),
    ]

    # then it does not exist for them, and nothing changed
    assert [r.status_code for r in responses] == [404, 404, 404, 404, 404]
    assert all(r.json() == {"detail": "Not found."} for r in responses)
    initiative.refresh_from_db()
    assert (initiative.name, initiative.stage) == ("Private", Stage.IDEA)
    assert initiative.transitions.count() == 1


def test_unknown_key_is_404(admin_user):
    response = token_client(admin_user).get("/api/v1/initiatives/AI-999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- transitions -----------------------------------------------------------------------------------------------


def test_transition_records_the_move_and_returns_it(unit_a, lead_a):
    # given an initiative in idea
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    client = token_client(lead_a)

    # when it is moved to discovery
    response = client.post(f"/api/v1/initiatives/{initiative.key}/transition/", {
        "to_stage": "discovery", "rationale": "Problem confirmed with the claims team."}, format="json")

    # then the transition is returned and the initiative is in discovery
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["from_stage"], data["to_stage"], data["decision"]) == ("idea", "discovery", "advance")
    assert data["rationale"] == "Problem confirmed with the claims team."
    assert data["by"] == "lead_a"
    initiative.refresh_from_db()
    assert initiative.stage == Stage.DISCOVERY
    assert initiative.started_on == timezone.localdate()
    assert StageTransition.objects.get(pk=data["id"]).by == lead_a


def test_illegal_transition_is_400_naming_the_stages_and_writes_nothing(unit_a, lead_a):
    # given an initiative in idea
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    client = token_client(lead_a)

    # when it is sent straight to production
    response = client.post(f"/api/v1/initiatives/{initiative.key}/transition/", {
        "to_stage": "production", "rationale": "Ship it."}, format="json")

    # then the message names the stages, and nothing moved
    assert response.status_code == 400
    assert response.json() == {"to_stage": [
        "Cannot move from Idea to Production. Allowed next stages: Discovery, On hold, Cancelled."]}
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA
    assert initiative.transitions.count() == 1


def test_transition_input_errors_are_per_field(unit_a, lead_a):
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    client = token_client(lead_a)
    url = f"/api/v1/initiatives/{initiative.key}/transition/"

    no_reason = client.post(url, {"to_stage": "discovery", "rationale": "  "}, format="json")
    wrong_decision = client.post(url, {"to_stage": "discovery", "decision": "kill", "rationale": "x"}, format="json")
    not_a_stage = client.post(url, {"to_stage": "heaven", "rationale": "x"}, format="json")

    assert no_reason.status_code == 400
    assert no_reason.json() == {"rationale": ["Say why: every stage move needs a rationale."]}
    assert wrong_decision.status_code == 400
    assert wrong_decision.json() == {"to_stage": [
        "A move from Idea to Discovery records the decision Advance, not 'kill'."]}
    assert not_a_stage.status_code == 400
    assert not_a_stage.json() == {"to_stage": ['"heaven" is not a valid choice.']}
    assert initiative.transitions.count() == 1


def test_transition_by_a_viewer_in_scope_is_403(unit_a, lead_a, viewer_a):
    # given an initiative the viewer can see
    initiative = make_initiative(actor=lead_a, unit=unit_a)

    # when the viewer tries to move it
    response = token_client(viewer_a).post(f"/api/v1/initiatives/{initiative.key}/transition/", {
        "to_stage": "discovery", "rationale": "I think so."}, format="json")

    # then it is forbidden and nothing moved
    assert response.status_code == 403
    assert response.json() == {"detail": "Only the initiative's owner, a lead of its business unit or a portfolio "
                                         "admin can move its stage."}
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA


def test_transitions_lists_every_move_oldest_first(unit_a, lead_a):
    # given an initiative moved to discovery and pilot, then paused
    initiative = make_initiative(actor=lead_a, unit=unit_a)
    move(initiative, lead_a, Stage.DISCOVERY, Stage.PILOT, Stage.ON_HOLD)

    # when its moves are listed
    response = token_client(lead_a).get(f"/api/v1/initiatives/{initiative.key}/transitions/")

    # then all four are there, in order, with decisions
    assert response.status_code == 200
    assert [(t["from_stage"], t["to_stage"], t["decision"], t["by"]) for t in response.json()] == [
        ("", "idea", "advance", "lead_a"), ("idea", "discovery", "advance", "lead_a"),
        ("discovery", "pilot", "advance", "lead_a"), ("pilot", "on_hold", "pause", "lead_a"),
    ]
    # and the detail offers resuming to the stage it was paused from
    detail = token_client(lead_a).get(f"/api/v1/initiatives/{initiative.key}/").json()
    assert detail["next_stages"] == ["pilot", "cancelled"]


# --- objectives ------------------------------------------------------------------------------------------------


def test_objectives_create_list_and_scope(unit_a, unit_b, admin_user, lead_a, lead_b):
    # given a portfolio admin and two BU leads
    admin = token_client(admin_user)
    client_a = token_client(lead_a)

    # when the admin creates a company-wide objective and lead A one for Claims
    company = admin.post("/api/v1/objectives/", {"title": "Cut claims cost 20% by 2027",
                                                 "target_date": "2027-12-31"}, format="json")
    claims = client_a.post("/api/v1/objectives/", {"title": "Faster claims", "business_unit": "claims",
                                                   "owner": "lead_a"}, format="json")

    # then both exist, with unit and owner as slugs/usernames
    assert company.status_code == 201, company.content
    assert company.json()["business_unit"] is None
    assert company.json()["initiative_count"] == 0
    assert claims.status_code == 201, claims.content
    assert (claims.json()["business_unit"], claims.json()["owner"]) == ("claims", "lead_a")

    # and lead B sees the company-wide one but not Claims'
    listed_b = token_client(lead_b).get("/api/v1/objectives/").json()
    assert [row["title"] for row in listed_b["results"]] == ["Cut claims cost 20% by 2027"]
    assert token_client(lead_b).get(f"/api/v1/objectives/{claims.json()['id']}/").status_code == 404
    assert client_a.get(f"/api/v1/objectives/{claims.json()['id']}/").json()["title"] == "Faster claims"


def test_company_wide_objective_needs_a_portfolio_admin(unit_a, lead_a):
    response = token_client(lead_a).post("/api/v1/objectives/", {"title": "Everything"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only portfolio admins create company-wide objectives."}
    assert StrategicObjective.objects.count() == 0


def test_initiative_objectives_are_set_through_the_api(unit_a, lead_a, admin_user):
    # given an objective of Claims
    objective = objective_create(actor=admin_user, title="Faster claims", business_unit=unit_a)
    client = token_client(lead_a)

    # when an initiative is created serving it
    response = client.post("/api/v1/initiatives/", {
        "name": "Triage", "business_unit": "claims", "ai_type": "nlp", "objectives": [objective.pk]}, format="json")

    # then it is linked, and the objective counts it
    assert response.status_code == 201, response.content
    assert response.json()["objectives"] == [objective.pk]
    assert client.get(f"/api/v1/objectives/{objective.pk}/").json()["initiative_count"] == 1


# --- query counts ----------------------------------------------------------------------------------------------


def _portfolio(size: int, unit, actor) -> list[Initiative]:
    objective = objective_create(actor=actor, title=f"Objective {size}", business_unit=unit)
    made = []
    for i in range(size):
        initiative = make_initiative(actor=actor, unit=unit, name=f"Initiative {i}", owner=actor, sponsor=actor,
                                     technical_lead=actor, objectives=[objective])
        if i % 2:
            move(initiative, actor, Stage.DISCOVERY)
        kpi = make_kpi(actor=actor, initiative=initiative)
        measurement_record(actor=actor, kpi=kpi, date=timezone.localdate(), value=Decimal("90"))
        made.append(initiative)
    return made


@pytest.mark.parametrize("role", ["lead", "executive"])
def test_query_counts_of_initiative_and_objective_endpoints_do_not_grow_with_the_portfolio(role, unit_a):
    # given a user and a portfolio of 5 initiatives
    lead = make_user(unit=unit_a, unit_role=UnitRole.LEAD, username="lead")
    user = lead if role == "lead" else make_user(role="Executive", username="exec2")
    client = token_client(user)
    first = _portfolio(5, unit_a, lead)[0]
    objective = StrategicObjective.objects.get()
    urls = [
        "/api/v1/initiatives/", "/api/v1/initiatives/?business_unit=claims&stage=idea&owner=lead&q=Initiative",
        f"/api/v1/initiatives/{first.key}/", f"/api/v1/initiatives/{first.key}/transitions/",
        "/api/v1/objectives/", f"/api/v1/objectives/{objective.pk}/",
    ]
    at_5 = [count_queries(client, url) for url in urls]

    # when the portfolio grows to 50
    _portfolio(45, unit_a, lead)
    at_50 = [count_queries(client, url) for url in urls]

    # then every endpoint makes the same number of queries
    assert at_5 == at_50
