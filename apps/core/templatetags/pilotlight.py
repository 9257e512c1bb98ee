"""Template helpers shared by every page: badges, numbers, money, query-string links, sortable headers, charts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from apps.core.money import format_money
from apps.kpis.choices import TrackStatus
from apps.portfolio.choices import Stage

register = template.Library()

_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}

STAGE_LABELS = dict(Stage.choices)
STATUS_LABELS = dict(TrackStatus.choices)


@register.simple_tag
def stage_badge(stage: str, label: str = "") -> str:
    """A coloured pill for a lifecycle stage; the colours match the charts."""
    if not stage:
        return format_html('<span class="badge badge-muted">{}</span>', label or "—")
    return format_html('<span class="badge stage-{}">{}</span>', stage, label or STAGE_LABELS.get(stage, stage))


@register.simple_tag
def status_badge(status: str) -> str:
    """A coloured pill for a KPI's on-track status."""
    return format_html('<span class="badge status-{}">{}</span>', status, STATUS_LABELS.get(status, status))


@register.filter
def money(amount: Decimal | None) -> str:
    """EUR 1,250,000 — amounts in the reporting currency."""
    return format_money(amount)


@register.filter
def num(value: Decimal | float | int | None, places: int = 4) -> str:
    """A measured value with thousands separators and no trailing zeros: 1,250.5; 0.873; 12."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    number = round(number, int(places))
    text = f"{number:,.{int(places)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@register.filter
def percent(share: float | Decimal | None) -> str:
    """A share as a whole percentage, e.g. 0.425 -> 43%."""
    if share is None:
        return "—"
    return f"{float(share) * 100:.0f}%"


@register.filter
def clamp_percent(value: int | None) -> int:
    """A percentage clamped to 0..100, for the width of progress bars."""
    if value is None:
        return 0
    return max(0, min(100, int(value)))


@register.simple_tag(takes_context=True)
def url_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None or '' removes one), e.g. for page links."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    for name, value in changes.items():
        query.pop(name, None)
        if value not in (None, ""):
            query[name] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context, label: str, field: str, invert: bool = False) -> str:
    """A column header that sorts by `field` through the `ordering` parameter and toggles its direction.

    `invert` is for columns shown in the opposite sense of the field (days in stage sorts by the entry time).
    """
    request = context["request"]
    current = request.GET.get("ordering", "")
    if current == field:
        target, state = f"-{field}", ("desc" if invert else "asc")
    elif current == f"-{field}":
        target, state = field, ("asc" if invert else "desc")
    else:
        target, state = field, ""
    query = request.GET.copy()
    query.pop("page", None)
    query["ordering"] = target
    arrow = {"asc": "▲", "desc": "▼"}.get(state, "")
    aria = {"asc": "ascending", "desc": "descending"}.get(state, "none")
    return format_html(
        '<a class="sort {}" href="?{}" aria-sort="{}">{}<span class="arrow" aria-hidden="true">{}</span></a>',
        state, query.urlencode(), aria, label, arrow,
    )


@register.simple_tag
def plotly_chart(figure_json: str, *id_parts: object, label: str = "") -> str:
    """A chart placeholder carrying its figure JSON; static/js/charts.js draws it with the local plotly.js.

    The element id is the id parts joined by dashes: {% plotly_chart row.chart "kpi-chart" kpi.pk label="…" %}.
    """
    element_id = "-".join(str(part) for part in id_parts) or "chart"
    return format_html(
        '<div class="chart" id="{}" role="img" aria-label="{}" data-figure="{}-data"></div>'
        '<script type="application/json" id="{}-data">{}</script>',
        element_id, label, element_id, element_id, _escape_json(figure_json),
    )


def _escape_json(text: str) -> SafeString:
    # Same escaping as Django's json_script: the figure may carry user text (KPI names, units).
    return mark_safe(text.translate(_JSON_ESCAPES))


@register.filter
def tree_indent(depth: int) -> str:
    """Dashes that indent a tree node in a select list by its depth."""
    return "— " * int(depth or 0)
