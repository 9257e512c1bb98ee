"""Template helpers for the compliance pages: status, severity and tier badges, score cells."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from apps.compliance.choices import FindingStatus, GateReviewStatus, ResultStatus, RiskStatus, Severity
from apps.portfolio.choices import RiskTier

register = template.Library()

RESULT_LABELS = dict(ResultStatus.choices)
SEVERITY_LABELS = dict(Severity.choices)
TIER_LABELS = dict(RiskTier.choices)
REVIEW_LABELS = dict(GateReviewStatus.choices)
RISK_LABELS = dict(RiskStatus.choices)
FINDING_LABELS = dict(FindingStatus.choices)


@register.simple_tag
def result_badge(status: str) -> str:
    """Compliant / partial / non-compliant / not applicable / not assessed."""
    return format_html('<span class="badge rs-{}">{}</span>', status, RESULT_LABELS.get(status, status))


@register.simple_tag
def severity_badge(severity: str) -> str:
    return format_html('<span class="badge sev-{}">{}</span>', severity, SEVERITY_LABELS.get(severity, severity))


@register.simple_tag
def tier_badge(tier: str) -> str:
    """An EU AI Act risk tier."""
    return format_html('<span class="badge tier-{}">{}</span>', tier, TIER_LABELS.get(tier, tier))


@register.simple_tag
def review_badge(status: str) -> str:
    return format_html('<span class="badge gr-{}">{}</span>', status, REVIEW_LABELS.get(status, status))


@register.simple_tag
def risk_status_badge(status: str) -> str:
    return format_html('<span class="badge risk-{}">{}</span>', status, RISK_LABELS.get(status, status))


@register.simple_tag
def finding_badge(status: str) -> str:
    return format_html('<span class="badge fs-{}">{}</span>', status, FINDING_LABELS.get(status, status))


@register.filter
def posture_class(score: float | None) -> str:
    """CSS class of a posture cell: the band its share of met requirements falls in."""
    if score is None:
        return "posture-none"
    if score >= 0.8:
        return "posture-good"
    if score >= 0.5:
        return "posture-fair"
    if score > 0:
        return "posture-poor"
    return "posture-zero"


@register.filter
def score_percent(score: float | None) -> str:
    return "—" if score is None else f"{round(score * 100)}%"


@register.filter
def risk_zone(score: int | None) -> str:
    """low (1–4), medium (5–9), high (10–16), critical (20–25)."""
    if score is None:
        return "none"
    if score >= 20:
        return "critical"
    if score >= 10:
        return "high"
    if score >= 5:
        return "medium"
    return "low"


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key) if mapping else None
