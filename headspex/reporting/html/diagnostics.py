"""Diagnostics of the HTML report: the proxy's fit, predicted vs true values, evaluations and the configuration."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from headspex.reporting.html.common import colour, keep_label, ordered_methods
from headspex.reporting.page import style, table_html

HIDDEN = ("random", "selection_total")  # not a method's training evaluations (older results stored a total)


def fit_table(table: pd.DataFrame, label: str) -> str:
    """CV R^2 and held-out R^2 (uniform masks, and masks with exactly k heads) of the range, as HTML."""
    rows = table[table["layers"] == label] if not table.empty else table
    if rows.empty:
        return "<p>(no fit summary)</p>"
    rows = rows.rename(columns=lambda c: c.replace("heldout_r2_", "held-out R² ").replace("cv_r2", "CV R²"))
    return '<p class="note">Proxy fit, mean over seeds:</p>' + table_html(rows)


def predicted_vs_true(run: Any, label: str, metric: str, seed: int | None = None) -> go.Figure | None:
    """The proxy's prediction against the true training value: unseen masks, and the masks it selected."""
    fig, values = go.Figure(), []
    for name, h in run.heldout.items():
        true, pred = np.asarray(h["true"], float), np.asarray(h["predicted"], float)
        values += [true, pred]
        what = "uniform masks" if name == "uniform" else f"{keep_label(name)} of heads kept"
        fig.add_trace(go.Scatter(x=true, y=pred, mode="markers", name=f"held-out, {what} (R² {h['r2']:.2f})",
                                 marker=dict(size=6, opacity=0.7),
                                 hovertemplate="true %{x:.4g}<br>predicted %{y:.4g}<extra>" + what + "</extra>"))
    picked = [(keep, run.train[(keep, m)][metric], s.objective) for (keep, m), s in run.selections.items()
              if m == "proxyspex" and (keep, m) in run.train]
    if picked:
        true, pred = np.array([p[1] for p in picked], float), np.array([p[2] for p in picked], float)
        values += [true, pred]
        fig.add_trace(go.Scatter(x=true, y=pred, mode="markers", name="selected by proxyspex",
                                 text=[f"keep {keep_label(p[0])}" for p in picked],
                                 marker=dict(size=14, symbol="star", color=colour("proxyspex"),
                                             line=dict(width=1, color="black")),
                                 hovertemplate="%{text}<br>true %{x:.4g}<br>proxy objective %{y:.4g}<extra></extra>"))
    finite = np.concatenate(values)[np.isfinite(np.concatenate(values))] if values else np.array([])
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="predicted = true", hoverinfo="skip",
                             line=dict(color="black", dash="dash", width=1)))
    fig.update_xaxes(title_text=f"true training value ({metric})")
    fig.update_yaxes(title_text="proxy prediction", scaleanchor=None)
    fig.update_layout(legend=dict(orientation="v", x=1.02, y=1, xanchor="left"))
    cv = run.proxy_summary.get("cv_r2", float("nan"))
    which = "first seed" if seed is None else f"seed {seed}"
    return style(fig, f"Proxy prediction vs true value, layers {label} ({which}; its CV R² {cv:.2f})", 440)


def evaluations(run: Any, label: str, seed: int | None = None) -> go.Figure | None:
    """Model evaluations on the training split each method spent on this range (bars; log scale when they span
    decades). The random baseline spends none there: its masks are scored on the test split (the pilot), as the
    figure notes instead of drawing a zero bar."""
    methods = [m for m in ordered_methods(list(run.evaluations)) if m not in HIDDEN]
    if not methods:
        return None
    counts = [int(run.evaluations[m]) for m in methods]
    fig = go.Figure(go.Bar(x=methods, y=counts, marker_color=[colour(m) for m in methods], text=counts,
                           textposition="outside", hovertemplate="%{x}: %{y} evaluations<extra></extra>"))
    positive = [c for c in counts if c > 0]
    if positive and max(positive) / min(positive) > 100:
        fig.update_yaxes(type="log")
    fig.update_yaxes(title_text="training masks evaluated")
    n_random = len(next(iter(run.random.values()))["accuracy"]) if run.random else 0
    if "random" in run.evaluations or run.random:
        fig.add_annotation(text=f"random (not drawn): no training evaluations; its {n_random} masks per level are "
                                "scored on the test split (the pilot)", xref="paper", yref="paper", x=0, y=1.0,
                           xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=11, color="#666"))
    which = "" if seed is None else f" (seed {seed})"
    return style(fig, f"Model evaluations per method, layers {label}{which}", 360)


def _flatten(record: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(record, dict):
        return [row for k, v in record.items() for row in _flatten(v, f"{prefix}{k}.")]
    text = record if isinstance(record, str) else json.dumps(record, default=str)
    return [(prefix.rstrip("."), text)]


def config_table(config: dict, seeds: list[int], seconds: float) -> str:
    """The configuration as a two-column table (nested entries as dotted keys), commit first."""
    rows = _flatten(config)
    if not any(k == "commit" for k, _ in rows):
        rows.append(("commit", "(not recorded: pass config.json's record as config)"))
    rows.sort(key=lambda kv: (kv[0] != "commit", False))
    rows += [("seeds in this report", json.dumps(seeds)), ("wall time of the runs (s)", f"{seconds:.0f}")]
    return table_html(pd.DataFrame(rows, columns=["setting", "value"]))
