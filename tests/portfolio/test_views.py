"""The portfolio HTML pages: overview, list, detail and the forms that create, edit, move and measure."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.kpis.models import KPI, Measurement
from apps.kpis.services import measurement_record
from apps.portfolio.choices import Stage
from apps.portfolio.models import Initiative, StageTransition
from apps.portfolio.services import initiative_transition
from tests.factories import make_initiative, make_kpi, make_unit, make_user

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def signed_in(client, user):
    client.force_login(user)
    return client


def walk(actor, initiative, moves):
    """Apply (stage, days_ago) moves in order."""
    now = timezone.now()
    for stage, days_ago in moves:
        initiative_transition(actor=actor, initiative=initiative, to_stage=stage, rationale=f"Go to {stage}.",
                              at=now - days_ago * DAY)


def keys(response) -> list[str]:
    return [initiative.key for initiative in response.context["initiatives"]]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def portfolio(admin_user, lead_a, unit_a, unit_b):
    """Four initiatives: a pilot stuck 400 days, a young pilot, one in production, one idea."""
    start = timezone.now() - 700 * DAY
    stuck = make_initiative(actor=admin_user, unit=unit_a, name="Stuck claims pilot", created_at=start, owner=lead_a,
                            key="AI-001", ai_type="generative", business_problem="Adjusters re-key claim forms.")
    walk(admin_user, stuck, [(Stage.DISCOVERY, 600), (Stage.PILOT, 400)])
    young = make_initiative(actor=admin_user, unit=unit_a, name="Young fraud pilot", created_at=start, key="AI-002")
    walk(admin_user, young, [(Stage.DISCOVERY, 300), (Stage.PILOT, 100)])
    shipped = make_initiative(actor=admin_user, unit=unit_b, name="Shipped pricing model", created_at=start,
                              key="AI-003")
    walk(admin_user, shipped, [(Stage.DISCOVERY, 500), (Stage.PILOT, 400), (Stage.PRODUCTION, 200)])
    idea = make_initiative(actor=admin_user, unit=unit_b, name="Branch chatbot idea", created_at=start, key="AI-004",
                           ai_type="agent")
    return {"stuck": stuck, "young": young, "shipped": shipped, "idea": idea}


# --- Sign-in required ---------------------------------------------------------------------------------------------


def test_every_page_sends_anonymous_visitors_to_sign_in(client, portfolio):
    kpi = make_kpi(actor=portfolio["stuck"].owner, initiative=portfolio["stuck"])
    urls = [
        reverse("portfolio:overview"), reverse("portfolio:initiative_list"), reverse("portfolio:initiative_create"),
        reverse("portfolio:initiative_detail", args=["AI-001"]), reverse("portfolio:initiative_edit", args=["AI-001"]),
        reverse("portfolio:initiative_transition", args=["AI-001"]), reverse("portfolio:kpi_create", args=["AI-001"]),
        reverse("portfolio:kpi_edit", args=[kpi.pk]), reverse("portfolio:measurement_create", args=[kpi.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


# --- Overview -----------------------------------------------------------------------------------------------------


def test_overview_shows_counts_conversion_funnel_pilot_days_and_purgatory(client, executive, portfolio):
    response = signed_in(client, executive).get(reverse("portfolio:overview"))

    assert response.status_code == 200
    page = text(response)
    overview = response.context["overview"]
    assert overview.total == 4
    assert overview.conversion == pytest.approx(1 / 3)
    assert "33%" in page  # 1 of 3 pilots reached production
    assert "1 of 3 pilots reached production" in page
    assert [i.key for i in overview.purgatory] == ["AI-001"]
    assert 'href="/portfolio/initiatives/AI-001/"' in page
    assert "Young fraud pilot" not in page  # 100 days in pilot: not in purgatory
    assert "?purgatory=true&amp;ordering=stage_entered" in page
    assert '"type":"funnel"' in page
    assert '"type":"bar"' in page  # median days in pilot by unit
    assert "/static/vendor/plotly/plotly.min.js" in page
    assert "cdn" not in page.lower()


def test_overview_stage_counts_link_to_the_filtered_list(client, executive, portfolio):
    response = signed_in(client, executive).get(reverse("portfolio:overview"))

    counts = {stage: count for stage, _label, count in response.context["stage_counts"]}
    assert counts == {"idea": 1, "discovery": 0, "pilot": 2, "production": 1, "scaled": 0, "retired": 0,
                      "on_hold": 0, "cancelled": 0}
    assert f'{reverse("portfolio:initiative_list")}?stage=pilot' in text(response)


def test_overview_is_scoped_to_the_users_units(client, lead_b, portfolio):
    response = signed_in(client, lead_b).get(reverse("portfolio:overview"))

    assert response.context["overview"].total == 2
    assert "Stuck claims pilot" not in text(response)


def test_overview_empty_state_says_what_to_do_next(client, lead_a, viewer_a):
    lead_page = text(signed_in(client, lead_a).get(reverse("portfolio:overview")))
    assert "Register the first initiative" in lead_page
    assert reverse("portfolio:initiative_create") in lead_page

    viewer_page = text(signed_in(client, viewer_a).get(reverse("portfolio:overview")))
    assert "Ask a business-unit lead" in viewer_page
    assert reverse("portfolio:initiative_create") not in viewer_page


def test_overview_for_a_user_without_any_unit_is_empty_not_an_error(client, portfolio):
    response = signed_in(client, make_user(username="newcomer")).get(reverse("portfolio:overview"))

    assert response.status_code == 200
    assert response.context["overview"].total == 0
    assert "Ask a business-unit lead" in text(response)


def test_plotly_js_is_served_from_the_installed_package(client):
    assert finders.find("vendor/plotly/plotly.min.js") is not None
    response = client.get("/static/vendor/plotly/plotly.min.js")
    assert response.status_code == 200


# --- List ---------------------------------------------------------------------------------------------------------


def test_list_shows_every_visible_initiative_with_stage_and_unit(client, executive, portfolio):
    response = signed_in(client, executive).get(reverse("portfolio:initiative_list"))

    assert response.status_code == 200
    assert keys(response) == ["AI-001", "AI-002", "AI-003", "AI-004"]
    page = text(response)
    assert '<span class="badge stage-pilot">Pilot</span>' in page
    assert "Retail banking" in page
    assert "Purgatory</span>" in page  # AI-001 is flagged


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("business_unit=claims", ["AI-001", "AI-002"]),
        ("stage=pilot", ["AI-001", "AI-002"]),
        ("stage=pilot&stage=production", ["AI-001", "AI-002", "AI-003"]),
        ("ai_type=agent", ["AI-004"]),
        ("owner=lead_a", ["AI-001"]),
        ("purgatory=true", ["AI-001"]),
        ("purgatory=false", ["AI-002", "AI-003", "AI-004"]),
        ("q=pricing", ["AI-003"]),
        ("q=ai-004", ["AI-004"]),
        ("q=re-key", ["AI-001"]),
        ("business_unit=claims&stage=pilot&purgatory=false", ["AI-002"]),
    ],
)
def test_list_filters(client, executive, portfolio, query, expected):
    response = signed_in(client, executive).get(f"{reverse('portfolio:initiative_list')}?{query}")

    assert response.status_code == 200
    assert keys(response) == expected


def test_list_sorts_by_the_ordering_parameter(client, executive, portfolio):
    client = signed_in(client, executive)
    url = reverse("portfolio:initiative_list")

    assert keys(client.get(f"{url}?ordering=name")) == ["AI-004", "AI-003", "AI-001", "AI-002"]
    assert keys(client.get(f"{url}?ordering=-name")) == ["AI-002", "AI-001", "AI-003", "AI-004"]
    # Days in stage, longest first: the idea has been idea for 700 days, then the stuck pilot (400 days).
    assert keys(client.get(f"{url}?ordering=stage_entered"))[:2] == ["AI-004", "AI-001"]


def test_list_sort_headers_toggle_and_keep_filters(client, executive, portfolio):
    page = text(signed_in(client, executive).get(f"{reverse('portfolio:initiative_list')}?stage=pilot&ordering=name"))

    assert 'href="?stage=pilot&amp;ordering=-name"' in page  # clicking the sorted column reverses it
    assert 'href="?stage=pilot&amp;ordering=key"' in page
    assert 'class="sort asc"' in page


def test_list_paginates_25_a_page_and_keeps_filters_in_page_links(client, admin_user, unit_a, unit_b):
    for number in range(1, 31):
        make_initiative(actor=admin_user, unit=unit_a, name=f"Claims {number:02d}", key=f"AI-{number:03d}")
    for number in range(31, 34):
        make_initiative(actor=admin_user, unit=unit_b, name=f"Retail {number}", key=f"AI-{number:03d}")
    client = signed_in(client, admin_user)
    url = reverse("portfolio:initiative_list")

    first = client.get(f"{url}?business_unit=claims&ordering=-key")
    assert keys(first) == [f"AI-{n:03d}" for n in range(30, 5, -1)]
    assert 'href="?business_unit=claims&amp;ordering=-key&amp;page=2"' in text(first)
    assert "Page 1 of 2" in text(first)

    second = client.get(f"{url}?business_unit=claims&ordering=-key&page=2")
    assert keys(second) == ["AI-005", "AI-004", "AI-003", "AI-002", "AI-001"]
    assert 'href="?business_unit=claims&amp;ordering=-key&amp;page=1"' in text(second)


def test_list_empty_state_offers_to_clear_filters(client, executive, portfolio):
    response = signed_in(client, executive).get(f"{reverse('portfolio:initiative_list')}?q=nothing-like-this")

    assert keys(response) == []
    page = text(response)
    assert "No initiatives match these filters" in page
    assert "Clear filters" in page


def test_list_empty_state_invites_the_first_registration(client, lead_a):
    page = text(signed_in(client, lead_a).get(reverse("portfolio:initiative_list")))

    assert "Register the first initiative" in page


def test_list_is_scoped_to_the_users_units(client, lead_b, portfolio):
    response = signed_in(client, lead_b).get(reverse("portfolio:initiative_list"))

    assert keys(response) == ["AI-003", "AI-004"]


# --- Detail -------------------------------------------------------------------------------------------------------


@pytest.fixture
def measured(admin_user, lead_a, unit_a):
    """A pilot owned by lead_a with one KPI (100 -> 60 hours, EUR 50 an hour) measured twice."""
    sponsor = make_user(username="sponsor", first_name="Sara", last_name="Sponsor")
    tech = make_user(username="tech", first_name="Theo", last_name="Tech")
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Claims triage", key="AI-042", owner=lead_a,
                                 sponsor=sponsor, technical_lead=tech, created_at=timezone.now() - 300 * DAY,
                                 business_problem="Claims wait days for triage.",
                                 value_hypothesis="Triage in minutes saves 40 hours a week.")
    walk(admin_user, initiative, [(Stage.DISCOVERY, 250), (Stage.PILOT, 30)])
    today = timezone.localdate()
    kpi = make_kpi(actor=admin_user, initiative=initiative, name="Handling time", unit="hours",
                   baseline_date=today - 200 * DAY, target_date=today + 165 * DAY)
    measurement_record(actor=admin_user, kpi=kpi, date=today - 150 * DAY, value=Decimal("95"))
    measurement_record(actor=admin_user, kpi=kpi, date=today - 100 * DAY, value=Decimal("80"), note="After rollout")
    return initiative, kpi


def test_detail_shows_header_people_business_case_and_timeline(client, lead_a, measured):
    initiative, _ = measured
    response = signed_in(client, lead_a).get(reverse("portfolio:initiative_detail", args=["AI-042"]))

    assert response.status_code == 200
    page = text(response)
    assert "AI-042" in page and "Claims triage" in page
    assert '<span class="badge stage-pilot">Pilot</span>' in page
    assert "Claims" in page and "Not yet classified" in page
    assert response.context["days_in_stage"] == 30
    assert "Sara Sponsor" in page and "Theo Tech" in page and lead_a.display_name in page
    assert "Claims wait days for triage." in page and "Triage in minutes saves 40 hours a week." in page
    assert [entry.transition.to_stage for entry in response.context["timeline"]] == ["idea", "discovery", "pilot"]
    assert "Go to discovery." in page
    assert round(response.context["pilot_days"]) == 30
    assert "In pilot purgatory" not in page


def test_detail_kpi_table_shows_progress_status_realized_value_and_chart(client, lead_a, measured):
    _, kpi = measured
    response = signed_in(client, lead_a).get(reverse("portfolio:initiative_detail", args=["AI-042"]))

    [row] = response.context["kpi_rows"]
    assert row.kpi == kpi
    assert row.status.progress_percent == 50  # 100 -> 80 of the way to 60
    assert row.status.status == "on_track"
    page = text(response)
    assert "Handling time" in page
    assert "50%" in page
    assert '<span class="badge status-on_track">On track</span>' in page
    assert "EUR 1,000" in page  # 20 hours better × EUR 50
    assert f'id="kpi-chart-{kpi.pk}"' in page
    chart = re.search(rf'<script type="application/json" id="kpi-chart-{kpi.pk}-data">(.*?)</script>', page).group(1)
    assert '"name":"Target line"' in chart and '"name":"Actual"' in chart
    assert "[95.0,80.0]" in chart  # the measurements, oldest first
    assert "After rollout" in page  # recent measurements


def test_detail_warns_about_pilot_purgatory(client, executive, portfolio):
    response = signed_in(client, executive).get(reverse("portfolio:initiative_detail", args=["AI-001"]))

    assert "In pilot purgatory." in text(response)
    assert response.context["days_in_stage"] == 400


def test_detail_shows_edit_move_and_kpi_buttons_only_to_those_who_may(client, lead_a, viewer_a, measured):
    initiative, kpi = measured
    edit = reverse("portfolio:initiative_edit", args=["AI-042"])
    move = reverse("portfolio:initiative_transition", args=["AI-042"])
    add_kpi = reverse("portfolio:kpi_create", args=["AI-042"])
    record = reverse("portfolio:measurement_create", args=[kpi.pk])

    lead_page = text(signed_in(client, lead_a).get(reverse("portfolio:initiative_detail", args=["AI-042"])))
    assert all(url in lead_page for url in (edit, move, add_kpi, record))

    viewer_page = text(signed_in(client, viewer_a).get(reverse("portfolio:initiative_detail", args=["AI-042"])))
    assert not any(url in viewer_page for url in (edit, move, add_kpi, record))


def test_detail_without_kpis_invites_the_first_kpi(client, lead_a, portfolio):
    page = text(signed_in(client, lead_a).get(reverse("portfolio:initiative_detail", args=["AI-002"])))

    assert "Add the first KPI" in page
    assert "plotly.min.js" not in page  # no charts, no 4 MB script


def test_another_units_initiative_is_404_everywhere(client, lead_b, measured):
    initiative, kpi = measured
    client = signed_in(client, lead_b)
    for url in (
        reverse("portfolio:initiative_detail", args=["AI-042"]),
        reverse("portfolio:initiative_edit", args=["AI-042"]),
        reverse("portfolio:initiative_transition", args=["AI-042"]),
        reverse("portfolio:kpi_create", args=["AI-042"]),
        reverse("portfolio:kpi_edit", args=[kpi.pk]),
        reverse("portfolio:measurement_create", args=[kpi.pk]),
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"name": "x", "rationale": "x"}).status_code == 404, url
    assert Initiative.objects.get(pk=initiative.pk).name == "Claims triage"


def test_a_viewer_may_read_but_gets_403_on_the_forms(client, viewer_a, measured):
    _, kpi = measured
    client = signed_in(client, viewer_a)
    assert client.get(reverse("portfolio:initiative_detail", args=["AI-042"])).status_code == 200
    for url in (
        reverse("portfolio:initiative_create"),
        reverse("portfolio:initiative_edit", args=["AI-042"]),
        reverse("portfolio:initiative_transition", args=["AI-042"]),
        reverse("portfolio:kpi_create", args=["AI-042"]),
        reverse("portfolio:kpi_edit", args=[kpi.pk]),
        reverse("portfolio:measurement_create", args=[kpi.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "You may not do this" in text(response)


# --- Create and edit ----------------------------------------------------------------------------------------------


def initiative_form(unit, owner, **overrides) -> dict:
    data = {
        "key": "", "name": "Invoice matching", "business_unit": unit.pk, "ai_type": "predictive_ml",
        "priority": "high", "business_problem": "Invoices are matched by hand.", "value_hypothesis": "Save 2 FTE.",
        "owner": owner.pk, "sponsor": "", "technical_lead": "", "impact_score": "4", "feasibility_score": "3",
        "risk_tier": "minimal", "operator_role": "deployer", "budget": "120000", "started_on": "",
        "target_production_on": "",
    }
    data.update(overrides)
    return data


def test_create_registers_the_initiative_in_idea_and_opens_it(client, lead_a, unit_a):
    client = signed_in(client, lead_a)
    assert client.get(reverse("portfolio:initiative_create")).status_code == 200

    response = client.post(reverse("portfolio:initiative_create"), initiative_form(unit_a, lead_a))

    initiative = Initiative.objects.get(name="Invoice matching")
    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio:initiative_detail", args=[initiative.key])
    assert initiative.key == "AI-001"
    assert (initiative.stage, initiative.owner, initiative.priority, initiative.budget) == (
        "idea", lead_a, "high", Decimal("120000"))
    assert StageTransition.objects.filter(initiative=initiative, to_stage="idea").count() == 1


def test_create_offers_only_units_the_user_may_write(client, lead_a, unit_a, unit_b):
    response = signed_in(client, lead_a).get(reverse("portfolio:initiative_create"))

    assert list(response.context["form"].fields["business_unit"].queryset) == [unit_a]


def test_create_shows_field_errors_inline_and_writes_nothing(client, lead_a, unit_a, portfolio):
    client = signed_in(client, lead_a)

    missing = client.post(reverse("portfolio:initiative_create"), initiative_form(unit_a, lead_a, name=""))
    taken = client.post(reverse("portfolio:initiative_create"), initiative_form(unit_a, lead_a, key="ai-001"))

    assert missing.status_code == 200
    assert missing.context["form"].errors["name"] == ["This field is required."]
    assert taken.status_code == 200
    assert taken.context["form"].errors["key"] == ["The key AI-001 is already used by another initiative."]
    assert "The key AI-001 is already used by another initiative." in text(taken)
    assert Initiative.objects.count() == 4


def test_edit_changes_the_initiative(client, lead_a, unit_a, measured):
    initiative, _ = measured
    client = signed_in(client, lead_a)
    form = client.get(reverse("portfolio:initiative_edit", args=["AI-042"])).context["form"]
    assert form.initial["name"] == "Claims triage"
    assert form.fields["business_unit"].disabled  # only portfolio admins move initiatives between units

    data = initiative_form(unit_a, lead_a, name="Claims triage v2", priority="critical", risk_tier="high")
    del data["key"]
    response = client.post(reverse("portfolio:initiative_edit", args=["AI-042"]), data)

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert (initiative.name, initiative.priority, initiative.risk_tier, initiative.stage) == (
        "Claims triage v2", "critical", "high", "pilot")


# --- Stage moves --------------------------------------------------------------------------------------------------


def test_move_form_offers_only_the_allowed_next_stages(client, lead_a, measured):
    client = signed_in(client, lead_a)

    pilot_form = client.get(reverse("portfolio:initiative_transition", args=["AI-042"])).context["form"]
    assert [value for value, _ in pilot_form.fields["to_stage"].choices] == [
        "production", "discovery", "on_hold", "cancelled"]


def test_move_from_on_hold_offers_the_paused_stage(client, admin_user, lead_a, measured):
    initiative, _ = measured
    initiative_transition(actor=admin_user, initiative=initiative, to_stage="on_hold", rationale="Budget freeze.")

    form = signed_in(client, lead_a).get(reverse("portfolio:initiative_transition", args=["AI-042"])).context["form"]

    assert [value for value, _ in form.fields["to_stage"].choices] == ["pilot", "cancelled"]


def test_move_records_the_transition_with_decision_and_rationale(client, lead_a, measured):
    initiative, _ = measured
    response = signed_in(client, lead_a).post(
        reverse("portfolio:initiative_transition", args=["AI-042"]),
        {"to_stage": "production", "decision": "", "rationale": "KPI on track; gate review passed."},
    )

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.stage == "production"
    last = initiative.transitions.order_by("-at", "-id").first()
    assert (last.from_stage, last.to_stage, last.decision, last.by, last.rationale) == (
        "pilot", "production", "advance", lead_a, "KPI on track; gate review passed.")


def test_move_refuses_an_illegal_stage_or_a_missing_rationale(client, lead_a, measured):
    initiative, _ = measured
    client = signed_in(client, lead_a)
    url = reverse("portfolio:initiative_transition", args=["AI-042"])

    illegal = client.post(url, {"to_stage": "retired", "decision": "", "rationale": "Skip ahead."})
    silent = client.post(url, {"to_stage": "production", "decision": "", "rationale": "   "})
    wrong_decision = client.post(url, {"to_stage": "production", "decision": "kill", "rationale": "Hmm."})

    assert "Select a valid choice. retired is not one of the available choices." in text(illegal)
    assert silent.context["form"].errors["rationale"] == ["This field is required."]
    assert "records the decision Advance, not &#x27;kill&#x27;" in text(wrong_decision)
    initiative.refresh_from_db()
    assert initiative.stage == "pilot"
    assert initiative.transitions.count() == 3


def test_move_of_a_retired_initiative_says_there_is_nothing_left(client, admin_user, portfolio):
    walk(admin_user, portfolio["shipped"], [(Stage.RETIRED, 1)])

    response = signed_in(client, admin_user).get(reverse("portfolio:initiative_transition", args=["AI-003"]))

    assert response.context["targets"] == []
    assert "No further moves" in text(response)


# --- KPIs and measurements ----------------------------------------------------------------------------------------


def kpi_form(**overrides) -> dict:
    data = {
        "name": "Straight-through rate", "category": "efficiency", "unit": "%", "direction": "up",
        "baseline_value": "20", "baseline_date": "2026-01-01", "target_value": "60", "target_date": "2026-12-31",
        "value_per_unit": "1000", "source": "manual", "cadence": "monthly",
    }
    data.update(overrides)
    return data


def test_add_kpi_defines_it_and_returns_to_the_initiative(client, lead_a, measured):
    initiative, _ = measured
    response = signed_in(client, lead_a).post(reverse("portfolio:kpi_create", args=["AI-042"]), kpi_form())

    kpi = KPI.objects.get(initiative=initiative, name="Straight-through rate")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portfolio:initiative_detail', args=['AI-042'])}#kpi-{kpi.pk}"
    assert (kpi.baseline_value, kpi.target_value, kpi.direction) == (Decimal(20), Decimal(60), "up")


def test_add_kpi_shows_the_services_rule_on_the_field(client, lead_a, measured):
    initiative, _ = measured
    response = signed_in(client, lead_a).post(reverse("portfolio:kpi_create", args=["AI-042"]),
                                              kpi_form(target_value="10"))

    assert response.status_code == 200
    assert response.context["form"].errors["target_value"] == [
        "Higher is better, so the target must be above the baseline."]
    assert not KPI.objects.filter(name="Straight-through rate").exists()


def test_edit_kpi_changes_its_definition(client, lead_a, measured):
    _, kpi = measured
    client = signed_in(client, lead_a)
    assert client.get(reverse("portfolio:kpi_edit", args=[kpi.pk])).context["form"].initial["name"] == "Handling time"

    response = client.post(reverse("portfolio:kpi_edit", args=[kpi.pk]), kpi_form(
        name="Handling time", unit="hours", direction="down", baseline_value="100", target_value="50",
        baseline_date=str(kpi.baseline_date), target_date=str(kpi.target_date), value_per_unit="50"))

    assert response.status_code == 302
    kpi.refresh_from_db()
    assert (kpi.target_value, kpi.category) == (Decimal(50), "efficiency")


def test_record_one_measurement(client, lead_a, measured):
    _, kpi = measured
    day = timezone.localdate() - 10 * DAY
    response = signed_in(client, lead_a).post(reverse("portfolio:measurement_create", args=[kpi.pk]),
                                              {"mode": "single", "date": day.isoformat(), "value": "72.5",
                                               "note": "October close"})

    assert response.status_code == 302
    measurement = Measurement.objects.get(kpi=kpi, date=day)
    assert (measurement.value, measurement.note, measurement.recorded_by) == (Decimal("72.5"), "October close", lead_a)


def test_record_one_measurement_in_the_future_is_refused(client, lead_a, measured):
    _, kpi = measured
    day = timezone.localdate() + 3 * DAY
    response = signed_in(client, lead_a).post(reverse("portfolio:measurement_create", args=[kpi.pk]),
                                              {"mode": "single", "date": day.isoformat(), "value": "70"})

    assert response.status_code == 200
    assert response.context["single"].errors["date"] == [f"{day} is in the future."]
    assert kpi.measurements.count() == 2


def test_paste_csv_records_every_line(client, lead_a, measured):
    _, kpi = measured
    today = timezone.localdate()
    lines = ["date,value,note"] + [f"{(today - n * DAY).isoformat()},{70 + n},week {n}" for n in (30, 20, 10)]
    response = signed_in(client, lead_a).post(reverse("portfolio:measurement_create", args=[kpi.pk]),
                                              {"mode": "csv", "csv": "\n".join(lines)})

    assert response.status_code == 302
    assert kpi.measurements.count() == 5
    assert kpi.measurements.get(date=today - 10 * DAY).note == "week 10"


def test_paste_csv_with_one_bad_row_writes_nothing_and_names_row_and_field(client, lead_a, measured):
    _, kpi = measured
    today = timezone.localdate()
    pasted = "\n".join([
        "date,value",
        f"{(today - 30 * DAY).isoformat()},75",
        f"{(today - 20 * DAY).isoformat()},seventy",
        f"{(today - 10 * DAY).isoformat()},71",
    ])
    response = signed_in(client, lead_a).post(reverse("portfolio:measurement_create", args=[kpi.pk]),
                                              {"mode": "csv", "csv": pasted})

    assert response.status_code == 200
    assert kpi.measurements.count() == 2  # only the fixture's
    [(error, row)] = response.context["row_errors"]
    assert (error.row, error.field, error.message) == (2, "value", "'seventy' is not a number.")
    page = text(response)
    assert '<td class="num">2</td><td><code>value</code></td>' in page
    assert "&#x27;seventy&#x27; is not a number." in page
    assert "nothing was saved" in page
    assert f"{(today - 20 * DAY).isoformat()},seventy" in page  # the pasted text is kept in the textarea


def test_paste_empty_csv_explains_what_to_paste(client, lead_a, measured):
    _, kpi = measured
    response = signed_in(client, lead_a).post(reverse("portfolio:measurement_create", args=[kpi.pk]),
                                              {"mode": "csv", "csv": "date,value\n"})

    assert response.context["bulk"].errors["csv"] == ["Send at least one measurement."]
    assert kpi.measurements.count() == 2


# --- Query counts -------------------------------------------------------------------------------------------------


def grow_portfolio(actor, units, people, count: int, start: int) -> None:
    """Initiatives spread over units, stages and owners, each with a KPI and a measurement."""
    today = timezone.localdate()
    for number in range(start, start + count):
        initiative = make_initiative(actor=actor, unit=units[number % len(units)], name=f"Initiative {number}",
                                     owner=people[number % 3], created_at=timezone.now() - 500 * DAY)
        moves = [(Stage.DISCOVERY, 400), (Stage.PILOT, 300), (Stage.PRODUCTION, 50)][: number % 4]
        walk(actor, initiative, moves)
        kpi = make_kpi(actor=actor, initiative=initiative, baseline_date=today - 300 * DAY,
                       target_date=today + 60 * DAY)
        measurement_record(actor=actor, kpi=kpi, date=today - 5 * DAY, value=Decimal(number % 90 + 1))


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_overview_list_and_detail_query_counts_do_not_grow_with_the_portfolio(client, admin_user, lead_a, unit_a):
    sub_unit = make_unit("Claims fraud", parent=unit_a)
    units = [unit_a, sub_unit]
    people = [make_user(username=f"owner{n}") for n in range(3)]
    grow_portfolio(admin_user, units, people, 5, start=1)
    detail = Initiative.objects.order_by("pk").first()
    make_kpi(actor=admin_user, initiative=detail, name="Second KPI")
    client = signed_in(client, lead_a)
    urls = [
        reverse("portfolio:overview"),
        reverse("portfolio:initiative_list"),
        f"{reverse('portfolio:initiative_list')}?business_unit=claims&stage=pilot&ordering=-stage_entered&q=Init",
        reverse("portfolio:initiative_detail", args=[detail.key]),
    ]
    small = [count_queries(client, url) for url in urls]

    grow_portfolio(admin_user, units, people, 45, start=6)
    for _ in range(3):
        make_kpi(actor=admin_user, initiative=detail)  # more KPIs on the detail page, same number of queries
    large = [count_queries(client, url) for url in urls]

    assert Initiative.objects.count() == 50
    assert large == small
    assert max(small[:3]) <= 20
    assert small[3] <= 32  # the detail page also embeds the MLOps, cost and compliance cards (fixed queries each)
