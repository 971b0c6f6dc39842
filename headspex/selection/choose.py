"""``select_heads(game, k)``: the heads to keep by a ProxySPEX rule, the CLI's default rule unless told otherwise.

The default rule (``robust``) checks its candidates on true values, so it needs the game itself, not only a
spectrum; the proxy's optimum (``rule="milp"``, the paper's rule) also runs on a spectrum or a fitted proxy alone.
"""

from __future__ import annotations

from typing import Any

from headspex.errors import InputError
from headspex.selection.context import DEFAULT_RULE, SelectionContext
from headspex.selection.methods import METHODS, check_rule
from headspex.selection.select import Selection, proxy_optimum


def select_heads(source: Any, k: int, *, rule: str = DEFAULT_RULE, budget: int = 120, seed: int = 0,
                 **context: Any) -> Selection:
    """Keep ``k`` players by the ProxySPEX ``rule`` (default: the CLI's default, ``robust``).

    source: a game (a :class:`~headspex.engine.game.MaskGame` or any callable ``masks [n, n_players] -> [n]`` with
    ``n_players``), on which the rule samples ``budget`` training masks at keep fraction ``k / n_players``, fits the
    proxy and checks its candidates; or a ready :class:`~headspex.selection.context.SelectionContext`; or, for
    ``rule="milp"`` only, a spectrum or fitted proxy (its optimum: no model evaluation). ``context``: more
    :class:`SelectionContext` fields (``sampling``, ``refine``, ``max_terms``, ...). Returns the
    :class:`Selection` (mask ``[n_players]``, 1 = keep).
    """
    check_rule(rule)
    if isinstance(source, SelectionContext):
        ctx = source
    elif callable(source) and hasattr(source, "n_players"):
        n = int(source.n_players)
        if not 1 <= int(k) < n:
            raise InputError(f"k must lie in 1..{n - 1} for a game of {n} players; got {k}")
        ctx = SelectionContext(source, (int(k) / n,), budget, seed=seed, proxyspex_rule=rule, **context)
    elif rule == "milp":
        return proxy_optimum(source, k, time_limit=context.get("milp_time_limit"),
                             **({"max_terms": context["max_terms"]} if "max_terms" in context else {}))
    else:
        raise InputError(f"the {rule} rule checks its candidates on true values, so it needs the game (a MaskGame, "
                         f"or a SelectionContext), not a {type(source).__name__}; pass rule='milp' for the "
                         "proxy's optimum on a spectrum")
    return METHODS[f"proxyspex-{rule}"](ctx, [int(k)]).selections[int(k)]
