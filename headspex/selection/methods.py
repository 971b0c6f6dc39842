"""The built-in selection methods, registered by name; each works on a layer range and on the whole model.

Costs are model passes per question: a mask evaluated on the training split is one forward pass per
training question, a gradient one forward and one backward pass.

- ``proxyspex``: the context's ``proxyspex_rule`` (default "robust"), i.e. one of the rules below.
- ``proxyspex-milp``: the proxy's optimum at each k (exact MILP on the Moebius spectrum up to ``max_terms``
  terms, greedy forward/backward + 1-swap beyond; ``Selection.method`` says which).
- ``proxyspex-verify``: the proxy fitted on 80% of the budget; the rest checks its best distinct candidates
  (local optima from LASSO's top k, the best observed mask, the global optimum) on the true value
  (:mod:`.verify`).
- ``proxyspex-robust``: verify's budget split and check, on local optima of an uncertainty-aware objective: the
  mean of bootstrap-refitted proxies clipped to the best observed value, minus their spread (:mod:`.robust`).
- ``proxyspex-additive`` and ``lasso-verify``: controls (:mod:`.controls`): the robust rule with depth-1 trees
  (no interactions), and the robust rule's checking of candidates with LASSO's candidates instead of the trees'.
- ``proxyspex-trust``: the proxy's optimum within trust regions (2%, 5%, 10% of the heads) around the best
  training mask of about k heads; the candidate with the best true training value is kept.
- ``lasso``: top k by linear coefficient on the proxy's masks. ``best-of-n``: the best of N random k-head
  masks on the true value (N = the budget split over the levels: a matched budget).
- ``single-head``: leave-one-out. ``gradient`` / ``attribution-patching``: one forward and backward pass
  (:mod:`headspex.engine.first_order`). ``iterative-gradient``: Michel et al.'s loop, removing the lowest
  ``iterative_fraction`` of the kept heads and re-estimating.
- ``random``: one seeded random k-head mask per level (experiments report the mean of many instead).

Each registration carries what reports and the CLI show of the method (title, colour, its rule and that rule's
help): the registry is the one list, so a new rule is added here and nowhere else. Retired methods
(``retire(...)``: margin, sequential, anchored, iterative ProxySPEX) no longer run; stored results that name
them still rebuild, in their old place and colour.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from headspex.engine.sampling import sample_k_masks
from headspex.errors import InputError
from headspex.selection import controls, robust, verify
from headspex.selection.context import SelectionContext
from headspex.selection.iterative import eliminate
from headspex.selection.registry import BASELINE, INFO, METHODS, SEEDLESS, MethodInfo, MethodRun, register, retire
from headspex.selection.select import (proxy_optimum, select_best_of_n, select_heads_milp, select_random,
                                       select_top_k)

TRUST_RADII = (0.02, 0.05, 0.1)  # proxyspex-trust: trust-region radii as fractions of the players
__all__ = ["METHODS", "BASELINE", "SEEDLESS", "MethodRun", "register", "method_names", "check_methods", "check_rule",
           "method_info", "report_order", "proxy_methods", "proxyspex_rules"]


def _training_passes(ctx: SelectionContext) -> int:
    return len(ctx.training_set()[0]) * ctx.n_questions


def _ran(selections: dict) -> str:
    return ", ".join(sorted({s.method for s in selections.values()}))


@register("proxyspex", title="ProxySPEX", colour="#1b9e77", proxy=True)
def _proxyspex(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    run = METHODS[f"proxyspex-{check_rule(ctx.proxyspex_rule)}"](ctx, ks)
    return replace(run, notes=f"rule {ctx.proxyspex_rule}: {run.notes}")


@register("proxyspex-milp", title="ProxySPEX's proxy optimum", colour="#8dd3c7", proxy=True, rule="milp",
          help="the proxy's optimum at each k (exact MILP on the Moebius spectrum; greedy past max_terms)")
def _proxyspex_milp(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    masks, values = ctx.training_set()
    moebius = ctx.moebius()
    sel = {k: proxy_optimum(moebius, k, time_limit=ctx.milp_time_limit, max_terms=ctx.max_terms) for k in ks}
    return MethodRun(sel, forward=_training_passes(ctx),
                     notes=f"CV R2 {ctx.proxy().cv_r2_:.3f}; best training value {values.max():.3f}; {len(moebius)} "
                           f"Moebius terms; selection by {_ran(sel)}")


def _checked_candidates(ctx: SelectionContext, ks: list[int]) -> tuple[dict, int, int]:
    """Per k, the verify rule's checked candidates and LASSO's top k; the proxy's masks; checks per level.
    Computed once per context."""
    return ctx.cached(f"verify-candidates-{tuple(ks)}", lambda: _find_candidates(ctx, ks))


def _find_candidates(ctx: SelectionContext, ks: list[int]) -> tuple[dict, int, int]:
    n_train, per_level = verify.verify_budget(ctx.budget, len(ks))
    masks, values = ctx.training_set(n_train)
    spectrum, moebius, weights = ctx.spectrum(n_train), ctx.moebius(n_train), ctx.lasso_weights(n_train)
    checks = {}
    for k in ks:
        lasso_mask = select_top_k(weights, k, label="lasso").mask
        found = verify.candidates(spectrum, moebius, k, weights, masks, values, seed=ctx.seed,
                                  time_limit=ctx.milp_time_limit, max_terms=ctx.max_terms)
        checks[k] = (verify.checked(found, per_level, lasso_mask), lasso_mask)
    return checks, n_train, per_level


def _verify_run(ctx: SelectionContext, ks: list[int], sel: dict, n_train: int, per_level: int, how: str,
                proxy: object = None) -> MethodRun:
    picked_lasso = sum(s.details["is_lasso"] for s in sel.values())
    proxy = ctx.proxy(n_train) if proxy is None else proxy
    return MethodRun(sel, forward=(n_train + per_level * len(ks)) * ctx.n_questions,
                     notes=f"proxy on {n_train} masks (CV R2 {proxy.cv_r2_:.3f}; best training value "
                           f"{ctx.training_set(n_train)[1].max():.3f}), {per_level} candidates checked per level "
                           f"{how}; LASSO's top k won {picked_lasso} of {len(ks)} levels")


@register("proxyspex-verify", title="verified ProxySPEX", colour="#006d2c", proxy=True, rule="verify",
          help="the proxy on 80% of the budget; the rest checks its best candidates on true values, the best kept")
def _proxyspex_verify(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    checks, n_train, per_level = _checked_candidates(ctx, ks)
    sel = {k: verify.choose(check, np.asarray(ctx.game(np.stack([c.mask for c in check]))), lasso_mask)
           for k, (check, lasso_mask) in checks.items()}
    return _verify_run(ctx, ks, sel, n_train, per_level, "(best true value kept)")


retire("proxyspex-margin", title="ProxySPEX with a noise margin", colour="#00441b", proxy=True,
       why="lost the validation choice of rule to robust (results/sweep)")

@register("proxyspex-robust", title="ProxySPEX on a robust objective", colour="#41ae76", proxy=True, rule="robust",
          help="verify's split and check, on local optima of the bootstrap proxies' clipped mean minus their spread")
def _proxyspex_robust(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    return _robust(ctx, ks, additive=False)


@register("proxyspex-additive", title="robust ProxySPEX with an additive proxy (control)", colour="#99d8c9", proxy=True)
def _proxyspex_additive(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    return _robust(ctx, ks, additive=True)


def _robust(ctx: SelectionContext, ks: list[int], *, additive: bool) -> MethodRun:
    """The robust rule on the context's proxy, or (``additive``) on its depth-1 twin: :mod:`.controls`."""
    n_train, per_level = verify.verify_budget(ctx.budget, len(ks))
    masks, values = ctx.training_set(n_train)
    weights = ctx.lasso_weights(n_train)
    proxy = ctx.additive_proxy(n_train) if additive else ctx.proxy(n_train)
    objective = robust.bootstrap_objective(proxy, masks, values, seed=ctx.seed)
    label = "additive" if additive else "robust"
    sel = {}
    for k in ks:
        lasso_mask = select_top_k(weights, k, label="lasso").mask
        found = robust.robust_candidates(objective, k, weights, masks, values, seed=ctx.seed)
        check = verify.checked(found, per_level, lasso_mask)
        sel[k] = verify.choose(check, np.asarray(ctx.game(np.stack([c.mask for c in check]))), lasso_mask,
                               label=label)
    trees = "depth-1 (additive) " if additive else ""
    return _verify_run(ctx, ks, sel, n_train, per_level,
                       f"on the robust objective ({robust.N_BOOT} bootstrap {trees}refits, clipped mean - "
                       f"{robust.LAMBDA:g} sd; best true value kept)", proxy=proxy)


@register("lasso-verify", title="LASSO's candidates checked on true values (control)", colour="#fdae6b")
def _lasso_verify(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    n_train, per_level = verify.verify_budget(ctx.budget, len(ks))
    masks, values = ctx.training_set(n_train)
    weights = ctx.lasso_weights(n_train)
    sel = {}
    for k in ks:
        lasso_mask = select_top_k(weights, k, label="lasso").mask
        found = controls.linear_candidates(weights, k, masks, values, seed=ctx.seed)
        check = verify.checked(found, per_level, lasso_mask)
        sel[k] = verify.choose(check, np.asarray(ctx.game(np.stack([c.mask for c in check]))), lasso_mask,
                               label="lasso-verify")
    picked_lasso = sum(s.details["is_lasso"] for s in sel.values())
    return MethodRun(sel, forward=(n_train + per_level * len(ks)) * ctx.n_questions,
                     notes=f"LASSO on {n_train} masks; {per_level} of its candidates (top k, {controls.N_BOOT} "
                           f"bootstrap refits' top k, single swaps by linear score) checked per level, best true "
                           f"value kept; LASSO's top k won {picked_lasso} of {len(ks)} levels")


retire("proxyspex-sequential", title="sequential ProxySPEX", colour="#b3de69", proxy=False,
       why="recommended nowhere: never the best rule on validation (results/sweep)")

retire("proxyspex-anchored", title="anchored sequential ProxySPEX", colour="#ccebc5", proxy=False,
       why="worse than LASSO in 10 cells of the range sweeps (results/sweep)")

@register("proxyspex-trust", title="ProxySPEX with a trust region", colour="#66a61e", proxy=True, rule="trust",
          help="the proxy's optimum within trust regions around the best training mask, the best true one kept")
def _proxyspex_trust(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    masks, values = ctx.training_set()
    moebius, sizes, n = ctx.moebius(), masks.sum(axis=1), ctx.n_players
    radii = sorted({max(2, math.ceil(f * n)) for f in TRUST_RADII})
    sel, checked = {}, 0
    for k in ks:
        near = np.flatnonzero(np.abs(sizes - k) <= radii[0] // 2)
        if near.size == 0:
            raise InputError(f"no training mask keeps about {k} heads: sample masks at that keep level")
        anchor = masks[near[np.argmax(values[near])]]
        candidates = [select_heads_milp(moebius, k, time_limit=ctx.milp_time_limit, max_terms=ctx.max_terms,
                                        trust=(anchor, r)) for r in radii]
        true = ctx.game(np.stack([c.mask for c in candidates]))
        checked += len(candidates)
        best = int(np.argmax(true))
        sel[k] = replace(candidates[best], details=dict(candidates[best].details, radius=radii[best],
                                                        true_train_value=float(true[best])))
    return MethodRun(sel, forward=(len(masks) + checked) * ctx.n_questions,
                     notes=f"radii {radii} around the best training mask, {checked} candidates checked on the true "
                           f"value; selection by {_ran(sel)}")


retire("iterative-proxyspex", title="iterative ProxySPEX", colour="#a6d854", proxy=False,
       why="below proxyspex on the whole-model curves (results/curves)")

@register("lasso", title="LASSO", colour="#d95f02")
def _lasso(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    weights = ctx.lasso_weights()
    return MethodRun({k: select_top_k(weights, k, label="lasso") for k in ks}, forward=_training_passes(ctx),
                     notes="the proxy's training masks")


@register("best-of-n", title="Best-of-N", colour="#7570b3")
def _best_of_n(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    per_level = ctx.best_of_n_per_level(len(ks))
    out = {}
    for k in ks:
        candidates = sample_k_masks(per_level, ctx.n_players, k, seed=ctx.seed + 1)
        out[k] = select_best_of_n(candidates, ctx.game(candidates))
    return MethodRun(out, forward=per_level * len(ks) * ctx.n_questions, notes=f"{per_level} candidates per level")


@register("single-head", title="single-head ablation", colour="#e7298a", seedless=True)
def _single_head(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    drops = ctx.single_head_drops()
    return MethodRun({k: select_top_k(drops, k, label="single-head") for k in ks},
                     forward=ctx.n_players * ctx.n_questions)


@register("gradient", title="gradient", colour="#e6ab02", seedless=True)
def _gradient(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    importance = ctx.gradient_importance()
    return MethodRun({k: select_top_k(importance, k, label="gradient") for k in ks},
                     forward=ctx.n_questions, backward=ctx.n_questions)


@register("iterative-gradient", title="iterative gradient", colour="#a6761d", seedless=True)
def _iterative_gradient(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    rounds = []

    def lowest(current: np.ndarray, n_remove: int) -> np.ndarray:
        rounds.append(1)
        importance = ctx.first_order(keep=current).michel_importance()
        kept = np.flatnonzero(current)
        return kept[np.argsort(importance[kept], kind="stable")[:n_remove]]

    sel = eliminate(ctx.n_players, ks, lowest, fraction=ctx.iterative_fraction, label="iterative-gradient")
    passes = len(rounds) * ctx.n_questions
    return MethodRun(sel, forward=passes, backward=passes, notes=f"{len(rounds)} rounds")


@register("attribution-patching", title="attribution patching", colour="#1f78b4", seedless=True)
def _attribution_patching(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    drop = -ctx.first_order().attribution_patching()  # predicted loss of log-prob when the head is removed
    return MethodRun({k: select_top_k(drop, k, label="attribution-patching") for k in ks},
                     forward=ctx.n_questions, backward=ctx.n_questions)


@register(BASELINE, title="random masks", colour="#666666")
def _random(ctx: SelectionContext, ks: list[int]) -> MethodRun:
    return MethodRun({k: select_random(ctx.n_players, k, seed=ctx.seed) for k in ks}, forward=0,
                     notes="one random mask per level")


def method_info(name: str) -> MethodInfo:
    """The registered :class:`MethodInfo` of ``name`` (a method stored by an unknown headspex: its name, grey)."""
    return INFO.get(name) or MethodInfo(name, name)


def report_order() -> tuple[str, ...]:
    """Every known method, retired ones included, in the order reports list them."""
    return tuple(INFO)


def proxy_methods() -> tuple[str, ...]:
    """The methods that pick on the proxy's prediction, in report order."""
    return tuple(m for m in report_order() if INFO[m].proxy)


def proxyspex_rules() -> dict[str, str]:
    """``{rule: help}`` of every ProxySPEX rule that runs (the ``--proxyspex-rule`` choices), in report order."""
    return {info.rule: info.help for info in INFO.values() if info.rule and not info.retired}


def check_rule(rule: object) -> str:
    """``rule`` if a registered method is that ProxySPEX rule, else one InputError naming the rules."""
    rules = proxyspex_rules()
    if rule not in rules:
        raise InputError(f"proxyspex_rule must be one of {', '.join(rules)}; got {rule!r}")
    return str(rule)


def method_names() -> tuple[str, ...]:
    """Every registered method, built-in and the user's, in registration order."""
    return tuple(METHODS)


def check_methods(names: object) -> tuple[str, ...]:
    """A method list (comma-separated text or a sequence), validated and in the given order: InputError naming
    the unknown ones."""
    items = names.split(",") if isinstance(names, str) else list(names)  # type: ignore[union-attr]
    names = tuple(str(n).strip() for n in items if str(n).strip())
    retired = [f"{m} ({INFO[m].retired})" for m in names if m not in METHODS and m in INFO]
    if retired:
        raise InputError(f"retired methods no longer run: {'; '.join(retired)}; choose from {', '.join(METHODS)}")
    bad = [m for m in names if m not in METHODS]
    if bad or not names:
        raise InputError(f"unknown or no methods {bad}; choose from {', '.join(METHODS)}")
    if len(set(names)) != len(names):
        raise InputError(f"methods must not repeat; got {list(names)}")
    return names
