"""Pruning figures: test accuracy against heads kept per method, and the pilot's random-mask drop."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from headspex.reporting.html.common import colour, ordered_methods
from headspex.reporting.labels import method_label
from headspex.reporting.page import finite_errors, style


def accuracy(table: pd.DataFrame, clean: float, label: str, rule: str | None = None) -> go.Figure | None:
    """Mean test accuracy over seeds with 95% t-intervals per method (``proxyspex`` named with its ``rule``); dashed
    line: unpruned model."""
    rows = table[table["layers"] == label] if not table.empty else table
    if rows.empty:
        return None
    fig = go.Figure()
    for method in ordered_methods(rows["method"]):
        line = rows[rows["method"] == method].sort_values("keep")
        fig.add_trace(go.Scatter(
            x=line["keep"] * 100, y=line["test_accuracy"], name=method_label(method, rule), mode="lines+markers",
            line=dict(color=colour(method), dash="dot" if method == "random" else "solid"),
            error_y=finite_errors(line["test_accuracy"], line["low"], line["high"]),
            customdata=line[["k", "low", "high", "n_seeds"]].to_numpy(),
            hovertemplate=f"<b>{method_label(method, rule)}</b><br>keep %{{x:.0f}} % (k = %{{customdata[0]}})<br>test accuracy "
                          "%{y:.3f} [%{customdata[1]:.3f}, %{customdata[2]:.3f}]<br>%{customdata[3]} seed(s)"
                          "<extra></extra>"))
    fig.add_hline(y=clean, line=dict(color="black", dash="dash", width=1),
                  annotation=dict(text=f"unpruned {clean:.3f}", xanchor="left"), annotation_position="top left")
    fig.update_xaxes(title_text="heads of the range kept (%)", ticksuffix=" %")
    fig.update_yaxes(title_text="test accuracy (float32)")
    fig.update_layout(legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    return style(fig, f"Test accuracy vs heads kept, layers {label} (mean over seeds, 95% CI)", 430)


def pilot(table: pd.DataFrame, label: str) -> go.Figure | None:
    """Accuracy lost by random k-head masks per keep level (first seed; error bars: sd over masks)."""
    rows = table[table["layers"] == label] if not table.empty else table
    if rows.empty:
        return None
    rows = rows.sort_values("keep")
    ceiling = bool(rows["at_ceiling"].iloc[0]) if "at_ceiling" in rows else False
    fig = go.Figure(go.Bar(
        x=[f"{k:.0%} (k={n})" for k, n in zip(rows["keep"], rows["k"])], y=rows["drop"],
        error_y=dict(type="data", array=rows["random_sd"].fillna(0), thickness=1.2, width=4),
        marker_color="#999999" if ceiling else "#a6761d",
        customdata=rows[["random_mean", "random_sd", "n_masks"]].to_numpy(),
        hovertemplate="keep %{x}<br>drop %{y:.3f}<br>random masks: mean %{customdata[0]:.3f}, sd "
                      "%{customdata[1]:.3f} over %{customdata[2]} masks<extra></extra>"))
    fig.add_hline(y=0.05, line=dict(color="black", dash="dot", width=1),
                  annotation=dict(text="5-point ceiling threshold"), annotation_position="top right")
    fig.update_xaxes(title_text="heads of the range kept")
    fig.update_yaxes(title_text="unpruned minus random-mask accuracy")
    note = " - at ceiling: methods cannot differ" if ceiling else ""
    return style(fig, f"Pilot: accuracy lost by random masks, layers {label}{note}", 360)
