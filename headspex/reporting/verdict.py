"""The one verdict writer: the sentences a report opens with, written from the run's own tables, never from stored
prose; :func:`study_verdict` and :func:`curve_verdict` give them for a study's or a curve's seeds.

:func:`study_sentences` (a layer-range study: accuracy, paired significance, pilot) and
:func:`curve_sentences` (whole-model curves: AUC with paired differences, prunable fractions).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

BASELINE_ORDER = ("lasso", "best-of-n", "single-head")
REFERENCE = "proxyspex"
SHORT = {"extrapolation": "proxy optimum above every observed value", "heldout": "held-out R² below 0",
         "below_best_random": "proxy pick worse than the best random mask of its size",
         "below_random": "test accuracy below random masks'"}


def name(method: str) -> str:
    """A method as the text names it (``lasso`` -> ``LASSO``): its registered title."""
    from headspex.selection.methods import method_info

    return method_info(method).title


def rule_clause(rule: str | None) -> str:
    """" ProxySPEX here is its verify rule (--proxyspex-rule verify; the default is robust)." ("" for no rule)."""
    if not rule:
        return ""
    from headspex.selection.context import DEFAULT_RULE

    default = "the default" if rule == DEFAULT_RULE else f"the default is {DEFAULT_RULE}"
    return f" ProxySPEX here is its {rule} rule (--proxyspex-rule {rule}; {default})."


def _seeds(n_seeds: int) -> str:
    return f"{n_seeds} seeds averaged" if n_seeds > 1 else "1 seed"


def _cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


def best_counts(accuracy: pd.DataFrame) -> list[tuple[str, int]]:
    """Per method, the cells (layers, keep) where its mean test accuracy is the highest (ties count for each)."""
    counts: dict[str, int] = {}
    for _, g in accuracy.groupby(["layers", "keep"], sort=False):
        top = g["test_accuracy"].max()
        for m in g.loc[g["test_accuracy"] >= top - 1e-12, "method"]:
            counts[m] = counts.get(m, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def baseline_sentence(baseline: str, rows: pd.DataFrame, test: str = "") -> str:
    """"With Holm's correction over its 9 cells, ProxySPEX is significantly better than LASSO in 3 and worse in 0
    (uncorrected: 4 and 1){test}; it is ahead in every seed in 5 cells and behind in every seed in 1."."""
    signs = rows["sign"].to_numpy()
    better, worse = int((signs > 0).sum()), int((signs < 0).sum())
    if "holm_sign" not in rows:  # a table without p-values: the uncorrected counts only
        return (f"ProxySPEX is significantly better than {name(baseline)} in {better} of {_cells(len(rows))} and "
                f"worse in {worse}; {len(rows) - better - worse} within noise{test} (uncorrected).")
    holm = rows["holm_sign"].to_numpy()
    est = np.sign(rows["estimate"].to_numpy())
    every = (rows["seeds_agree"] == rows["n_seeds"]).to_numpy()
    seeds = (f"; it is ahead in every seed in {int((every & (est > 0)).sum())} and behind in every seed in "
             f"{int((every & (est < 0)).sum())}" if int(rows["n_seeds"].max()) > 1 else "")
    return (f"With Holm's correction over its {_cells(len(rows))}, ProxySPEX is significantly better than "
            f"{name(baseline)} in {int((holm > 0).sum())} and worse in {int((holm < 0).sum())} (uncorrected: "
            f"{better} and {worse}){test}{seeds}.")


def test_text(n_test: int, n_seeds: int) -> str:
    return f" (test accuracy, paired bootstrap 95% CI over {n_test} test questions, {_seeds(n_seeds)})"


def ceiling_sentence(pilot: pd.DataFrame) -> str:
    """Which ranges the pilot finds at ceiling (random k-head masks lose < 5 points at every level)."""
    if pilot.empty:
        return "No pilot was run: whether a range is at ceiling is unknown."
    worst = pilot.groupby("layers", sort=False)["drop"].max()
    ceiling = [layers for layers, drop in worst.items() if drop < 0.05]
    if not ceiling:
        return (f"Per the pilot, no range is at ceiling: random k-head masks lose at least 5 points of test accuracy "
                f"at some level in every range (largest loss {worst.max():.3f}).")
    which = ", ".join(f"layers {c}" for c in ceiling)
    return (f"Per the pilot, {which} {'is' if len(ceiling) == 1 else 'are'} at ceiling: random k-head masks lose "
            f"less than 5 points there at every level, so methods cannot differ there.")


def trust_sentence(trust: Any) -> str:
    if trust is None:
        return "Trust checks were not run."
    if not trust.flags:
        return "No trust warning: every check passed."
    kinds = "; ".join(f"{SHORT.get(check, check)} ({sum(len(f) for _, f in groups)})"
                      for check, groups in trust.by_check())
    return f"Trust warnings, {len(trust.flags)} case(s): {kinds}. See the Trust warnings block."


def study_sentences(accuracy: pd.DataFrame, significance: pd.DataFrame, pilot: pd.DataFrame, *, n_seeds: int,
                    n_test: int, clean: float, trust: Any = None, rule: str | None = None) -> list[str]:
    """The study's verdict: the cells, who is best where, ProxySPEX (its ``rule``, when it ran) against each
    baseline, ceiling, trust."""
    n_ranges, n_levels = accuracy["layers"].nunique(), accuracy["keep"].nunique()
    best = best_counts(accuracy)
    out = [f"{_cells(n_ranges * n_levels)} ({n_ranges} layer range(s) x {n_levels} keep level(s)); test accuracy "
           f"on {n_test} questions, {_seeds(n_seeds)}; unpruned model {clean:.3f}. Highest mean test accuracy: "
           + ", ".join(f"{name(m)} in {c}" for m, c in best) + " (ties count for each)."
           + (rule_clause(rule) if REFERENCE in set(accuracy["method"]) else "")]
    sig = significance[significance["metric"] == "accuracy"] if len(significance) else significance
    if sig.empty:
        out.append("ProxySPEX was not compared with a baseline (it did not run, or no baseline did).")
    for i, baseline in enumerate([b for b in BASELINE_ORDER if b in set(sig.get("baseline", []))]
                                 + [b for b in dict.fromkeys(sig.get("baseline", [])) if b not in BASELINE_ORDER]):
        test = test_text(n_test, n_seeds) if i == 0 else " (same test)"
        out.append(baseline_sentence(baseline, sig[sig["baseline"] == baseline], test))
    out += [ceiling_sentence(pilot), trust_sentence(trust)]
    return out


def _fmt_auc(row: Any) -> str:
    ci = f" [{row.low:.3f}, {row.high:.3f}]" if np.isfinite(row.low) else ""
    return f"{row.auc:.3f}{ci}"


def relation_sentence(row: Any) -> str:
    """ProxySPEX's AUC against one method's, from the paired difference (method minus ProxySPEX)."""
    lo, hi = row.diff_low, row.diff_high
    rel = ("significantly below" if lo > 0 else "significantly above" if hi < 0 else "within noise of")
    return (f"ProxySPEX's AUC is {rel} {name(row.method)}'s ({name(row.method)} minus ProxySPEX "
            f"{row.diff_vs_ref:+.3f} [{lo:+.3f}, {hi:+.3f}], paired bootstrap 95% CI over test questions).")


def _removable(prunable: pd.DataFrame, column: str) -> str:
    """"at most 30% of the heads (gradient, ...)" for one threshold column (random masks left out)."""
    part = prunable[prunable["method"] != "random"]
    top = float(part[column].max()) if len(part) else 0.0
    if top <= 0:
        return "no method removes any head at a sweep level"
    who = ", ".join(name(m) for m in part.loc[part[column] >= top - 1e-12, "method"])
    return f"at most {top:.0%} of the heads ({who})"


def curve_sentences(auc: pd.DataFrame, prunable: pd.DataFrame, *, n_seeds: int, n_test: int, n_heads: int,
                    kept: Sequence[float], clean: float, trust: Any = None, rule: str | None = None) -> list[str]:
    """The curves' verdict: the largest AUC, ProxySPEX (its ``rule``) against LASSO, single-head and all,
    prunable, trust."""
    methods = auc[auc["method"] != "random"]
    top = methods.loc[methods["auc"].idxmax()]
    out = [f"Area under the test-accuracy curve (AUC = mean accuracy over the sweep, {min(kept):.0%} to "
           f"{max(kept):.0%} of the {n_heads} heads kept; 95% bootstrap CI over {n_test} test questions, "
           f"{_seeds(n_seeds)}): the largest is {name(top.method)}'s, {_fmt_auc(top)}."]
    rows = {r.method: r for r in auc.itertuples()}
    if REFERENCE in rows:
        ref = rows[REFERENCE]
        rand = f"; random masks {rows['random'].auc:.3f}" if "random" in rows else ""
        out[0] += f" ProxySPEX: {_fmt_auc(ref)}{rand}." + rule_clause(rule)
        others = [r for r in auc.itertuples() if r.method not in (REFERENCE, "random") and np.isfinite(r.diff_low)]
        compared = {r.method for r in others}
        out += [relation_sentence(rows[m]) for m in ("lasso", "single-head") if m in compared]
        if others:
            higher = sum(r.diff_high < 0 for r in others)
            lower = sum(r.diff_low > 0 for r in others)
            out.append(f"Against all {len(others)} other methods, ProxySPEX's AUC is significantly higher than "
                       f"{higher}, lower than {lower} and within noise of {len(others) - higher - lower}.")
    else:
        out.append("ProxySPEX did not run: no paired AUC differences.")
    parts = [f"within {points} point{'s' if points > 1 else ''}: {_removable(prunable, f'removable_within_{points}pt')}"
             for points in (5, 1) if f"removable_within_{points}pt" in prunable.columns]
    if parts:
        out.append(f"Removable while staying close to the unpruned model ({clean:.3f}): " + "; ".join(parts) + ".")
    out.append(trust_sentence(trust))
    return out


def study_verdict(results: Sequence[Any], tables: dict, trust: Any) -> list[str]:
    """A study's verdict from its seeds and tables (:func:`study_sentences`), naming the rule ``proxyspex`` ran."""
    from headspex.reporting.study_tables import n_test_questions

    first = results[0]
    return study_sentences(tables["accuracy"], tables["significance"], tables["pilot"], n_seeds=len(results),
                           n_test=n_test_questions(first), clean=first.clean_test_accuracy, trust=trust,
                           rule=first.config.proxyspex_rule)


def curve_verdict(results: Sequence[Any], tables: dict, trust: Any = None) -> list[str]:
    """A whole-model curve's verdict from its seeds and tables (:func:`curve_sentences`)."""
    first = results[0]
    n = len(first.players)
    return curve_sentences(tables["auc"], tables["prunable"], n_seeds=len(results), n_test=first.n_test, n_heads=n,
                           kept=[k / n for k in first.ks], clean=float(first.clean["test"]["accuracy"]), trust=trust,
                           rule=first.config.proxyspex_rule)
