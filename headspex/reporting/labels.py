"""One convention for layers in everything a user reads: 1-based, as ``--layers`` is (``L1H0`` is head 0 of
the model's first layer). Code keeps 0-based layer indices (players ``(layer, head)``); these helpers convert
at the edge, for labels, CSVs written for users and figures.
"""

from __future__ import annotations

import re

import pandas as pd

from headspex.players import USER_CONVENTION, head_label

_LABEL = re.compile(r"L(\d+)H(\d+)")
CONVENTION = USER_CONVENTION


def relabel(members: str) -> str:
    """Labels written with 0-based layers (code's ``L0H6 L3H1``) as users read them (``L1H6 L4H1``)."""
    return _LABEL.sub(lambda m: f"L{int(m.group(1)) + 1}H{m.group(2)}", str(members))


def heads_for_users(heads: pd.DataFrame) -> pd.DataFrame:
    """The per-head table as written to ``heads_layers-*.csv``: ``label`` with 1-based layers, ``layer_1based``
    instead of the code's 0-based ``layer`` (``player`` stays the player's index in the range)."""
    out = heads.copy()
    if "layer" in out.columns:
        out["label"] = [head_label(layer, head) for layer, head in zip(out["layer"], out["head"])]
        position = list(out.columns).index("layer")
        out.insert(position, "layer_1based", out.pop("layer").astype(int) + 1)
    return out


def interactions_for_users(top: pd.DataFrame) -> pd.DataFrame:
    """The top interactions as written to ``interactions_layers-*.csv`` and shown in reports: ``members`` with
    1-based layers, then ``order``, ``value``, ``sign`` (+1 / -1) and ``kind`` (within-layer / across-layer)."""
    out = top.copy()
    out["members"] = [relabel(m) for m in out["members"]]
    out["sign"] = [1 if v > 0 else -1 if v < 0 else 0 for v in out["value"]]
    if "within_layer" in out.columns:
        out["kind"] = ["within-layer" if w else "across-layer" for w in out["within_layer"]]
    return out


def method_label(method: str, rule: str | None = None) -> str:
    """How tables and figures name a method: ``proxyspex (robust)`` for the method that runs a rule (never a bare
    ``proxyspex``), any other method as it is."""
    return f"{method} ({rule})" if method == "proxyspex" and rule else method


def label_methods(table: pd.DataFrame, rule: str | None, column: str = "method") -> pd.DataFrame:
    """A table as reports show it: ``proxyspex`` in its ``column`` of method names (``method``; ``baseline`` in
    count tables), or as a column name in pivots, named with the rule it ran, ``proxyspex (robust)``; the stored
    CSVs keep the bare key."""
    out = table.rename(columns={"proxyspex": method_label("proxyspex", rule)})
    if column in out.columns:
        out[column] = [method_label(m, rule) for m in out[column]]
    return out
