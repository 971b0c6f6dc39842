"""Shared pieces of the study's HTML report: the head grid, hover texts (1-based layer labels) and method
colours; the page itself (figures, tables, styles) is :mod:`headspex.reporting.page`'s."""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import pandas as pd

from headspex.reporting.labels import head_label, relabel
from headspex.selection.methods import method_info, report_order

POSITIVE, NEGATIVE = "#b2182b", "#2166ac"  # the ends of the Shapley colour scale (RdBu reversed)
SHAPLEY_SCALE = "RdBu_r"
_LABEL = re.compile(r"L(\d+)H(\d+)")


def ordered_methods(methods: Sequence[str]) -> list[str]:
    """The registry's order (retired methods in their old place), unknown methods last in order of appearance."""
    seen, order = list(dict.fromkeys(methods)), report_order()
    return [m for m in order if m in seen] + [m for m in seen if m not in order]


def colour(method: str) -> str:
    """The method's registered colour (an unknown one: brown)."""
    return method_info(method).colour


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
    """``"L3H7"`` -> (3, 7) (the code's labels, 0-based layers)."""
    m = _LABEL.fullmatch(label.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def partners(top: pd.DataFrame | None, label: str, n: int = 4) -> list[str]:
    """The head's strongest interactions among the stored top ones (``label``: the code's 0-based label), as
    users read them: "with L1H2 (+0.031)"."""
    if top is None or top.empty:
        return []
    rows = [(r.value, [m for m in str(r.members).split() if m != label]) for r in top.itertuples()
            if label in str(r.members).split()]
    rows.sort(key=lambda t: -abs(t[0]))
    return [f"with {relabel(' '.join(others))} ({value:+.3g})" for value, others in rows[:n]]


def head_hover(heads: pd.DataFrame, top: pd.DataFrame | None) -> list[str]:
    """Hover text per player (player order): label, layer, head, Shapley, Banzhaf, strongest partners."""
    out = []
    for r in heads.sort_values("player").itertuples():
        lines = [f"<b>{head_label(r.layer, r.head)}</b> (layer {int(r.layer) + 1}, head {int(r.head)})",
                 f"Shapley {r.shapley:+.4g}", f"Banzhaf {r.banzhaf:+.4g}"]
        if "interaction_involvement" in heads.columns:
            lines.append(f"interaction involvement {r.interaction_involvement:.3g}")
        found = partners(top, f"L{int(r.layer)}H{int(r.head)}")
        lines += ["strongest partners:", *found] if found else ["no interaction among the top ones"]
        out.append("<br>".join(lines))
    return out
