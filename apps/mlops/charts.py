"""Plotly figures for the MLOps pages: pure functions from plain rows to figure JSON (no ORM, no request).

Colours and layout follow apps/portfolio/charts.py so the MLOps tab looks like the rest of the portal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import plotly.graph_objects as go

from apps.portfolio.charts import ACCENT, ALERT, GRID, MUTED, TARGET, _axis, _layout

WARNING = "#f59e0b"
SUCCESS = "#10b981"


def metric_figure(*, key: str, points: Sequence[tuple[datetime, float]],
                  limits: Sequence[tuple[str, float]] = (), breaches: Sequence[tuple[datetime, float]] = ()) -> str:
    """A monitored metric over time, with each rule's limit as a dashed line and the breaching values marked."""
    traces = [go.Scatter(
        x=[at.isoformat() for at, _ in points], y=[value for _, value in points], mode="lines+markers",
        name=key, line={"color": ACCENT, "width": 2}, marker={"size": 5, "color": ACCENT},
        hovertemplate=f"%{{x|%d %b %Y %H:%M}}: %{{y:.4g}}<extra>{key}</extra>",
    )]
    if breaches:
        traces.append(go.Scatter(
            x=[at.isoformat() for at, _ in breaches], y=[value for _, value in breaches], mode="markers",
            name="Breach", marker={"size": 10, "color": ALERT, "symbol": "circle-open", "line": {"width": 2}},
            hovertemplate="%{x|%d %b %Y}: %{y:.4g}<extra>breach</extra>",
        ))
    shapes, annotations = [], []
    for label, value in limits:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": value, "y1": value,
                       "line": {"color": ALERT, "width": 1.5, "dash": "dot"}})
        annotations.append({"xref": "paper", "x": 1, "y": value, "xanchor": "right", "yanchor": "bottom",
                            "showarrow": False, "text": label, "font": {"size": 11, "color": ALERT}})
    figure = go.Figure(traces)
    figure.update_layout(
        **_layout(height=230), showlegend=False, shapes=shapes, annotations=annotations,
        xaxis=_axis(type="date"), yaxis=_axis(title={"text": key, "font": {"color": MUTED}}),
    )
    return figure.to_json()


def readiness_history_figure(rows: Sequence[tuple[datetime, int]]) -> str:
    """Readiness score over time as a step line (a snapshot is recorded when a check changes)."""
    figure = go.Figure(go.Scatter(
        x=[at.isoformat() for at, _ in rows], y=[score for _, score in rows], mode="lines+markers",
        line={"color": SUCCESS, "width": 2, "shape": "hv"}, marker={"size": 6, "color": SUCCESS},
        hovertemplate="%{x|%d %b %Y}: %{y}%<extra>readiness</extra>",
    ))
    figure.update_layout(
        **_layout(height=150, margin={"l": 10, "r": 10, "t": 6, "b": 24}), showlegend=False,
        xaxis=_axis(type="date"), yaxis=_axis(range=[0, 105], ticksuffix="%", gridcolor=GRID),
    )
    return figure.to_json()


def alert_colour(severity: str) -> str:
    return {"critical": ALERT, "warning": WARNING}.get(severity, TARGET)
