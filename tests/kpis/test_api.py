"""KPI and measurement REST API: definitions with computed status, single and bulk measurements."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.kpis.models import KPI, Measurement
from apps.kpis.services import measurement_record
from tests.factories import make_initiative, make_kpi

pytestmark = pytest.mark.django_db

BASELINE = date(2025, 1, 1)
TARGET = date(2025, 12, 31)


def token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def count_queries(client: APIClient, url: str) -> int:
    client.get(url)  # warm up: the first request of a token stamps its last use
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


KPI_BODY = {
    "name": "Handling hours", "category": "cost_reduction", "unit": "hours", "direction": "down",
    "baseline_value": "100", "baseline_date": "2025-01-01", "target_value": "60", "target_date": "2025-12-31",
    "value_per_unit": "50",
}


@pytest.fixture
def initiative(unit_a, lead_a):
    return make_initiative(actor=lead_a, unit=unit_a, name="Claims triage")


@pytest.fixture
def kpi(initiative, lead_a):
    return make_kpi(actor=lead_a, initiative=initiative, name="Handling hours", baseline_value=Decimal("100"),
                    baseline_date=BASELINE, target_value=Decimal("60"), target_date=TARGET,
                    value_per_unit=Decimal("50"))


# --- KPIs ------------------------------------------------------------------------------------------------------


def test_create_kpi_with_a_token_for_an_initiative_by_key(initiative, lead_a):
    # when a lead defines a KPI for the initiative, naming it by key
    response = token_client(lead_a).post("/api/v1/kpis/", {**KPI_BODY, "initiative": initiative.key},
                                         format="json")

    # then it exists, with no data yet
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["initiative"] == initiative.key
    assert (data["name"], data["direction"], data["baseline_value"], data["target_value"]) == (
        "Handling hours", "down", "100.000000", "60.000000")
    assert (data["latest_value"], data["progress"], data["status"], data["realized_value"]) == (
        None, None, "no_data", None)
    assert KPI.objects.get(pk=data["id"]).initiative == initiative


def test_kpi_shows_latest_value_progress_status_and_realized_value(kpi, lead_a):
    # given a measurement half-way from baseline (100) to target (60), exactly on the straight line
    measurement_record(actor=lead_a, kpi=kpi, date=date(2025, 3, 1), value=Decimal("95"))
    measurement_record(actor=lead_a, kpi=kpi, date=date(2025, 7, 2), value=Decimal("80"))

    # when the KPI is read
    data = token_client(lead_a).get(f"/api/v1/kpis/{kpi.pk}/").json()

    # then the latest value drives progress, status and realized value (20 hours saved × 50)
    assert (data["latest_value"], data["latest_date"]) == ("80.000000", "2025-07-02")
    assert data["progress"] == 0.5
    assert data["expected"] == 0.5
    assert data["status"] == "on_track"
    assert data["improvement"] == "20.000000"
    assert data["realized_value"] == "1000.00"


def test_create_kpi_with_a_target_on_the_wrong_side_is_400_and_writes_nothing(initiative, lead_a):
    response = token_client(lead_a).post("/api/v1/kpis/", {
        **KPI_BODY, "initiative": initiative.key, "target_value": "120"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"target_value": ["Lower is better, so the target must be below the baseline."]}
    assert KPI.objects.count() == 0


def test_create_kpi_field_errors_are_per_field(initiative, lead_a):
    response = token_client(lead_a).post("/api/v1/kpis/", {
        "initiative": "AI-999", "name": "", "direction": "sideways", "baseline_value": "lots"}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["initiative"] == ["Object with key=AI-999 does not exist."]
    assert errors["name"] == ["This field may not be blank."]
    assert errors["direction"] == ['"sideways" is not a valid choice.']
    assert errors["baseline_value"] == ["A valid number is required."]
    assert errors["target_date"] == ["This field is required."]


def test_create_kpi_for_another_units_initiative_does_not_reveal_it(initiative, lead_b):
    response = token_client(lead_b).post("/api/v1/kpis/", {**KPI_BODY, "initiative": initiative.key},
                                         format="json")
    assert response.status_code == 400
    assert response.json() == {"initiative": [f"Object with key={initiative.key} does not exist."]}
    assert KPI.objects.count() == 0


def test_create_kpi_as_a_viewer_is_403(initiative, viewer_a):
    response = token_client(viewer_a).post("/api/v1/kpis/", {**KPI_BODY, "initiative": initiative.key},
                                           format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not change this initiative's KPIs."}
    assert KPI.objects.count() == 0


def test_update_kpi_changes_the_definition_and_status(kpi, lead_a):
    # given a KPI measured at 80 on 2025-07-02
    measurement_record(actor=lead_a, kpi=kpi, date=date(2025, 7, 2), value=Decimal("80"))

    # when the target is lowered to 20 (so 80 is only a quarter of the way)
    response = token_client(lead_a).patch(f"/api/v1/kpis/{kpi.pk}/", {"target_value": "20"}, format="json")

    # then the definition and the status follow
    assert response.status_code == 200, response.content
    assert response.json()["target_value"] == "20.000000"
    assert response.json()["progress"] == 0.25
    assert response.json()["status"] == "off_track"
    kpi.refresh_from_db()
    assert kpi.target_value == Decimal("20")


def test_update_kpi_out_of_scope_is_404_and_as_viewer_403(kpi, lead_b, viewer_a):
    other = token_client(lead_b).patch(f"/api/v1/kpis/{kpi.pk}/", {"name": "Mine"}, format="json")
    viewer = token_client(viewer_a).patch(f"/api/v1/kpis/{kpi.pk}/", {"name": "Mine"}, format="json")
    assert other.status_code == 404
    assert other.json() == {"detail": "Not found."}
    assert viewer.status_code == 403
    kpi.refresh_from_db()
    assert kpi.name == "Handling hours"


def test_list_kpis_filters_by_initiative_key(unit_a, lead_a, kpi, initiative):
    # given a second initiative with its own KPI
    other = make_initiative(actor=lead_a, unit=unit_a, name="Other")
    other_kpi = make_kpi(actor=lead_a, initiative=other)
    client = token_client(lead_a)

    # then the filter picks the initiative's KPIs, whatever the key's case
    assert [row["id"] for row in client.get("/api/v1/kpis/").json()["results"]] == [kpi.pk, other_kpi.pk]
    assert [row["id"] for row in client.get(f"/api/v1/kpis/?initiative={initiative.key}").json()["results"]] == [
        kpi.pk]
    assert client.get(f"/api/v1/kpis/?initiative={other.key.lower()}").json()["count"] == 1


def test_list_kpis_is_scoped(kpi, lead_b, executive):
    assert token_client(lead_b).get("/api/v1/kpis/").json()["count"] == 0
    assert token_client(executive).get("/api/v1/kpis/").json()["count"] == 1
    assert token_client(lead_b).get(f"/api/v1/kpis/{kpi.pk}/").status_code == 404


# --- measurements ----------------------------------------------------------------------------------------------


def test_record_one_measurement(kpi, lead_a):
    # when a measurement is posted
    response = token_client(lead_a).post("/api/v1/measurements/", {
        "kpi": kpi.pk, "date": "2025-07-02", "value": "80.5", "note": "From the claims system"}, format="json")

    # then it is stored with source "api" and who recorded it
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kpi"], data["date"], data["value"], data["source"], data["recorded_by"]) == (
        kpi.pk, "2025-07-02", "80.500000", "api", "lead_a")
    stored = Measurement.objects.get()
    assert (stored.value, stored.note) == (Decimal("80.5"), "From the claims system")


def test_record_one_measurement_in_the_future_is_400_on_the_date(kpi, lead_a):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = token_client(lead_a).post("/api/v1/measurements/", {
        "kpi": kpi.pk, "date": tomorrow.isoformat(), "value": "1"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"date": [f"{tomorrow} is in the future."]}
    assert Measurement.objects.count() == 0


def test_record_one_measurement_as_viewer_is_403(kpi, viewer_a):
    response = token_client(viewer_a).post("/api/v1/measurements/", {
        "kpi": kpi.pk, "date": "2025-07-02", "value": "1"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You may not change this initiative's KPIs."}
    assert Measurement.objects.count() == 0


def test_list_measurements_filters_by_kpi_and_dates(kpi, lead_a, initiative):
    # given two KPIs with measurements on several days
    other = make_kpi(actor=lead_a, initiative=initiative)
    for day in (1, 10, 20):
        measurement_record(actor=lead_a, kpi=kpi, date=date(2025, 3, day), value=Decimal(day))
    measurement_record(actor=lead_a, kpi=other, date=date(2025, 3, 10), value=Decimal("7"))
    client = token_client(lead_a)

    def dates(query: str) -> list[tuple[int, str]]:
        response = client.get(f"/api/v1/measurements/?{query}")
        assert response.status_code == 200, response.content
        return [(row["kpi"], row["date"]) for row in response.json()["results"]]

    # then the kpi and date range filters combine (both bounds inclusive)
    assert dates(f"kpi={kpi.pk}") == [(kpi.pk, "2025-03-01"), (kpi.pk, "2025-03-10"), (kpi.pk, "2025-03-20")]
    assert dates(f"kpi={kpi.pk}&date_after=2025-03-10") == [(kpi.pk, "2025-03-10"), (kpi.pk, "2025-03-20")]
    assert dates(f"kpi={kpi.pk}&date_before=2025-03-10") == [(kpi.pk, "2025-03-01"), (kpi.pk, "2025-03-10")]
    assert dates("date_after=2025-03-05&date_before=2025-03-15") == [(kpi.pk, "2025-03-10"), (other.pk, "2025-03-10")]
    bad = client.get("/api/v1/measurements/?date_after=soon")
    assert bad.status_code == 400
    assert bad.json() == {"date": ["Enter a valid date."]}


def test_list_measurements_is_scoped(kpi, lead_a, lead_b):
    measurement = measurement_record(actor=lead_a, kpi=kpi, date=date(2025, 3, 1), value=Decimal("1"))
    assert token_client(lead_b).get("/api/v1/measurements/").json()["count"] == 0
    assert token_client(lead_b).get(f"/api/v1/measurements/{measurement.pk}/").status_code == 404
    assert token_client(lead_a).get(f"/api/v1/measurements/{measurement.pk}/").json()["value"] == "1.000000"


# --- bulk ------------------------------------------------------------------------------------------------------


def _rows(kpis: list[KPI], count: int) -> list[dict]:
    per_kpi = count // len(kpis)
    start = date(2025, 11, 1)
    return [
        {"kpi": k.pk, "date": (start - timedelta(days=i)).isoformat(), "value": f"{i % 97}.5", "note": "bulk"}
        for k in kpis for i in range(per_kpi)
    ]


def test_bulk_10000_measurements_succeed_in_one_request(initiative, lead_a):
    # given four KPIs and 10,000 rows for them
    kpis = [make_kpi(actor=lead_a, initiative=initiative) for _ in range(4)]
    rows = _rows(kpis, 10_000)
    assert len(rows) == 10_000

    # when they are posted at once
    started = time.monotonic()
    response = token_client(lead_a).post("/api/v1/measurements/bulk/", {"measurements": rows}, format="json")
    elapsed = time.monotonic() - started

    # then all are written, with source "api"
    assert response.status_code == 201, response.content[:500]
    assert response.json() == {"created": 10_000}
    assert Measurement.objects.count() == 10_000
    assert Measurement.objects.filter(kpi=kpis[3], source="api").count() == 2_500
    assert Measurement.objects.get(kpi=kpis[0], date=date(2025, 11, 1)).value == Decimal("0.5")
    assert elapsed < 30


def test_bulk_with_one_bad_row_names_the_row_and_field_and_writes_nothing(kpi, lead_a):
    # given one existing measurement, and 10,000 rows of which row 5,000 is not a number
    measurement_record(actor=lead_a, kpi=kpi, date=date(2020, 1, 1), value=Decimal("1"))
    rows = [{"kpi": kpi.pk, "date": (date(2025, 11, 1) - timedelta(days=i)).isoformat(), "value": "1"}
            for i in range(10_000)]
    rows[4_999]["value"] = "abc"

    # when they are posted
    response = token_client(lead_a).post("/api/v1/measurements/bulk/", {"measurements": rows}, format="json")

    # then the row and field are named and nothing was written
    assert response.status_code == 400
    assert response.json() == {
        "detail": "1 row(s) invalid, nothing was saved. Row 5000, value: 'abc' is not a number.",
        "errors": [{"row": 5000, "field": "value", "message": "'abc' is not a number."}],
    }
    assert Measurement.objects.count() == 1


def test_bulk_names_every_bad_row(kpi, lead_a, unit_b, lead_b):
    # given rows with several problems, including another unit's KPI and a row that is not an object
    foreign = make_kpi(actor=lead_b, initiative=make_initiative(actor=lead_b, unit=unit_b))
    rows = [
        {"kpi": kpi.pk, "date": "2025-01-01", "value": "1"},
        {"kpi": kpi.pk, "date": "someday", "value": "1"},
        {"kpi": foreign.pk, "date": "2025-01-01", "value": "1"},
        "not an object",
        {"kpi": kpi.pk, "date": "2025-01-01", "value": "2"},
        {"kpi": "x", "date": "2025-01-02", "value": "2"},
    ]

    response = token_client(lead_a).post("/api/v1/measurements/bulk/", {"measurements": rows}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"row": 2, "field": "date", "message": "'someday' is not a date (use YYYY-MM-DD)."},
        {"row": 3, "field": "kpi", "message": f"KPI {foreign.pk} does not exist or you may not record measurements "
                                              "for it."},
        {"row": 4, "field": "row", "message": "Each measurement must be an object."},
        {"row": 5, "field": "date", "message": "Row 1 already gives 2025-01-01 for this KPI."},
        {"row": 6, "field": "kpi", "message": "Give the KPI's id as a whole number."},
    ]
    assert Measurement.objects.count() == 0


def test_bulk_over_the_limit_is_400_and_writes_nothing(kpi, lead_a):
    rows = [{"kpi": kpi.pk, "date": (date(2025, 11, 1) - timedelta(days=i)).isoformat(), "value": "1"}
            for i in range(10_001)]
    response = token_client(lead_a).post("/api/v1/measurements/bulk/", {"measurements": rows}, format="json")
    assert response.status_code == 400
    assert response.json() == {"measurements": ["Ensure this field has no more than 10000 elements."]}
    assert Measurement.objects.count() == 0


def test_bulk_of_10000_rows_with_long_notes_is_not_refused_for_size(kpi, lead_a):
    # given 10,000 rows with 400-character notes: about 5 MB, twice Django's default body cap
    rows = [{"kpi": kpi.pk, "date": (date(2025, 11, 1) - timedelta(days=i)).isoformat(), "value": 1.25,
             "note": "n" * 400} for i in range(10_000)]

    response = token_client(lead_a).post("/api/v1/measurements/bulk/", {"measurements": rows}, format="json")

    # then they are written, decimals exact
    assert response.status_code == 201, response.content[:300]
    assert response.json() == {"created": 10_000}
    assert Measurement.objects.get(kpi=kpi, date=date(2025, 11, 1)).value == Decimal("1.25")


def test_bulk_body_over_the_cap_is_413_as_json(kpi, lead_a):
    rows = [{"kpi": kpi.pk, "date": "2025-01-01", "value": "1", "note": "n" * 10_300_000}]
    response = token_client(lead_a).post("/api/v1/measurements/bulk/", {"measurements": rows}, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 10,240,000 bytes."}
    assert Measurement.objects.count() == 0


def test_bulk_rejects_nan_and_broken_json(kpi, lead_a):
    client = token_client(lead_a)
    nan = client.post("/api/v1/measurements/bulk/",
                      data=f'{{"measurements": [{{"kpi": {kpi.pk}, "date": "2025-01-01", "value": NaN}}]}}',
                      content_type="application/json")
    broken = client.post("/api/v1/measurements/bulk/", data='{"measurements": [', content_type="application/json")
    assert nan.status_code == 400
    assert nan.json() == {"detail": "JSON parse error - NaN is not a number"}
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("JSON parse error - ")
    assert Measurement.objects.count() == 0


def test_bulk_with_no_rows_or_no_list_is_400(kpi, lead_a):
    client = token_client(lead_a)
    empty = client.post("/api/v1/measurements/bulk/", {"measurements": []}, format="json")
    missing = client.post("/api/v1/measurements/bulk/", {}, format="json")
    not_list = client.post("/api/v1/measurements/bulk/", {"measurements": "1,2,3"}, format="json")
    assert empty.json() == {"measurements": ["This list may not be empty."]}
    assert missing.json() == {"measurements": ["This field is required."]}
    assert not_list.json() == {"measurements": ['Expected a list of items but got type "str".']}
    assert {empty.status_code, missing.status_code, not_list.status_code} == {400}


# --- query counts ----------------------------------------------------------------------------------------------


def _portfolio(size: int, unit, actor) -> None:
    for i in range(size):
        initiative = make_initiative(actor=actor, unit=unit, name=f"Initiative {i}")
        for _ in range(2):
            kpi = make_kpi(actor=actor, initiative=initiative, baseline_date=BASELINE, target_date=TARGET)
            for day in (1, 2):
                measurement_record(actor=actor, kpi=kpi, date=date(2025, 6, day), value=Decimal("90"))


@pytest.mark.parametrize("role", ["lead_a", "executive"])
def test_query_counts_of_kpi_and_measurement_endpoints_do_not_grow_with_the_portfolio(role, unit_a, lead_a,
                                                                                      executive):
    # given 5 initiatives with 2 KPIs and 2 measurements each
    client = token_client(lead_a if role == "lead_a" else executive)
    _portfolio(5, unit_a, lead_a)
    kpi = KPI.objects.order_by("id").first()
    measurement = Measurement.objects.order_by("id").first()
    urls = [
        "/api/v1/kpis/", f"/api/v1/kpis/?initiative={kpi.initiative.key}", f"/api/v1/kpis/{kpi.pk}/",
        "/api/v1/measurements/", f"/api/v1/measurements/?kpi={kpi.pk}&date_after=2025-01-01",
        f"/api/v1/measurements/{measurement.pk}/",
    ]
    at_5 = [count_queries(client, url) for url in urls]

    # when it grows to 50 initiatives
    _portfolio(45, unit_a, lead_a)
    at_50 = [count_queries(client, url) for url in urls]

    # then no endpoint makes more queries
    assert at_5 == at_50
