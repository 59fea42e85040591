"""Plotly figures the pages draw (core stays data-only: it returns tables, these turn them into charts).

The eval loop's: rounds over time (:func:`history_figure`), the confusion matrix (:func:`confusion_figure`)
and current against baseline per slice (:func:`comparison_figure`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.evalloop import SLICE_DIMENSIONS, Comparison, EvalReport


def history_figure(
    history: pd.DataFrame, *, dimension: str = "overall", metrics: Sequence[str] = ()
) -> go.Figure:
    """Plotly line chart of a metric per round: overall metrics, or one line per slice of a dimension.

    Args:
        history: The table from :func:`core.evalloop.round_history`.
        dimension: ``overall`` or one of :data:`SLICE_DIMENSIONS`.
        metrics: For ``overall``, which metrics to draw (default: every one stored).

    Raises:
        ValueError: If ``dimension`` is unknown.
    """
    if dimension != "overall" and dimension not in SLICE_DIMENSIONS:
        raise ValueError(f"dimension must be 'overall' or one of {SLICE_DIMENSIONS}, got {dimension!r}")
    data = history[history["dimension"] == dimension]
    if dimension == "overall":
        data = data[data["metric"].isin(metrics)] if metrics else data
        color, title = "metric", "Overall metrics per eval round"
    else:
        color, title = "slice", f"{dimension.capitalize()} slices per eval round"
    figure = px.line(
        data, x="round", y="value", color=color, markers=True, hover_data=["name", "n"], title=title
    )
    figure.update_xaxes(dtick=1)
    figure.update_yaxes(range=[0, 1.05] if data["value"].max() <= 1 else None)
    return figure


def confusion_figure(report: EvalReport) -> go.Figure:
    """Plotly heatmap of the confusion matrix (rows: expected, columns: predicted)."""
    figure = px.imshow(
        np.array(report.confusion),
        x=report.labels,
        y=report.labels,
        text_auto=True,
        color_continuous_scale="Blues",
        labels={"x": "predicted", "y": "expected", "color": "rows"},
        title="Confusion matrix",
    )
    figure.update_xaxes(side="bottom")
    figure.update_layout(height=max(360, 40 * len(report.labels) + 160))
    return figure


def comparison_figure(comparison: Comparison, *, dimension: str = "category") -> go.Figure:
    """Plotly grouped bars: current against baseline per slice of one dimension."""
    items = [s for s in comparison.slices if s.slice.startswith(f"{dimension}=")]
    names = [s.slice.split("=", 1)[1] for s in items]
    figure = go.Figure(
        [
            go.Bar(name="baseline", x=names, y=[s.baseline for s in items]),
            go.Bar(name="current", x=names, y=[s.current for s in items]),
        ]
    )
    figure.update_layout(barmode="group", title=f"Current vs baseline per {dimension}", yaxis_range=[0, 1.05])
    return figure
