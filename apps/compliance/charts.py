"""Plotly figures for the compliance pages: pure functions from plain rows to figure JSON (no ORM, no request)."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from apps.portfolio.charts import FONT, INK, MUTED

# Red → amber → green for a share of requirements met; the same stops as the .posture-* cells in the stylesheet.
POSTURE_SCALE = [[0.0, "#dc2626"], [0.5, "#f59e0b"], [0.8, "#84cc16"], [1.0, "#059669"]]
# Risk zones by likelihood × impact: low (1–4), medium (5–9), high (10–16), critical (20–25).
RISK_SCALE = [[0.0, "#d1fae5"], [0.2, "#fef3c7"], [0.45, "#fdba74"], [0.75, "#f87171"], [1.0, "#b91c1c"]]


def _layout(height: int, **extra) -> dict:
    layout = {
        "template": "none", "height": height, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "font": {"family": FONT, "size": 12, "color": INK}, "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    layout.update(extra)
    return layout


def posture_heatmap_figure(*, units: Sequence[str], frameworks: Sequence[str],
                           cells: Sequence[Sequence[tuple[float | None, int, int]]]) -> str:
    """Business unit (rows) × framework (columns): share of applicable requirements met, from cells[row][col] =
    (score 0..1 or None, requirements met, requirements applicable). Empty cells: nothing applies."""
    z = [[None if score is None else round(score * 100) for score, _, _ in row] for row in cells]
    text = [["—" if score is None else f"{round(score * 100)}%" for score, _, _ in row] for row in cells]
    custom = [[f"{met} of {applicable}" for _, met, applicable in row] for row in cells]
    figure = go.Figure(go.Heatmap(
        z=z, x=list(frameworks), y=list(units), text=text, texttemplate="%{text}", customdata=custom,
        colorscale=POSTURE_SCALE, zmin=0, zmax=100, xgap=3, ygap=3, hoverongaps=False,
        colorbar={"title": {"text": "% met", "font": {"color": MUTED}}, "ticksuffix": "%", "thickness": 12},
        hovertemplate="%{y} · %{x}: %{text} (%{customdata} requirement-initiative pairs met)<extra></extra>",
    ))
    figure.update_layout(
        **_layout(max(180, 38 * len(units) + 90), margin={"l": 10, "r": 10, "t": 40, "b": 10}),
        xaxis={"side": "top", "tickfont": {"color": INK}, "automargin": True},
        yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"color": INK}},
    )
    return figure.to_json()


def risk_matrix_figure(counts: dict[tuple[int, int], int], *, title: str = "Open risks") -> str:
    """5 × 5 likelihood × impact matrix: each cell coloured by its score zone and labelled with its risk count."""
    levels = [1, 2, 3, 4, 5]
    z = [[likelihood * impact for impact in levels] for likelihood in levels]
    text = [[str(counts.get((likelihood, impact), "")) for impact in levels] for likelihood in levels]
    figure = go.Figure(go.Heatmap(
        z=z, x=levels, y=levels, text=text, texttemplate="<b>%{text}</b>", textfont={"size": 15},
        colorscale=RISK_SCALE, zmin=1, zmax=25, showscale=False, xgap=3, ygap=3,
        hovertemplate="Likelihood %{y} × impact %{x} = %{z}: %{text} " + title.lower() + "<extra></extra>",
    ))
    axis = {"tickmode": "array", "tickvals": levels, "fixedrange": True, "tickfont": {"color": MUTED}}
    figure.update_layout(
        **_layout(320, margin={"l": 50, "r": 10, "t": 10, "b": 45}),
        xaxis={**axis, "title": {"text": "impact", "font": {"color": MUTED}}},
        yaxis={**axis, "title": {"text": "likelihood", "font": {"color": MUTED}}},
    )
    return figure.to_json()
