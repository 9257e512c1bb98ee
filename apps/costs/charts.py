"""Plotly figures for the cost pages: pure functions from plain rows to figure JSON (no ORM, no request)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import plotly.graph_objects as go

from apps.portfolio.charts import ACCENT, ALERT, MUTED, STAGE_COLOURS, _axis, _layout

# A qualitative palette for services (colour-blind friendly, repeats after ten).
SERVICE_COLOURS = ["#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#0ea5e9", "#84cc16", "#ec4899",
                   "#64748b", "#14b8a6"]
MAX_SERVICES = 8


def _money(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def monthly_cost_figure(*, months: Sequence[tuple[date, dict[str, Decimal], Decimal]], budget: Decimal | None,
                        currency: str) -> str:
    """Monthly cost stacked by service (the largest services; the rest as "Other"), the cumulative cost and the
    budget as lines on a second axis. Rows: (month, {service: cost}, cumulative)."""
    totals: dict[str, Decimal] = {}
    for _, by_service, _ in months:
        for name, cost in by_service.items():
            totals[name] = totals.get(name, Decimal(0)) + cost
    top = [name for name, _ in sorted(totals.items(), key=lambda item: -item[1])[:MAX_SERVICES]]
    labels = [month.strftime("%b %Y") for month, _, _ in months]
    traces = []
    for position, name in enumerate(top):
        traces.append(go.Bar(
            x=labels, y=[_money(by_service.get(name)) for _, by_service, _ in months], name=name,
            marker={"color": SERVICE_COLOURS[position % len(SERVICE_COLOURS)]},
            hovertemplate=f"%{{x}} · {name}: {currency} %{{y:,.0f}}<extra></extra>",
        ))
    others = [sum((cost for name, cost in by_service.items() if name not in top), Decimal(0))
              for _, by_service, _ in months]
    if any(others):
        traces.append(go.Bar(x=labels, y=[_money(value) for value in others], name="Other",
                             marker={"color": "#cbd5e1"},
                             hovertemplate=f"%{{x}} · other services: {currency} %{{y:,.0f}}<extra></extra>"))
    traces.append(go.Scatter(
        x=labels, y=[_money(cumulative) for _, _, cumulative in months], name="Cumulative cost", yaxis="y2",
        mode="lines+markers", line={"color": "#0f172a", "width": 2}, marker={"size": 5},
        hovertemplate=f"%{{x}} · cost to date: {currency} %{{y:,.0f}}<extra></extra>",
    ))
    if budget:
        traces.append(go.Scatter(
            x=labels, y=[_money(budget)] * len(labels), name="Budget", yaxis="y2", mode="lines",
            line={"color": ALERT, "dash": "dash", "width": 2},
            hovertemplate=f"Budget: {currency} %{{y:,.0f}}<extra></extra>",
        ))
    figure = go.Figure(traces)
    figure.update_layout(
        **_layout(height=340, margin={"l": 10, "r": 10, "t": 30, "b": 30}),
        barmode="stack", showlegend=True,
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"color": MUTED}},
        xaxis=_axis(type="category"),
        yaxis=_axis(title={"text": f"{currency} per month", "font": {"color": MUTED}}, rangemode="tozero"),
        yaxis2=_axis(title={"text": f"{currency} to date", "font": {"color": MUTED}}, overlaying="y", side="right",
                     rangemode="tozero", showgrid=False),
    )
    return figure.to_json()


def value_cost_figure(*, rows: Sequence[tuple[str, str, str, Decimal, Decimal | None, Decimal]], currency: str) -> str:
    """One bubble per initiative: cost to date across, realized value up, size by monthly run rate, colour by
    stage; the diagonal is break-even. Rows: (key, name, stage, cost, value, run rate)."""
    shown = [row for row in rows if row[3] or row[4]]
    biggest = max((_money(row[5]) for row in shown), default=0.0) or 1.0
    stages = sorted({row[2] for row in shown})
    traces = []
    for stage in stages:
        items = [row for row in shown if row[2] == stage]
        traces.append(go.Scatter(
            x=[_money(row[3]) for row in items], y=[_money(row[4]) for row in items], mode="markers+text",
            name=stage.replace("_", " ").capitalize(), text=[row[0] for row in items], textposition="top center",
            textfont={"size": 10, "color": MUTED},
            customdata=[[row[1], _money(row[5])] for row in items],
            marker={"size": [12 + 36 * (_money(row[5]) / biggest) ** 0.5 for row in items],
                    "color": STAGE_COLOURS.get(stage, ACCENT), "opacity": 0.75,
                    "line": {"width": 1, "color": "#ffffff"}},
            hovertemplate=(f"%{{text}} %{{customdata[0]}}<br>cost {currency} %{{x:,.0f}} · value {currency} "
                           f"%{{y:,.0f}}<br>run rate {currency} %{{customdata[1]:,.0f}}/month<extra></extra>"),
        ))
    limit = max([_money(row[3]) for row in shown] + [_money(row[4]) for row in shown] + [1.0])
    figure = go.Figure(traces)
    figure.update_layout(
        **_layout(height=420, margin={"l": 10, "r": 10, "t": 30, "b": 40}),
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"color": MUTED}},
        xaxis=_axis(title={"text": f"cost to date ({currency})", "font": {"color": MUTED}}, rangemode="tozero"),
        yaxis=_axis(title={"text": f"realized value ({currency})", "font": {"color": MUTED}}, rangemode="tozero"),
        shapes=[{"type": "line", "x0": 0, "y0": 0, "x1": limit, "y1": limit,
                 "line": {"color": MUTED, "width": 1, "dash": "dot"}}],
        annotations=[{"x": limit, "y": limit, "text": "break-even", "showarrow": False, "xanchor": "right",
                      "yanchor": "bottom", "font": {"size": 11, "color": MUTED}}],
    )
    return figure.to_json()
