"""Head figures: the layer x head Shapley heatmap and each method's selected heads on the same grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from headspex.reporting.html.common import SHAPLEY_SCALE, HeadGrid, head_hover, keep_label, ordered_methods
from headspex.reporting.labels import head_label, method_label
from headspex.reporting.page import style

KEPT_SCALE = [[0.0, "#e8e8e8"], [0.5, "#e8e8e8"], [0.5, "#1b7837"], [1.0, "#1b7837"]]


def _axes(fig: Any, grid: HeadGrid, **where: Any) -> None:
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=grid.x, title_text="head", **where)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=grid.y, title_text="layer", **where)


def shapley_heatmap(run: Any, label: str, seed: int | None = None) -> go.Figure:
    """Layer x head heatmap of Shapley values, diverging colours centred at 0; hover: Banzhaf and partners."""
    grid = HeadGrid(run.players)
    heads = run.heads.sort_values("player")
    z = grid.fill(heads["shapley"].to_numpy(dtype=float))
    text = grid.fill(head_hover(run.heads, run.top_interactions), empty="")
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = go.Figure(go.Heatmap(z=z, x=grid.x, y=grid.y, text=text, hovertemplate="%{text}<extra></extra>",
                               colorscale=SHAPLEY_SCALE, zmid=0, zmin=-(lim or 1.0), zmax=lim or 1.0, xgap=1, ygap=1,
                               colorbar=dict(title=dict(text="Shapley"), thickness=12)))
    _axes(fig, grid)
    which = "" if seed is None else f"seed {seed}; "
    return style(fig, f"Shapley value per head, layers {label} ({which}hover for Banzhaf and strongest partners)",
                 grid.height(per_row=34, extra=170))


def _selection_traces(run: Any, grid: HeadGrid, keep: float, methods: list[str], text: np.ndarray,
                      rule: str | None = None) -> list:
    traces = []
    for method in methods:
        sel = run.selections[(keep, method)]
        kept = grid.fill(np.asarray(sel.mask, dtype=float))
        status = grid.fill(["kept" if m else "ablated" for m in sel.mask], empty="")
        hover = np.char.add(np.char.add(text.astype(str), "<br>"), status.astype(str))
        traces.append(go.Heatmap(z=kept, x=grid.x, y=grid.y, text=hover, zmin=0, zmax=1, colorscale=KEPT_SCALE,
                                 showscale=False, xgap=1, ygap=1, name=method_label(method, rule),
                                 hovertemplate=f"<b>{method_label(method, rule)}</b>: %{{text}}<extra></extra>"))
    return traces


def selected_heads(run: Any, label: str, seed: int | None = None, rule: str | None = None) -> go.Figure | None:
    """One grid per method (green = kept; ``proxyspex`` named with its ``rule``) with a dropdown over the keep
    levels."""
    methods = ordered_methods([m for _, m in run.selections])
    keeps = sorted({k for k, _ in run.selections})
    if not methods:
        return None
    pruned = [i for i, keep in enumerate(keeps) if keep < 1] or list(range(len(keeps)))
    default, grid = pruned[len(pruned) // 2], HeadGrid(run.players)
    text = grid.fill([f"{head_label(r.layer, r.head)} (layer {int(r.layer) + 1}, head {int(r.head)})"
                      for r in run.heads.sort_values("player").itertuples()], empty="")
    fig = make_subplots(rows=len(methods), cols=1, shared_xaxes=True, vertical_spacing=0.5 / (len(methods) + 4),
                        subplot_titles=[method_label(m, rule) for m in methods])
    for i, keep in enumerate(keeps):
        for row, trace in enumerate(_selection_traces(run, grid, keep, methods, text, rule), start=1):
            trace.visible = i == default
            fig.add_trace(trace, row=row, col=1)
    buttons = []
    for i, keep in enumerate(keeps):
        visible = [j == i for j in range(len(keeps)) for _ in methods]
        title = (f"Heads kept (green) by each method, layers {label}: keep {keep_label(keep)} (k = {run.keep_k[keep]})"
                 + ("" if seed is None else f"; seed {seed}"))
        buttons.append(dict(label=f"keep {keep_label(keep)} (k={run.keep_k[keep]})", method="update",
                            args=[{"visible": visible}, {"title.text": title}]))
    _axes(fig, grid)
    fig.update_xaxes(title_text=None)
    fig.update_xaxes(title_text="head", row=len(methods), col=1)
    style(fig, buttons[default]["args"][1]["title.text"],
          120 + len(methods) * (50 + 24 * len(grid.layers)))
    fig.update_layout(margin=dict(t=105), updatemenus=[dict(buttons=buttons, active=default, x=0.0,
                                                              xanchor="left", y=1.0, yanchor="bottom", pad=dict(b=22))])
    return fig
