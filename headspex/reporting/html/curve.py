"""A whole-model curves run's own ``report.html``: self-contained and offline (plotly.js inlined once, as the
study's report), opening on the verdict (sentences from the AUC table, trust warnings, the AUC table with paired
differences to ProxySPEX); then the curves with 95% bands, the prunable fractions and the costs.

    write_curve_html(results, tables, out / "report.html", title="...")
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from headspex.reporting.html.common import colour, ordered_methods
from headspex.reporting.labels import label_methods, method_label
from headspex.reporting.page import Page, document, sentences_html, style, table_html
from headspex.reporting.trust import TrustReport
from headspex.reporting.trust_blocks import details_html, warnings_html


def auc_display(auc: pd.DataFrame, rule: str | None = None) -> pd.DataFrame:
    """The AUC table as the reports show it: AUC [95% CI], the paired difference to ProxySPEX and its reading;
    ``proxyspex`` named with its ``rule``."""

    def ci(v: float, lo: float, hi: float, sign: str = "") -> str:
        if not np.isfinite(v):
            return ""
        return f"{v:{sign}.3f}" + (f" [{lo:{sign}.3f}, {hi:{sign}.3f}]" if np.isfinite(lo) else "")

    rows = []
    for r in auc.itertuples():
        lo, hi = getattr(r, "diff_low", np.nan), getattr(r, "diff_high", np.nan)
        reading = ("" if not np.isfinite(lo) else "significantly above" if lo > 0 else "significantly below" if hi < 0
                   else "within noise")
        rows.append({"method": method_label(r.method, rule), "AUC [95% CI]": ci(r.auc, r.low, r.high),
                     "minus ProxySPEX [95% CI]": ci(getattr(r, "diff_vs_ref", np.nan), lo, hi, "+"),
                     "vs ProxySPEX": reading})
    return pd.DataFrame(rows)


def curve_figure(curve: pd.DataFrame, clean: float, n_heads: int, rule: str | None = None) -> go.Figure:
    """Test accuracy against the share of heads kept: a line and its 95% band per method (``proxyspex`` named with
    its ``rule``), unpruned dashed."""

    fig = go.Figure()
    for method in ordered_methods(list(curve["method"])):
        part = curve[curve["method"] == method].sort_values("k")
        x, col = part["k"] / n_heads * 100, colour(method)
        if np.isfinite(part["low"]).any():
            band_x, band_y = np.concatenate([x, x[::-1]]), np.concatenate([part["high"], part["low"][::-1]])
            fig.add_trace(go.Scatter(x=band_x, y=band_y, mode="lines", fill="toself", fillcolor=col, opacity=0.13,
                                     line=dict(width=0), hoverinfo="skip", legendgroup=method, showlegend=False))
        fig.add_trace(go.Scatter(
            x=x, y=part["accuracy"], name=method_label(method, rule), legendgroup=method, mode="lines+markers",
            line=dict(color=col, dash="dot" if method == "random" else "solid"),
            customdata=part[["k", "low", "high", "selected_by"]].to_numpy(),
            hovertemplate=f"<b>{method_label(method, rule)}</b><br>%{{customdata[0]}} heads kept (%{{x:.0f}} %)<br>test accuracy "
                          "%{y:.3f} [%{customdata[1]:.3f}, %{customdata[2]:.3f}]<br>%{customdata[3]}<extra></extra>"))
    fig.add_hline(y=clean, line=dict(color="black", dash="dash", width=1),
                  annotation=dict(text=f"unpruned {clean:.3f}", xanchor="left"), annotation_position="top left")
    fig.update_xaxes(title_text=f"heads kept (% of {n_heads})", ticksuffix=" %")
    fig.update_yaxes(title_text="test accuracy (float32)")
    fig.update_layout(legend=dict(orientation="v", x=1.02, y=1, xanchor="left"))
    return style(fig, "Test accuracy vs heads kept (95% bands: bootstrap over questions; random: over masks)", 520)


def prunable_figure(prunable: pd.DataFrame) -> go.Figure:
    """Per method, the largest share of heads removed at a sweep level within 1 and 5 points of unpruned."""
    fig = go.Figure()
    for column in [c for c in prunable.columns if c.startswith("removable_within_")]:
        points = column.rsplit("_", 1)[-1].replace("pt", "")
        fig.add_trace(go.Bar(x=prunable["method"], y=prunable[column] * 100, name=f"within {points} point(s)",
                             hovertemplate="%{x}: %{y:.0f} % of the heads removed<extra></extra>"))
    fig.update_layout(barmode="group", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    fig.update_yaxes(title_text="heads removed (%)", rangemode="tozero")
    return style(fig, "Prunable: the most heads removed at a sweep level within 1 / 5 points of the unpruned model",
                 380)


def cost_figure(cost: pd.DataFrame, n_train: int) -> go.Figure:
    """Forward and backward passes per training question each method spent choosing its sets (log scale)."""
    fig = go.Figure()
    for column, label in (("forward_passes", "forward"), ("backward_passes", "backward")):
        per_q = cost[column] / max(1, n_train)
        fig.add_trace(go.Bar(x=cost["method"], y=per_q.where(per_q > 0), name=f"{label} passes / question",
                             hovertemplate="%{x}: %{y:.0f} " + label + " passes per question<extra></extra>"))
    fig.update_layout(barmode="group", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"))
    fig.update_yaxes(title_text="passes per training question", type="log")
    return style(fig, "Cost of choosing the sets (first seed; a missing bar is 0)", 380)


def write_curve_html(results: Sequence[Any], tables: dict, path: str | Path, *, title: str, sentences: list[str],
                     trust: TrustReport, config: dict | None = None) -> Path:
    """Write the curves' report to ``path``; ``tables``: curve, auc, prunable, cost; ``sentences``: the verdict."""
    first = results[0]
    clean, n_heads = float(first.clean["test"]["accuracy"]), len(first.players)
    rule = first.config.proxyspex_rule  # every table and bar names proxyspex with it
    prunable, cost = label_methods(tables["prunable"], rule), label_methods(tables["cost"], rule)
    page = Page()
    page.add('<section id="verdict"><h2>Verdict</h2>' + sentences_html(sentences)
             + '<h3>Area under the curve</h3><p class="note">AUC = mean test accuracy over the sweep; 95% bootstrap CI '
             f"over the {first.n_test} test questions (per-question scores averaged over {len(results)} seed(s)); "
             "minus ProxySPEX: the paired difference with its own 95% CI; random: mean of its masks, no CI.</p>"
             + table_html(auc_display(tables["auc"], rule), table_id="auc-table") + warnings_html(trust) + "</section>")
    page.add('<section id="curves"><h2>Curves</h2>')
    page.figure(curve_figure(tables["curve"], clean, n_heads, rule), "(no curve)")
    page.add('</section><section id="prunable"><h2>Prunable fractions</h2>')
    page.figure(prunable_figure(prunable), "(no prunable fractions)")
    page.add(table_html(prunable, "{:.0%}") + '</section><section id="cost"><h2>Costs</h2>')
    page.figure(cost_figure(cost, first.n_train), "(no costs)")
    page.add(table_html(cost, "{:.1f}") + "</section>")
    page.add('<section id="trust"><h2>Trust details</h2>' + details_html(trust) + "</section>")
    if config:
        from headspex.reporting.html.diagnostics import config_table

        page.add('<section id="configuration"><h2>Configuration</h2>'
                 + config_table(config, sorted(r.config.seed for r in results), sum(r.seconds for r in results))
                 + "</section>")
    nav = "".join(f'<a href="#{i}">{t}</a>' for i, t in (("verdict", "Verdict"), ("trust-warnings", "Trust warnings"),
                  ("curves", "Curves"), ("prunable", "Prunable"), ("cost", "Costs"), ("trust", "Trust details"),
                  ("configuration", "Configuration")) if i != "configuration" or config)
    intro = (f'<p class="note">Unpruned test accuracy {clean:.3f}; {n_heads} heads, one game; {first.n_train} training '
             f"/ {first.n_test} test questions; seeds {sorted(r.config.seed for r in results)}; training value: "
             f"{html.escape(str(first.config.metric))}. Hover for values; click legend entries to hide them.</p>")
    path = Path(path)
    from headspex._io import atomic_write_text

    return atomic_write_text(path, document(title, intro, nav, page.html()))
