"""Plotly figures for the portfolio pages: pure functions from plain rows to figure JSON (no ORM, no request).

Colours match the stage and status badges of static/css/pilotlight.css, so a stage looks the same in a chart
and in a table. Figures use the bare "none" template plus our own small layout, which keeps the JSON small.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import plotly.graph_objects as go

STAGE_COLOURS = {
    "idea": "#94a3b8",
    "discovery": "#38bdf8",
    "pilot": "#f59e0b",
    "production": "#10b981",
    "scaled": "#6366f1",
    "retired": "#64748b",
    "on_hold": "#a78bfa",
    "cancelled": "#f87171",
}
INK = "#0f172a"
MUTED = "#64748b"
GRID = "#e2e8f0"
ACCENT = "#2563eb"
TARGET = "#94a3b8"
ALERT = "#dc2626"
FONT = "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def _layout(*, height: int, **extra) -> dict:
    layout = {
        "template": "none",
        "height": height,
        "margin": {"l": 10, "r": 20, "t": 10, "b": 30},
        "font": {"family": FONT, "size": 12, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hoverlabel": {"font": {"family": FONT}},
    }
    layout.update(extra)
    return layout


def _axis(**extra) -> dict:
    axis = {"gridcolor": GRID, "linecolor": GRID, "zeroline": False, "automargin": True, "tickfont": {"color": MUTED}}
    axis.update(extra)
    return axis


def funnel_figure(rows: Sequence[tuple[str, str, int]]) -> str:
    """Funnel of initiatives that reached each lifecycle stage, from (stage, label, count) rows."""
    stages = [stage for stage, _, _ in rows]
    figure = go.Figure(
        go.Funnel(
            y=[label for _, label, _ in rows],
            x=[count for _, _, count in rows],
            marker={"color": [STAGE_COLOURS.get(stage, ACCENT) for stage in stages]},
            connector={"fillcolor": "#f1f5f9", "line": {"width": 0}},
            textinfo="value+percent initial",
            textfont={"color": "#ffffff"},
            hovertemplate="%{y}: %{x} initiatives reached this stage<extra></extra>",
        )
    )
    figure.update_layout(**_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}),
                         yaxis=_axis(gridcolor="rgba(0,0,0,0)"))
    return figure.to_json()


def pilot_days_figure(rows: Sequence[tuple[str, float, int]], *, purgatory_days: int) -> str:
    """Horizontal bars of median days in pilot per business unit, from (unit, median days, pilots) rows,
    with the purgatory threshold drawn as a dashed line."""
    names = [name for name, _, _ in rows]
    medians = [round(float(days), 1) for _, days, _ in rows]
    figure = go.Figure(
        go.Bar(
            y=names,
            x=medians,
            orientation="h",
            marker={"color": [ALERT if days > purgatory_days else STAGE_COLOURS["pilot"] for days in medians]},
            text=[f"{days:.0f} d · {count} pilot{'s' if count != 1 else ''}" for days, (_, _, count) in
                  zip(medians, rows, strict=True)],
            textposition="auto",
            customdata=[count for _, _, count in rows],
            hovertemplate="%{y}: median %{x:.0f} days in pilot over %{customdata} initiatives<extra></extra>",
        )
    )
    height = max(160, 44 * len(rows) + 60)
    figure.update_layout(
        **_layout(height=height, margin={"l": 10, "r": 20, "t": 26, "b": 30}),
        xaxis=_axis(title={"text": "median days in pilot", "font": {"color": MUTED}}, rangemode="tozero"),
        yaxis=_axis(autorange="reversed", gridcolor="rgba(0,0,0,0)"),
        shapes=[{
            "type": "line", "x0": purgatory_days, "x1": purgatory_days, "y0": 0, "y1": 1, "yref": "paper",
            "line": {"color": ALERT, "width": 1.5, "dash": "dot"},
        }],
        annotations=[{
            "x": purgatory_days, "y": 1, "yref": "paper", "yanchor": "bottom", "showarrow": False,
            "text": f"purgatory after {purgatory_days} d", "font": {"size": 11, "color": ALERT},
        }],
    )
    return figure.to_json()


def kpi_figure(
    *, measurements: Sequence[tuple[date, Decimal]], baseline: tuple[date, Decimal], target: tuple[date, Decimal],
    unit: str,
) -> str:
    """Actual measurements of a KPI against the straight target line from baseline to target."""
    target_line = go.Scatter(
        x=[baseline[0].isoformat(), target[0].isoformat()],
        y=[float(baseline[1]), float(target[1])],
        mode="lines+markers",
        name="Target line",
        line={"color": TARGET, "dash": "dash", "width": 2},
        marker={"size": 7, "color": TARGET},
        hovertemplate=f"%{{x|%d %b %Y}}: %{{y:,.4~f}} {unit}<extra>target line</extra>",
    )
    actual = go.Scatter(
        x=[day.isoformat() for day, _ in measurements],
        y=[float(value) for _, value in measurements],
        mode="lines+markers",
        name="Actual",
        line={"color": ACCENT, "width": 2.5},
        marker={"size": 6, "color": ACCENT},
        hovertemplate=f"%{{x|%d %b %Y}}: %{{y:,.4~f}} {unit}<extra>actual</extra>",
    )
    figure = go.Figure([target_line, actual])
    figure.update_layout(
        **_layout(height=240, margin={"l": 10, "r": 20, "t": 30, "b": 30}),
        showlegend=True,
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"color": MUTED}},
        xaxis=_axis(type="date"),
        yaxis=_axis(title={"text": unit, "font": {"color": MUTED}}),
    )
    return figure.to_json()
