"""The head-roles part of a study's reports, read from the run's ``roles.csv`` (``python -m headspex.prune --roles``).

Each head gets its top attention-pattern score as its role when that score reaches :data:`THRESHOLD`, else
``"none"`` (:func:`headspex.roles.enrichment.role_pairs`). Per range, the heads with a role are listed (label
L{layer}H{head} with 1-based layers, role, score) in ``report.md`` ("## Head roles") and ``report.html``; the HTML
interaction network colours its nodes by role (:data:`ROLE_COLOURS`). Without ``roles.csv`` nothing is added.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from headspex.errors import HeadspexError, StoredDataError
from headspex.players import format_layer_range, head_label
from headspex.roles.enrichment import NONE, role_pairs
from headspex.roles.protocol import SCORES

__all__ = ["ROLES_FILE", "ROLE_COLOURS", "THRESHOLD", "range_roles", "read_roles", "roles_html", "roles_markdown"]

ROLES_FILE = "roles.csv"
THRESHOLD = 0.3  # a head's top score must reach it for a role (role_pairs' default)
# one fixed colour per role (none of them the edges' red or blue); heads without a role are grey
ROLE_COLOURS = {"previous_token": "#1b9e77", "induction": "#d95f02", "duplicate_token": "#7570b3",
                "ioi_io": "#e6ab02", "ioi_subject": "#a6761d", NONE: "#bdbdbd"}
INTRO = (f"Each head's role is its largest attention-pattern score in `{ROLES_FILE}` (`python -m headspex.prune "
         f"--roles`; scores defined in docs/roles.md) when that score is at least {THRESHOLD}; the other heads have "
         "none. Layers are 1-based.")


def read_roles(directory: str | Path) -> pd.DataFrame | None:
    """``directory/roles.csv`` (the users' table: label, layer_1based, head, scores), or None when there is none.

    Raises StoredDataError when the file cannot be read as such a table."""
    path = Path(directory) / ROLES_FILE
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise StoredDataError(f"{path} is not a readable roles table ({err}); move it away (headspex "
                              "never overwrites it) and rerun with --roles") from None
    scores = [c for c in SCORES if c in frame]
    if not {"layer_1based", "head"} <= set(frame.columns) or not scores or frame.empty:
        raise StoredDataError(f"{path} lacks the columns of a roles table (layer_1based, head and the scores "
                              f"{', '.join(SCORES)}); move it away (headspex never overwrites it) and "
                              "rerun with --roles")
    return frame


def range_roles(roles: pd.DataFrame, players: Sequence[tuple[int, int]]) -> pd.DataFrame:
    """One row per player (player order): ``player, label`` (1-based layer), ``role`` and ``score`` (the role's
    score; a head without a role: its largest score, NaN when it has none)."""
    try:
        labels = role_pairs(roles, players, threshold=THRESHOLD)
    except HeadspexError as err:
        raise StoredDataError(f"{ROLES_FILE} does not describe this run's heads: {err}") from None
    scores = [c for c in SCORES if c in roles]
    table = roles.set_index([roles["layer_1based"].astype(int) - 1, roles["head"].astype(int)])[scores]
    rows = []
    for i, (layer, head) in enumerate(players):
        values = table.loc[(int(layer), int(head))].to_numpy(np.float64)
        role = labels[i]
        score = values[scores.index(role)] if role != NONE else (np.nanmax(values) if np.isfinite(values).any()
                                                                 else np.nan)
        rows.append(dict(player=i, label=head_label(layer, head), role=role, score=float(score)))
    return pd.DataFrame(rows, columns=["player", "label", "role", "score"])


def _with_role(frame: pd.DataFrame) -> pd.DataFrame:
    """The heads that have a role, highest score first: label, role, score."""
    kept = frame[frame["role"] != NONE].sort_values("score", ascending=False, kind="stable")
    return kept[["label", "role", "score"]].reset_index(drop=True)


def _counts(frame: pd.DataFrame) -> str:
    """"induction 2, previous_token 1, none 13": heads per role, in the order of the scores."""
    order = [*SCORES, NONE]
    counts = frame["role"].value_counts()
    return ", ".join(f"{role} {int(counts[role])}" for role in order if role in counts)


def roles_markdown(ranges: Sequence[Any], roles: pd.DataFrame | None) -> list[str]:
    """The "## Head roles" section of report.md (one table per range), or no lines without ``roles``."""
    if roles is None:
        return []
    lines = ["## Head roles", "", INTRO, ""]
    for run in ranges:
        frame = range_roles(roles, run.players)
        shown = _with_role(frame)
        lines += [f"### Layers {format_layer_range(run.layers)}", "", f"Heads per role: {_counts(frame)}.", "",
                  shown.to_markdown(index=False, floatfmt=".3f") if len(shown) else "(no head of this range has a "
                  "role)", ""]
    return lines


def roles_html(ranges: Sequence[Any], roles: pd.DataFrame | None) -> str:
    """The "Head roles" section of report.html (a table per range, rows tinted by role), or "" without ``roles``."""
    from headspex.reporting.page import table_html

    if roles is None:
        return ""
    parts = ['<section id="roles"><h2>Head roles</h2>', f'<p class="note">{html.escape(INTRO.replace("`", ""))} '
             "The interaction networks colour each head by its role.</p>", legend_html()]
    for run in ranges:
        label = format_layer_range(run.layers)
        frame = range_roles(roles, run.players)
        shown = _with_role(frame)
        parts.append(f'<h3 id="roles-{label}">Layers {label}</h3><p class="note">Heads per role: '
                     f"{html.escape(_counts(frame))}.</p>")
        parts.append(table_html(shown, table_id=f"roles-table-{label}", sortable=True) if len(shown) else
                     '<p class="note">(no head of this range has a role)</p>')
    return "".join(parts) + "</section>"


def legend_html() -> str:
    """The role colours as a one-line legend."""
    items = "".join(f'<span style="margin-right:12px"><span style="display:inline-block;width:11px;height:11px;'
                    f'border-radius:50%;background:{colour};margin-right:4px;vertical-align:middle"></span>'
                    f"{html.escape(role)}</span>" for role, colour in ROLE_COLOURS.items())
    return f'<p class="note role-legend">Role colours: {items}</p>'
