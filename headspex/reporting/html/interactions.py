"""Interaction figures: higher-order bars and energy shares (the pairwise network: :mod:`.network`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from headspex.reporting.html.common import NEGATIVE, POSITIVE
from headspex.reporting.labels import relabel
from headspex.reporting.page import finite_errors, style

SHARE_NAMES = {"linear": "linear (single heads)", "within_layer": "within-layer interactions",
               "across_layer": "across-layer interactions"}


def higher_order(run: Any, label: str, top: int = 15) -> go.Figure | None:
    """Bars of the largest interactions of order >= 3, labelled by their members."""
    t = run.top_interactions
    if t is None or t.empty or not (t["order"] >= 3).any():
        return None
    rows = t[t["order"] >= 3].assign(size=lambda d: d["value"].abs()).nlargest(top, "size").iloc[::-1]
    names = [f"{relabel(m)} ({'within' if w else 'across'})" for m, w in zip(rows["members"], rows["within_layer"])]
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
