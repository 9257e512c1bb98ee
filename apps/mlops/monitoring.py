"""Monitoring rule arithmetic: pure functions from a metric series to "breaching or not, since when, and why".

No ORM and no clock inside, so the same data always gives the same verdict (a sync that brings nothing new
cannot flip an alert) and every case is easy to test. Windows are anchored on the latest point, not on now,
except staleness, which is about time passing.

- threshold: a value below `min_value` or above `max_value` breaches;
- drift: a score at or above `limit` breaches (PSI >= 0.25: major shift);
- relative drop: a value in the recent window (`window_days` up to the latest point) more than `tolerance` below
  the mean of the `baseline_days` before that window breaches (above, when lower is better);
- staleness: no new run or model version for `stale_days`.

An alert opens when the latest `consecutive` values all breach; the episode starts at the first of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True)
class Verdict:
    """The outcome of evaluating one rule."""

    breaching: bool
    summary: str
    observed: float | None = None
    episode_start: datetime | None = None
    last_breach_at: datetime | None = None
    streak: int = 0
    has_data: bool = True


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}"


def _trailing_streak(flags: Sequence[bool]) -> int:
    streak = 0
    for flag in reversed(flags):
        if not flag:
            break
        streak += 1
    return streak


def _finite(points: Sequence[Point]) -> list[Point]:
    return [p for p in sorted(points, key=lambda p: p.at) if p.value is not None and math.isfinite(p.value)]


def _streak_verdict(points: list[Point], flags: list[bool], consecutive: int, breach_text: str,
                    ok_text: str) -> Verdict:
    streak = _trailing_streak(flags)
    latest = points[-1]
    if streak >= consecutive:
        first = points[len(points) - streak]
        return Verdict(True, breach_text, latest.value, first.at, latest.at, streak)
    last_breach = next((p.at for p, flag in zip(reversed(points), reversed(flags), strict=True) if flag), None)
    suffix = f" ({streak} of {consecutive} consecutive breaches so far)" if streak else ""
    return Verdict(False, ok_text + suffix, latest.value, None, last_breach, streak)


def evaluate_threshold(points: Sequence[Point], *, min_value: float | None, max_value: float | None,
                       consecutive: int = 1) -> Verdict:
    """Breach when the latest `consecutive` values are outside [min_value, max_value]."""
    series = _finite(points)
    if not series:
        return Verdict(False, "No values yet.", has_data=False)

    def breaches(value: float) -> bool:
        return (min_value is not None and value < min_value) or (max_value is not None and value > max_value)

    flags = [breaches(p.value) for p in series]
    bounds = " and ".join(part for part in (
        f"≥ {_fmt(min_value)}" if min_value is not None else "", f"≤ {_fmt(max_value)}" if max_value is not None
        else "") if part)
    latest = series[-1].value
    return _streak_verdict(
        series, flags, consecutive,
        f"{_fmt(latest)} is outside the allowed range ({bounds}) for {_trailing_streak(flags)} value(s) in a row.",
        f"{_fmt(latest)} is within the allowed range ({bounds}).",
    )


def evaluate_drift(points: Sequence[Point], *, limit: float, consecutive: int = 1) -> Verdict:
    """Breach when the latest `consecutive` drift scores are at or above `limit`."""
    series = _finite(points)
    if not series:
        return Verdict(False, "No drift scores yet.", has_data=False)
    flags = [p.value >= limit for p in series]
    latest = series[-1].value
    return _streak_verdict(
        series, flags, consecutive,
        f"Drift score {_fmt(latest)} is at or above the limit {_fmt(limit)} "
        f"({_trailing_streak(flags)} score(s) in a row).",
        f"Drift score {_fmt(latest)} is below the limit {_fmt(limit)}.",
    )


def evaluate_relative_drop(points: Sequence[Point], *, tolerance: float, window_days: int, baseline_days: int,
                           consecutive: int = 1, higher_is_better: bool = True) -> Verdict:
    """Breach when the latest `consecutive` values of the recent window are worse than the baseline mean by more
    than `tolerance` (a share: 0.05 = 5%)."""
    series = _finite(points)
    if not series:
        return Verdict(False, "No values yet.", has_data=False)
    latest_at = series[-1].at
    window_start = latest_at - timedelta(days=window_days)
    baseline_start = window_start - timedelta(days=baseline_days)
    baseline = [p.value for p in series if baseline_start <= p.at < window_start]
    recent = [p for p in series if p.at >= window_start]
    if not baseline:
        return Verdict(False, f"Not enough history: no values in the {baseline_days} days before the last "
                              f"{window_days} days.", series[-1].value, has_data=False)
    mean = sum(baseline) / len(baseline)
    scale = abs(mean) or 1.0

    def change(value: float) -> float:
        """How much worse than the baseline, as a share (positive = worse)."""
        return ((mean - value) if higher_is_better else (value - mean)) / scale

    flags = [change(p.value) > tolerance for p in recent]
    latest = recent[-1].value
    worse = change(latest)
    direction = "below" if higher_is_better else "above"
    return _streak_verdict(
        recent, flags, consecutive,
        f"{_fmt(latest)} is {worse:.1%} {direction} the baseline mean {_fmt(mean)} of the {baseline_days} days "
        f"before the last {window_days} (tolerance {tolerance:.1%}).",
        f"{_fmt(latest)} is within {tolerance:.1%} of the baseline mean {_fmt(mean)}.",
    )


def evaluate_staleness(last_activity: datetime | None, *, stale_days: int, now: datetime) -> Verdict:
    """Breach when the newest run or model version is older than `stale_days`: retraining is overdue."""
    if last_activity is None:
        return Verdict(False, "No runs or model versions yet.", has_data=False)
    due = last_activity + timedelta(days=stale_days)
    age = (now - last_activity).days
    if now >= due:
        return Verdict(True, f"Retraining overdue: the newest run or model version is {age} days old "
                             f"(limit {stale_days} days).", float(age), due, due, 1)
    return Verdict(False, f"The newest run or model version is {age} days old (limit {stale_days} days).",
                   float(age))
