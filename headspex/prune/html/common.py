"""Shared pieces of the HTML report: the head grid, hover texts, method colours and figure-to-HTML."""

from __future__ import annotations

import html
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

METHOD_ORDER = ("proxyspex", "lasso", "best-of-n", "single-head", "random")  # as in headspex.prune.report
METHOD_COLOURS = {"proxyspex": "#1b9e77", "lasso": "#d95f02", "best-of-n": "#7570b3", "single-head": "#e7298a",
                  "random": "#666666"}
POSITIVE, NEGATIVE = "#b2182b", "#2166ac"  # the ends of the Shapley colour scale (RdBu reversed)
SHAPLEY_SCALE = "RdBu_r"
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif", size=12)
_LABEL = re.compile(r"L(\d+)H(\d+)")


def ordered_methods(methods: Sequence[str]) -> list[str]:
    """The report's method order, unknown methods last (in their order of appearance)."""
    seen = list(dict.fromkeys(methods))
    return [m for m in METHOD_ORDER if m in seen] + [m for m in seen if m not in METHOD_ORDER]


def colour(method: str) -> str:
    return METHOD_COLOURS.get(method, "#a6761d")


def keep_label(keep: Any) -> str:
    return keep if isinstance(keep, str) else f"{float(keep):.0%}"


class HeadGrid:
    """Layer x head positions of a range's players (layer on y, 1-based labels; head on x)."""

    def __init__(self, players: Sequence[tuple[int, int]]):
        self.players = [(int(layer), int(head)) for layer, head in players]
        self.layers = sorted({p[0] for p in self.players})
        self.heads = sorted({p[1] for p in self.players})
        self._row = {layer: i for i, layer in enumerate(self.layers)}
        self._col = {head: j for j, head in enumerate(self.heads)}

    @property
    def x(self) -> list[str]:
        return [str(h) for h in self.heads]

    @property
    def y(self) -> list[str]:
        return [str(layer + 1) for layer in self.layers]

    def fill(self, values: Sequence[Any], empty: Any = np.nan) -> np.ndarray:
        """``values`` (one per player, player order) placed on the [n_layers, n_heads] grid."""
        dtype = float if isinstance(empty, float) else object
        out = np.full((len(self.layers), len(self.heads)), empty, dtype=dtype)
        for (layer, head), v in zip(self.players, values):
            out[self._row[layer], self._col[head]] = v
        return out

    def height(self, per_row: int = 26, extra: int = 150) -> int:
        return extra + per_row * len(self.layers)


def parse_label(label: str) -> tuple[int, int] | None:
    """``"L3H7"`` -> (3, 7)."""
    m = _LABEL.fullmatch(label.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def partners(top: pd.DataFrame | None, label: str, n: int = 4) -> list[str]:
    """The head's strongest interactions among the stored top ones: "with L0H2 (+0.031)"."""
    if top is None or top.empty:
        return []
    rows = [(r.value, [m for m in str(r.members).split() if m != label]) for r in top.itertuples()
            if label in str(r.members).split()]
    rows.sort(key=lambda t: -abs(t[0]))
    return [f"with {' '.join(others)} ({value:+.3g})" for value, others in rows[:n]]


def head_hover(heads: pd.DataFrame, top: pd.DataFrame | None) -> list[str]:
    """Hover text per player (player order): label, layer, head, Shapley, Banzhaf, strongest partners."""
    out = []
    for r in heads.sort_values("player").itertuples():
        lines = [f"<b>{r.label}</b> (layer {int(r.layer) + 1}, head {int(r.head)})",
                 f"Shapley {r.shapley:+.4g}", f"Banzhaf {r.banzhaf:+.4g}"]
        if "interaction_involvement" in heads.columns:
            lines.append(f"interaction involvement {r.interaction_involvement:.3g}")
        found = partners(top, r.label)
        lines += ["strongest partners:", *found] if found else ["no interaction among the top ones"]
        out.append("<br>".join(lines))
    return out


def finite_errors(value: Sequence[float], low: Sequence[float], high: Sequence[float]) -> dict | None:
    """Asymmetric error bars for plotly, or None when no interval is finite (a single seed)."""
    v, lo, hi = (np.asarray(a, dtype=float) for a in (value, low, high))
    if not (np.isfinite(lo).any() and np.isfinite(hi).any()):
        return None
    return dict(type="data", symmetric=False, array=np.nan_to_num(hi - v), arrayminus=np.nan_to_num(v - lo),
                thickness=1.2, width=4)


def style(fig: Any, title: str, height: int) -> Any:
    """Common look: white template, system fonts (no web fonts), title and height."""
    fig.update_layout(template="plotly_white", font=FONT, title=dict(text=title, x=0.01, xanchor="left"),
                      height=height, margin=dict(l=70, r=30, t=70, b=50), hoverlabel=dict(align="left"))
    return fig


def figure_html(fig: Any, div_id: str) -> str:
    """One figure as a div and its script; plotly.js is inlined once in the page head, MathJax never."""
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, config=PLOT_CONFIG,
                       div_id=div_id)


def table_html(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    """A small escaped HTML table (numbers formatted, NaN shown as an en dash)."""
    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "&ndash;" if not np.isfinite(v) else floatfmt.format(v)
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
