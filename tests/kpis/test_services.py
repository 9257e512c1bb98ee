"""KPI definition rules and measurement recording, single and bulk (all or nothing)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.kpis.models import KPI, Measurement
from apps.kpis.selectors import kpi_list, kpi_status_of
from apps.kpis.services import (
    BulkValidationError,
    kpi_update,
    measurement_record,
    measurements_parse_csv,
    measurements_record_bulk,
)
from tests.factories import make_initiative, make_kpi

pytestmark = pytest.mark.django_db


@pytest.fixture
def initiative(admin_user, unit_a, lead_a):
    return make_initiative(actor=admin_user, unit=unit_a, owner=lead_a)


@pytest.fixture
def kpi(admin_user, initiative):
    return make_kpi(actor=admin_user, initiative=initiative, name="Handling time")


def test_target_must_be_on_the_better_side_of_the_baseline(admin_user, initiative):
    with pytest.raises(ValidationError) as excinfo:
        make_kpi(actor=admin_user, initiative=initiative, direction="down", baseline_value=Decimal(50),
                 target_value=Decimal(60))
    assert excinfo.value.message_dict == {
        "target_value": ["Lower is better, so the target must be below the baseline."]
    }
    assert KPI.objects.count() == 0


def test_target_date_must_follow_the_baseline_date(admin_user, initiative):
    with pytest.raises(ValidationError) as excinfo:
        make_kpi(actor=admin_user, initiative=initiative, baseline_date=date(2026, 5, 1),
                 target_date=date(2026, 4, 1))
    assert "target_date" in excinfo.value.message_dict
    assert KPI.objects.count() == 0


def test_kpi_names_are_unique_per_initiative(admin_user, initiative, kpi):
    with pytest.raises(ValidationError) as excinfo:
        make_kpi(actor=admin_user, initiative=initiative, name="Handling time")
    assert excinfo.value.message_dict["name"] == ["This initiative already has a KPI named 'Handling time'."]


def test_viewer_cannot_define_or_change_kpis(viewer_a, initiative, kpi):
    with pytest.raises(PermissionDenied):
        make_kpi(actor=viewer_a, initiative=initiative)
    with pytest.raises(PermissionDenied):
        kpi_update(actor=viewer_a, kpi=kpi, name="Renamed")
    kpi.refresh_from_db()
    assert kpi.name == "Handling time"


def test_recording_a_day_twice_replaces_the_value(lead_a, kpi):
    measurement_record(actor=lead_a, kpi=kpi, date="2026-02-01", value="95")
    measurement_record(actor=lead_a, kpi=kpi, date="2026-02-01", value="93.5", note="corrected")
    rows = list(Measurement.objects.filter(kpi=kpi).values_list("date", "value", "note"))
    assert rows == [(date(2026, 2, 1), Decimal("93.5"), "corrected")]


def test_bulk_import_writes_every_row(lead_a, kpi):
    rows = [{"date": date(2025, 1, 1) + timedelta(days=i), "value": 100 - i / 10} for i in range(500)]
    assert measurements_record_bulk(actor=lead_a, rows=rows, kpi=kpi) == 500
    assert Measurement.objects.filter(kpi=kpi).count() == 500


def test_bulk_import_with_one_bad_row_writes_nothing_and_names_row_and_field(lead_a, kpi):
    rows = [{"kpi": kpi.pk, "date": f"2026-01-{day:02d}", "value": "90"} for day in range(1, 11)]
    rows[6]["value"] = "ninety"
    with pytest.raises(BulkValidationError) as excinfo:
        measurements_record_bulk(actor=lead_a, rows=rows)
    assert [e.as_dict() for e in excinfo.value.row_errors] == [
        {"row": 7, "field": "value", "message": "'ninety' is not a number."}
    ]
    assert "Row 7, value" in excinfo.value.messages[0]
    assert Measurement.objects.count() == 0


def test_bulk_import_names_bad_dates_unknown_kpis_and_duplicates(lead_a, kpi, lead_b, admin_user, unit_b):
    other = make_kpi(actor=admin_user, initiative=make_initiative(actor=admin_user, unit=unit_b))
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    rows = [
        {"kpi": kpi.pk, "date": "2026-13-01", "value": "1"},
        {"kpi": kpi.pk, "date": future, "value": "1"},
        {"kpi": other.pk, "date": "2026-01-01", "value": "1"},  # another unit's KPI
        {"kpi": "x", "date": "2026-01-01", "value": "1"},
        {"kpi": kpi.pk, "date": "2026-01-05", "value": "1"},
        {"kpi": kpi.pk, "date": "2026-01-05", "value": "2"},
    ]
    with pytest.raises(BulkValidationError) as excinfo:
        measurements_record_bulk(actor=lead_a, rows=rows)
    assert [(e.row, e.field) for e in excinfo.value.row_errors] == [
        (1, "date"), (2, "date"), (3, "kpi"), (4, "kpi"), (6, "date"),
    ]
    assert excinfo.value.row_errors[4].message == "Row 5 already gives 2026-01-05 for this KPI."
    assert Measurement.objects.count() == 0


def test_bulk_import_refuses_more_than_the_limit(lead_a, kpi, settings):
    settings.MEASUREMENT_BULK_MAX = 3
    rows = [{"date": f"2026-01-0{d}", "value": "1"} for d in range(1, 5)]
    with pytest.raises(ValidationError) as excinfo:
        measurements_record_bulk(actor=lead_a, rows=rows, kpi=kpi)
    assert excinfo.value.message_dict == {"rows": ["At most 3 measurements per request; got 4."]}


def test_csv_paste_parses_header_notes_and_blank_lines():
    text = "date,value,note\n2026-01-01,95,first\n\n2026-02-01, 92 ,after retraining, v2\n"
    assert measurements_parse_csv(text=text) == [
        {"date": "2026-01-01", "value": "95", "note": "first"},
        {"date": "2026-02-01", "value": " 92 ", "note": "after retraining, v2"},
    ]


def test_kpi_list_annotates_the_latest_measurement_and_status(lead_a, kpi):
    measurements_record_bulk(actor=lead_a, kpi=kpi, rows=[
        {"date": "2026-03-01", "value": "80"}, {"date": "2026-01-15", "value": "97"},
    ])
    annotated = kpi_list(user=lead_a, initiative_id=kpi.initiative_id).get()
    assert (annotated.latest_date, annotated.latest_value) == (date(2026, 3, 1), Decimal("80"))
    result = kpi_status_of(annotated)
    assert result.progress == Decimal("0.5")
    assert result.realized_value == Decimal("1000")  # 20 hours saved × 50


def test_kpis_of_another_unit_are_invisible(lead_b, kpi):
    assert list(kpi_list(user=lead_b)) == []
