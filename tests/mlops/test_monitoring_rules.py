"""Monitoring rule arithmetic (pure functions): threshold, drift, relative drop, staleness, consecutive breaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apps.mlops.monitoring import (
    Point,
    evaluate_drift,
    evaluate_relative_drop,
    evaluate_staleness,
    evaluate_threshold,
)

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def series(*values: float, every_days: float = 1.0) -> list[Point]:
    return [Point(T0 + timedelta(days=i * every_days), v) for i, v in enumerate(values)]


def test_threshold_breaches_below_the_minimum_and_names_the_range():
    verdict = evaluate_threshold(series(0.9, 0.85, 0.7), min_value=0.8, max_value=None)
    assert verdict.breaching is True
    assert verdict.observed == 0.7
    assert verdict.episode_start == T0 + timedelta(days=2)
    assert verdict.summary.startswith("0.7 is outside the allowed range (≥ 0.8)")


def test_threshold_needs_the_configured_number_of_consecutive_breaches():
    points = series(0.9, 0.7, 0.9, 0.7, 0.75)
    assert evaluate_threshold(points, min_value=0.8, max_value=None, consecutive=3).breaching is False
    waiting = evaluate_threshold(points, min_value=0.8, max_value=None, consecutive=3)
    assert waiting.streak == 2 and "(2 of 3 consecutive breaches so far)" in waiting.summary
    opened = evaluate_threshold([*points, Point(T0 + timedelta(days=5), 0.6)], min_value=0.8, max_value=None,
                                consecutive=3)
    assert opened.breaching is True
    assert opened.episode_start == T0 + timedelta(days=3)  # the first of the three


def test_threshold_holds_again_when_the_latest_value_is_back_in_range():
    verdict = evaluate_threshold(series(0.7, 0.6, 0.85), min_value=0.8, max_value=0.99)
    assert verdict.breaching is False and verdict.last_breach_at == T0 + timedelta(days=1)


def test_threshold_above_the_maximum_breaches():
    assert evaluate_threshold(series(120, 180), min_value=None, max_value=150).breaching is True


def test_no_values_is_not_a_breach():
    verdict = evaluate_threshold([], min_value=0.8, max_value=None)
    assert verdict.breaching is False and verdict.has_data is False


def test_nan_values_are_ignored():
    verdict = evaluate_threshold(series(0.9, float("nan")), min_value=0.8, max_value=None)
    assert verdict.breaching is False and verdict.observed == 0.9


def test_drift_at_the_default_psi_limit_is_a_major_shift():
    assert evaluate_drift(series(0.05, 0.25), limit=0.25).breaching is True
    assert evaluate_drift(series(0.05, 0.2499), limit=0.25).breaching is False


def test_drift_with_two_consecutive_scores():
    verdict = evaluate_drift(series(0.3, 0.1, 0.3, 0.4), limit=0.25, consecutive=2)
    assert verdict.breaching is True and verdict.streak == 2
    assert "0.4 is at or above the limit 0.25" in verdict.summary


def test_relative_drop_compares_the_recent_window_with_the_baseline_before_it():
    # 30 days at 0.90, then 7 days at 0.84 (-6.7%) with a 5% tolerance
    points = series(*([0.90] * 30), *([0.84] * 7))
    verdict = evaluate_relative_drop(points, tolerance=0.05, window_days=7, baseline_days=30)
    assert verdict.breaching is True
    assert "6.7% below the baseline mean 0.9" in verdict.summary


def test_relative_drop_within_tolerance_holds():
    points = series(*([0.90] * 30), *([0.87] * 7))  # -3.3%
    assert evaluate_relative_drop(points, tolerance=0.05, window_days=7, baseline_days=30).breaching is False


def test_relative_drop_for_a_lower_is_better_metric():
    points = series(*([10.0] * 30), *([12.0] * 7))  # error rate up 20%
    verdict = evaluate_relative_drop(points, tolerance=0.1, window_days=7, baseline_days=30, higher_is_better=False)
    assert verdict.breaching is True and "20.0% above" in verdict.summary


def test_relative_drop_without_baseline_history_is_not_evaluated():
    verdict = evaluate_relative_drop(series(0.9, 0.5), tolerance=0.05, window_days=7, baseline_days=30)
    assert verdict.breaching is False and verdict.has_data is False
    assert verdict.summary.startswith("Not enough history")


def test_staleness_breaches_after_the_limit_with_the_due_date_as_episode_start():
    last = T0
    now = T0 + timedelta(days=45)
    verdict = evaluate_staleness(last, stale_days=30, now=now)
    assert verdict.breaching is True
    assert verdict.episode_start == T0 + timedelta(days=30)
    assert verdict.summary == ("Retraining overdue: the newest run or model version is 45 days old "
                               "(limit 30 days).")
    assert evaluate_staleness(last, stale_days=30, now=T0 + timedelta(days=29)).breaching is False
    assert evaluate_staleness(None, stale_days=30, now=now).breaching is False
