"""The network of a range's top pairwise interactions, with its controls and the sortable table beside it.

Heads sit at (head, layer) with 1-based layer labels; each pair is one edge (colour by the sign of its
Moebius coefficient a(S), width by |a(S)|), edges in order of |a(S)|. The top :data:`DEFAULT_SHOWN` are drawn
at first; a slider shows more and a menu keeps within- or across-layer pairs only (plain JavaScript,
:data:`NETWORK_JS`). Beside it, every stored top interaction (pairs and higher orders) in a sortable table.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from headspex.reporting.html.common import NEGATIVE, POSITIVE, SHAPLEY_SCALE, HeadGrid, head_hover, parse_label
from headspex.reporting.labels import interactions_for_users, relabel
from headspex.reporting.page import Page, figure_html, style, table_html
from headspex.reporting.roles import ROLE_COLOURS

DEFAULT_SHOWN = 15
NETWORK_JS = """
function hsNetwork(id){const box=document.querySelector('.controls[data-fig="'+id+'"]'),gd=document.getElementById(id);
const n=+box.querySelector('input').value,kind=box.querySelector('select').value;let shown=0;
const vis=gd.data.map(t=>{const m=t.meta;if(!m||m.rank===undefined)return t.visible===undefined?true:t.visible;
const ok=(kind==='all'||(kind==='within')===m.within)&&shown<n;if(ok)shown++;return ok;});
box.querySelector('output').textContent=shown;Plotly.restyle(gd,{visible:vis});}
"""


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


def pairs(top: pd.DataFrame | None) -> list[tuple[tuple, tuple, float, bool, str]]:
    """Pairwise rows of the top interactions, largest |a(S)| first: (player a, player b, value, within layer,
    members as users read them)."""
    if top is None or top.empty:
        return []
    out = []
    for r in top[top["order"] == 2].itertuples():
        ends = [parse_label(m) for m in str(r.members).split()]
        if len(ends) == 2 and None not in ends:
            out.append((ends[0], ends[1], float(r.value), bool(r.within_layer), relabel(str(r.members))))
    return sorted(out, key=lambda p: -abs(p[2]))


def _edges(found: list, shown: int) -> list:
    """One line trace per edge, in rank order, with its rank and kind in ``meta`` for the controls."""
    vmax = max(abs(p[2]) for p in found) or 1.0
    traces = []
    for rank, (a, b, value, within, members) in enumerate(found):
        x, y = _curve((a[1], a[0] + 1), (b[1], b[0] + 1))
        text = (f"#{rank + 1}: {members}<br>a(S) = {value:+.4g}<br>"
                + ("within one layer" if within else "across layers"))
        traces.append(go.Scatter(x=x, y=y, mode="lines", showlegend=False, visible=rank < shown,
                                 meta={"rank": rank, "within": within}, text=[text] * len(x),
                                 hovertemplate="%{text}<extra></extra>",
                                 line=dict(color=POSITIVE if value > 0 else NEGATIVE, width=1 + 7 * abs(value) / vmax)))
    return traces


def network(run: Any, label: str, shown: int = DEFAULT_SHOWN, roles: pd.DataFrame | None = None) -> go.Figure | None:
    """Heads at (head, layer), the top ``shown`` pairwise interactions as edges (the rest hidden, for the slider).

    Nodes are coloured by Shapley value, or, with ``roles`` (:func:`headspex.reporting.roles.range_roles` of the
    range: one row per player), by each head's role, with a legend entry per role present."""
    found = pairs(run.top_interactions)
    if not found:
        return None
    grid, heads = HeadGrid(run.players), run.heads.sort_values("player")
    fig = go.Figure(_edges(found, shown))
    hover = head_hover(run.heads, run.top_interactions)
    if roles is None:
        lim = float(np.nanmax(np.abs(heads["shapley"]))) or 1.0
        marker = dict(size=11, color=heads["shapley"], colorscale=SHAPLEY_SCALE, cmin=-lim, cmax=lim,
                      line=dict(width=0.6, color="#333"), colorbar=dict(title=dict(text="Shapley"), thickness=12))
    else:
        marker, hover = _role_marker(fig, heads, roles, hover)
    fig.add_trace(go.Scatter(x=heads["head"], y=heads["layer"] + 1, mode="markers", showlegend=False,
                             text=hover, hovertemplate="%{text}<extra></extra>", marker=marker))
    for name, col in (("positive a(S)", POSITIVE), ("negative a(S)", NEGATIVE)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=col, width=4), name=name))
    fig.update_xaxes(title_text="head", dtick=1 if len(grid.heads) <= 40 else 4, zeroline=False,
                     range=[min(grid.heads) - 0.7, max(grid.heads) + 0.7])
    fig.update_yaxes(title_text="layer (1-based)", dtick=1, zeroline=False,
                     range=[min(grid.layers) + 1 - 0.7, max(grid.layers) + 1 + 0.7])
    style(fig, f"Top pairwise interactions, layers {label} (largest |a(S)| first; width = |a(S)|)",
          grid.height(per_row=max(28, min(60, 900 // len(grid.layers))), extra=230))
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.12, yanchor="top"))
    return fig


def _role_marker(fig: go.Figure, heads: pd.DataFrame, roles: pd.DataFrame, hover: list[str]) -> tuple[dict, list]:
    """(node marker coloured by role, hover texts with the role) for ``heads`` in player order; adds one legend
    entry per role present to ``fig``."""
    by_player = roles.set_index("player")
    role = [str(by_player.at[int(p), "role"]) for p in heads["player"]]
    score = [float(by_player.at[int(p), "score"]) for p in heads["player"]]
    hover = [f"{text}<br>role: {r}" + (f" ({s:.2f})" if np.isfinite(s) else "")
             for text, r, s in zip(hover, role, score)]
    for name, col in ROLE_COLOURS.items():
        if name in role:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"role: {name}",
                                     marker=dict(size=11, color=col, line=dict(width=0.6, color="#333"))))
    return dict(size=11, color=[ROLE_COLOURS.get(r, ROLE_COLOURS["none"]) for r in role],
                line=dict(width=0.6, color="#333")), hover


def controls(div_id: str, n_pairs: int, shown: int = DEFAULT_SHOWN) -> str:
    """The slider (pairs shown) and the kind menu of the network ``div_id``."""
    start = min(shown, n_pairs)
    return (f'<div class="controls" data-fig="{div_id}">pairs shown: <input type="range" min="1" max="{n_pairs}" '
            f'value="{start}" step="1" oninput="hsNetwork(\'{div_id}\')" aria-label="pairs shown"> '
            f"<output>{start}</output> of {n_pairs} (largest |a(S)| first); kind "
            f'<select onchange="hsNetwork(\'{div_id}\')" aria-label="kind of pair"><option value="all">all pairs'
            '</option><option value="within">within-layer</option><option value="across">across-layer</option>'
            "</select></div>")


def interactions_table(run: Any, label: str) -> str:
    """Every stored top interaction (pairs and higher orders), sortable: rank, members, order, value, sign, kind."""
    top = run.top_interactions
    if top is None or top.empty:
        return '<p class="note">(no interactions stored)</p>'
    users = interactions_for_users(top).assign(size=lambda d: d["value"].abs())
    users = users.sort_values("size", ascending=False).reset_index(drop=True)
    shown = pd.DataFrame({"rank": np.arange(1, len(users) + 1), "members": users["members"], "order": users["order"],
                          "value": users["value"], "sign": np.where(users["value"] > 0, "+", "-"),
                          "kind": users.get("kind", pd.Series([""] * len(users)))})
    return (f'<p class="note">Top {len(users)} Moebius interactions a(S) of order >= 2, layers {html.escape(label)} '
            "(click a header to sort; value sorts by its signed number, rank by |a(S)|).</p>"
            + table_html(shown, "{:+.4f}", table_id=f"interactions-table-{label}", sortable=True))


def network_block(page: Page, run: Any, label: str, seed: int | None = None,
                  roles: pd.DataFrame | None = None) -> None:
    """The network with its controls, and the interactions table beside it; ``roles``: see :func:`network`."""
    fig = network(run, label, roles=roles)
    which = "" if seed is None else f' <span class="note">(seed {seed})</span>'
    if fig is None:
        page.add(f'<p class="note">No pairwise interaction among the stored top interactions.{which}</p>'
                 + interactions_table(run, label))
        return
    page.n_figures += 1
    div_id = f"fig-{page.n_figures}"
    page.add(f'<div class="beside"><div class="fig">{controls(div_id, len(pairs(run.top_interactions)))}'
             f'{figure_html(fig, div_id)}</div><div class="side">{interactions_table(run, label)}{which}</div></div>')
