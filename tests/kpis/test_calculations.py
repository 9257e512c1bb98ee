"""Progress, on-track status and realized value arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from apps.kpis.calculations import expected_progress, improvement, kpi_status, progress
from apps.kpis.choices import Direction, TrackStatus

BASE = date(2026, 1, 1)
TARGET = date(2026, 12, 31)  # 364 days after BASE


def status(direction, baseline, target, current, on, value_per_unit=D("10")):
    return kpi_status(direction=direction, baseline=D(baseline), baseline_date=BASE, target=D(target),
                      target_date=TARGET, value_per_unit=value_per_unit, current=D(current), current_date=on)


def test_progress_for_an_increasing_kpi():
    assert progress(baseline=D(50), target=D(70), current=D(60)) == D("0.5")


def test_progress_for_a_decreasing_kpi():
    # handling time 100 h -> 60 h; at 90 h a quarter of the way is done
    assert progress(baseline=D(100), target=D(60), current=D(90)) == D("0.25")


def test_progress_is_negative_when_moving_the_wrong_way():
    assert progress(baseline=D(100), target=D(60), current=D(110)) == D("-0.25")


def test_progress_beyond_the_target_exceeds_one():
    assert progress(baseline=D(100), target=D(60), current=D(50)) == D("1.25")


def test_expected_progress_follows_the_straight_line_and_clamps():
    assert expected_progress(baseline_date=BASE, target_date=TARGET, on=date(2026, 7, 2)) == D(182) / D(364)
    assert expected_progress(baseline_date=BASE, target_date=TARGET, on=date(2025, 6, 1)) == 0
    assert expected_progress(baseline_date=BASE, target_date=TARGET, on=date(2027, 6, 1)) == 1


def test_improvement_is_direction_aware():
    assert improvement(direction=Direction.UP, baseline=D(50), current=D(58)) == D(8)
    assert improvement(direction=Direction.DOWN, baseline=D(100), current=D(85)) == D(15)
    assert improvement(direction=Direction.DOWN, baseline=D(100), current=D(105)) == D(-5)


def test_decreasing_kpi_ahead_of_the_line_is_on_track_with_realized_value():
    # half-way through the year, 60% of the way from 100 to 60: on track; 24 h saved × 10 = 240
    result = status(Direction.DOWN, "100", "60", "76", date(2026, 7, 2))
    assert result.status == TrackStatus.ON_TRACK
    assert result.progress == D("0.6")
    assert result.realized_value == D("240")
    assert result.progress_percent == 60


def test_slightly_behind_the_line_is_at_risk_and_far_behind_is_off_track():
    # expected 0.5 at mid-year; 0.45 is within the 10-point tolerance, 0.2 is not
    assert status(Direction.UP, "0", "100", "45", date(2026, 7, 2)).status == TrackStatus.AT_RISK
    assert status(Direction.UP, "0", "100", "20", date(2026, 7, 2)).status == TrackStatus.OFF_TRACK


def test_target_already_met_is_achieved_even_before_the_target_date():
    result = status(Direction.DOWN, "100", "60", "55", date(2026, 3, 1))
    assert result.status == TrackStatus.ACHIEVED
    assert result.progress == D("1.125")
    assert result.realized_value == D("450")


def test_worse_than_baseline_gives_negative_realized_value():
    result = status(Direction.UP, "50", "70", "45", date(2026, 2, 1))
    assert result.realized_value == D("-50")
    assert result.status == TrackStatus.OFF_TRACK


def test_no_measurement_means_no_data():
    result = kpi_status(direction=Direction.UP, baseline=D(1), baseline_date=BASE, target=D(2), target_date=TARGET,
                        value_per_unit=None, current=None, current_date=None)
    assert (result.status, result.progress, result.realized_value) == (TrackStatus.NO_DATA, None, None)


def test_without_value_per_unit_there_is_no_realized_value():
    assert status(Direction.UP, "0", "10", "5", date(2026, 7, 2), value_per_unit=None).realized_value is None


@pytest.mark.parametrize(("current", "expected"), [("60", TrackStatus.ACHIEVED), ("61", TrackStatus.AT_RISK)])
def test_boundary_of_the_target_on_its_date(current, expected):
    # on the target date the line expects 100%; 61 is 97.5% of the way (within tolerance)
    assert status(Direction.DOWN, "100", "60", current, TARGET).status == expected
