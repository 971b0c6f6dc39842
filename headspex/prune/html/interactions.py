"""Interaction figures: the network of top pairwise interactions, higher-order bars and energy shares."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from headspex.prune.html.common import (NEGATIVE, POSITIVE, SHAPLEY_SCALE, HeadGrid, finite_errors, head_hover,
                                        parse_label, style)

SHARE_NAMES = {"linear": "linear (single heads)", "within_layer": "within-layer interactions",
               "across_layer": "across-layer interactions"}


def _curve(a: tuple[float, float], b: tuple[float, float], n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A gentle arc from a to b (bent sideways so edges between heads of one layer stay visible)."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    length = float(np.hypot(dx, dy)) or 1.0
    bend = min(0.18 * length, 0.45)
    cx, cy = (x0 + x1) / 2 - dy / length * bend, (y0 + y1) / 2 + dx / length * bend
    t = np.linspace(0, 1, n)
    a_, b_, c_ = (1 - t) ** 2, 2 * (1 - t) * t, t ** 2
    return a_ * x0 + b_ * cx + c_ * x1, a_ * y0 + b_ * cy + c_ * y1


def _pairs(top: pd.DataFrame | None) -> list[tuple[tuple, tuple, float, bool, str]]:
    """Pairwise rows of the top interactions: (player a, player b, value, within layer, members)."""
    if top is None or top.empty:
        return []
    out = []
    for r in top[top["order"] == 2].itertuples():
        ends = [parse_label(m) for m in str(r.members).split()]
        if len(ends) == 2 and None not in ends:
            out.append((ends[0], ends[1], float(r.value), bool(r.within_layer), str(r.members)))
    return out


def _edge_traces(pairs: list) -> tuple[list, list[bool]]:
    """One line trace per edge (colour by sign, width by |value|) and hover markers at the arcs' middles."""
    vmax = max(abs(p[2]) for p in pairs)
    traces, within = [], []
    for kind in (True, False):
        mids = []
        for a, b, value, w, members in (p for p in pairs if p[3] == kind):
            x, y = _curve((a[1], a[0] + 1), (b[1], b[0] + 1))
            traces.append(go.Scatter(x=x, y=y, mode="lines", hoverinfo="skip", showlegend=False,
                                     line=dict(color=POSITIVE if value > 0 else NEGATIVE,
                                               width=1 + 7 * abs(value) / vmax)))
            within.append(kind)
            mids.append((x[len(x) // 2], y[len(y) // 2], f"{members}<br>a(S) = {value:+.4g}<br>"
                         + ("within one layer" if kind else "across layers")))
        if mids:
            traces.append(go.Scatter(x=[m[0] for m in mids], y=[m[1] for m in mids], text=[m[2] for m in mids],
                                     mode="markers", marker=dict(size=9, opacity=0), showlegend=False,
                                     hovertemplate="%{text}<extra></extra>"))
            within.append(kind)
    return traces, within


def _filter_buttons(within: list[bool]) -> list[dict]:
    n_edges = len(within)
    show = {"all pairs": [True] * n_edges, "within-layer": within, "across-layer": [not w for w in within]}
    return [dict(label=name, method="restyle", args=[{"visible": vis + [True, True, True]}])
            for name, vis in show.items()]


def network(run: Any, label: str) -> go.Figure | None:
    """Heads at (head, layer), top pairwise interactions as edges; buttons filter within/across layer."""
    pairs = _pairs(run.top_interactions)
    if not pairs:
        return None
    grid, heads = HeadGrid(run.players), run.heads.sort_values("player")
    traces, within = _edge_traces(pairs)
    fig = go.Figure(traces)
    lim = float(np.nanmax(np.abs(heads["shapley"]))) or 1.0
    fig.add_trace(go.Scatter(x=heads["head"], y=heads["layer"] + 1, mode="markers", showlegend=False,
                             text=head_hover(run.heads, run.top_interactions), hovertemplate="%{text}<extra></extra>",
                             marker=dict(size=11, color=heads["shapley"], colorscale=SHAPLEY_SCALE, cmin=-lim,
                                         cmax=lim, line=dict(width=0.6, color="#333"),
                                         colorbar=dict(title=dict(text="Shapley"), thickness=12))))
    for name, col in (("positive a(S)", POSITIVE), ("negative a(S)", NEGATIVE)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=col, width=4), name=name))
    fig.update_xaxes(title_text="head", dtick=1 if len(grid.heads) <= 40 else 4, zeroline=False,
                     range=[min(grid.heads) - 0.7, max(grid.heads) + 0.7])
    fig.update_yaxes(title_text="layer", dtick=1, zeroline=False,
                     range=[min(grid.layers) + 1 - 0.7, max(grid.layers) + 1 + 0.7])
    style(fig, f"Top pairwise interactions, layers {label} ({len(pairs)} pairs; width = |a(S)|)",
          grid.height(per_row=max(28, min(90, 900 // len(grid.layers))), extra=230))
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.12, yanchor="top"),
                      updatemenus=[dict(type="buttons", direction="right", buttons=_filter_buttons(within), x=1.0,
                                        xanchor="right", y=1.02, yanchor="bottom", showactive=True)])
    return fig


def higher_order(run: Any, label: str, top: int = 15) -> go.Figure | None:
    """Bars of the largest interactions of order >= 3, labelled by their members."""
    t = run.top_interactions
    if t is None or t.empty or not (t["order"] >= 3).any():
        return None
    rows = t[t["order"] >= 3].assign(size=lambda d: d["value"].abs()).nlargest(top, "size").iloc[::-1]
    names = [f"{m} ({'within' if w else 'across'})" for m, w in zip(rows["members"], rows["within_layer"])]
    fig = go.Figure(go.Bar(x=rows["value"], y=names, orientation="h", customdata=rows["order"],
                           marker_color=[POSITIVE if v > 0 else NEGATIVE for v in rows["value"]],
                           hovertemplate="%{y}<br>order %{customdata}<br>a(S) = %{x:+.4g}<extra></extra>"))
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(title_text="Moebius coefficient a(S)")
    return style(fig, f"Largest higher-order interactions (order >= 3), layers {label}", 130 + 26 * len(rows))


def energy(table: pd.DataFrame, label: str) -> go.Figure | None:
    """Energy shares (%) of the raw and refined spectrum with bootstrap 95% intervals."""
    rows = table[table["layers"] == label] if not table.empty else table
    if rows.empty:
        return None
    fig = go.Figure()
    for r in rows.itertuples():
        est = [getattr(r, n) for n in SHARE_NAMES]
        fig.add_trace(go.Bar(name=f"{r.spectrum} spectrum", x=list(SHARE_NAMES.values()), y=est,
                             error_y=finite_errors(est, [getattr(r, f"{n}_low") for n in SHARE_NAMES],
                                                   [getattr(r, f"{n}_high") for n in SHARE_NAMES]),
                             hovertemplate="%{x}: %{y:.1f} %<extra>" + r.spectrum + "</extra>"))
    fig.update_layout(barmode="group", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    fig.update_yaxes(title_text="% of non-constant energy", rangemode="tozero")
    cv = float(rows["cv_r2"].iloc[0])
    return style(fig, f"Spectral energy shares, layers {label} (95% CI; proxy CV R² {cv:.2f}, mean over seeds)", 380)
