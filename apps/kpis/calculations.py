"""KPI arithmetic: progress toward target, on-track status and realized value. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from apps.kpis.choices import Direction, TrackStatus

# Behind the straight line by no more than this share of the whole way is "at risk" rather than "off track".
AT_RISK_TOLERANCE = Decimal("0.10")


@dataclass(frozen=True)
class KPIStatus:
    progress: Decimal | None  # share of the way from baseline to target (1 = target met; may exceed 1 or be < 0)
    expected: Decimal | None  # share of the way the straight line expects by the measurement date
    status: TrackStatus
    improvement: Decimal | None  # in the KPI's unit, positive when better than baseline
    realized_value: Decimal | None  # improvement × value per unit (money)

    @property
    def progress_percent(self) -> int | None:
        return None if self.progress is None else int((self.progress * 100).to_integral_value())


def improvement(*, direction: str, baseline: Decimal, current: Decimal) -> Decimal:
    """How much better than baseline `current` is, in the KPI's unit (negative when worse)."""
    return current - baseline if direction == Direction.UP else baseline - current


def progress(*, baseline: Decimal, target: Decimal, current: Decimal) -> Decimal | None:
    """Share of the way from baseline to target; the sign of (target − baseline) makes it direction-aware."""
    span = target - baseline
    if span == 0:
        return None
    return (current - baseline) / span


def expected_progress(*, baseline_date: date, target_date: date, on: date) -> Decimal:
    """Share of the way the straight line from baseline to target expects by `on` (clamped to 0..1)."""
    days = (target_date - baseline_date).days
    if days <= 0:
        return Decimal(1)
    share = Decimal((on - baseline_date).days) / Decimal(days)
    return min(Decimal(1), max(Decimal(0), share))


def kpi_status(
    *, direction: str, baseline: Decimal, baseline_date: date, target: Decimal, target_date: date,
    value_per_unit: Decimal | None, current: Decimal | None, current_date: date | None,
) -> KPIStatus:
    """Everything the UI and API show about a KPI, from its definition and latest measurement."""
    if current is None or current_date is None:
        return KPIStatus(None, None, TrackStatus.NO_DATA, None, None)
    share = progress(baseline=baseline, target=target, current=current)
    expected = expected_progress(baseline_date=baseline_date, target_date=target_date, on=current_date)
    gain = improvement(direction=direction, baseline=baseline, current=current)
    value = gain * value_per_unit if value_per_unit is not None else None
    if share is None:
        status = TrackStatus.ACHIEVED if gain >= 0 else TrackStatus.OFF_TRACK
    elif share >= 1:
        status = TrackStatus.ACHIEVED
    elif share >= expected:
        status = TrackStatus.ON_TRACK
    elif share >= expected - AT_RISK_TOLERANCE:
        status = TrackStatus.AT_RISK
    else:
        status = TrackStatus.OFF_TRACK
    return KPIStatus(share, expected, status, gain, value)
