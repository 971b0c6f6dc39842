"""Selection: which heads to keep at each level, by any registered method, in a layer range or the whole model.

- :mod:`.select`: the optimisers (exact MILP on a Moebius spectrum, greedy + swap, trust regions, top-k,
  Best-of-N) and :class:`Selection`, one chosen head set.
- :mod:`.context`: :class:`SelectionContext`, what the methods of one experiment share (the training game,
  the proxy fitted once, LASSO weights, leave-one-out drops, gradients).
- :mod:`.registry` and :mod:`.methods`: ``METHODS[name](context, ks) -> MethodRun``; add your own with
  ``@register("name", title=..., colour=...)``: the registration is the one list the CLI, reports and verdict read.
- The ProxySPEX rules beside the proxy's optimum: :mod:`.verify` (check the proxy's best candidates),
  :mod:`.robust` (an uncertainty-aware objective from bootstrap refits), :mod:`.controls` (the robust rule without
  the trees' interactions), and :mod:`.iterative` (elimination by removal, the iterative gradient).
- :func:`select_heads` (:mod:`.choose`): one k by a rule, the CLI's default unless told otherwise.
"""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "select_heads": "headspex.selection.choose",
    **dict.fromkeys(["Selection", "proxy_optimum", "select_top_k", "select_best_of_n", "select_random"],
                    "headspex.selection.select"),
    **dict.fromkeys(["SelectionContext", "training_masks", "SAMPLINGS"], "headspex.selection.context"),
    **dict.fromkeys(["MethodRun", "Method", "register"], "headspex.selection.registry"),
    **dict.fromkeys(["METHODS", "method_names", "check_methods", "method_info", "proxyspex_rules"],
                    "headspex.selection.methods"),
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
