"""Trust warnings: where a run's own numbers say a selection should not be taken at face value.

Checks (each flag says which seed, or "mean over seeds" where it compares means):

* ``extrapolation``: a proxy method's pick (``proxyspex`` and the ``proxyspex-<rule>`` methods) has a predicted value
  (``Selection.objective``) above the best training value the proxy was fitted on (the study's
  ``proxy_summary["max_train_value"]``; not for a pick the verify rule chose on its true value; a curve's ``MethodRun.max_train_value`` or the "best training value"
  its proxyspex run noted). Without that record a study compares with the best true training value measured in
  the run (held-out masks, every method's pick, the unpruned model) and says so; a curve skips the check and
  says so. With a log-prob value, a prediction above 0 (the largest possible log-prob) is always flagged.
* ``heldout``: the proxy's held-out R^2 on unseen masks with exactly k heads is below 0 at a keep level (a
  study's ``RangeRun.heldout``; a curve run does not measure it, and says so).
* ``below_best_random``: a proxy method's pick has a true training value below the best random mask of its
  size that the run evaluated: Best-of-N's pick at that level and seed (the best of its N random k-head
  masks on the training split). Skipped, and said, when Best-of-N did not run.
* ``below_random``: a method's test accuracy (mean over seeds) is below the mean test accuracy of random
  k-head masks at that level (the pilot / random baseline).

:func:`study_checks` and :func:`curve_checks` return a :class:`TrustReport`; :func:`warning_lines` turns a
run's results (study or curve seeds) into lines for a terminal; :mod:`.trust_blocks` renders a report's blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from headspex.reporting.labels import method_label
from headspex.selection.methods import proxy_methods

TRY = ("Try more training masks (--budget), the robust rule (--proxyspex-rule robust, the default: candidates where "
       "bootstrap proxies agree, checked on true values), the trust region (--proxyspex-rule trust: the optimum stays "
       "near the best training mask), or another --sampling (matched: masks at the keep levels).")
CHECKS = {  # check: (title, what it means, what to try)
    "extrapolation": ("Proxy optimum outside the observed values",
                      "the proxy predicts more for its pick than any observed training value: the optimum is an "
                      "extrapolation of the trees, not supported by data.", TRY),
    "heldout": ("Held-out R² below 0 at a keep level",
                "on unseen masks with exactly k heads the proxy predicts worse than their mean: its ranking of "
                "k-head sets, where selection happens, is not to be trusted.",
                "Try more training masks (--budget) and --sampling matched (masks at the keep levels), or the trust "
                "region (--proxyspex-rule trust); until then prefer the methods that need no proxy here."),
    "below_best_random": ("Worse on its own objective than the best random mask of its size",
                          "the pick's true training value is below that of the best random k-head mask Best-of-N "
                          "evaluated at that level: maximising the proxy did worse than random search.", TRY),
    "below_random": ("Test accuracy below the random baseline",
                     "the kept set scores below the mean of random masks of the same size (the random baseline) on "
                     "the test split: the method's choice of heads hurt.",
                     "For a proxy method, try more training masks (--budget), the robust rule (the default) or "
                     "the trust region (--proxyspex-rule), or another --sampling; for the others, check the gap on "
                     "more test questions (--n-test) before reading it as a real loss."),
}
CHECKED = ("Checked: the proxy's predicted value for its pick against the training values it saw, held-out R² at "
           "each keep level, each proxy pick's true training value against the best random mask of its size "
           "(Best-of-N's), and each method's test accuracy against the random baseline.")
CHECKED_CURVES = ("Checked: the proxy's predicted value for its pick against the training values it saw, each proxy "
                  "pick's true training value against the best random mask of its size (Best-of-N's), and each "
                  "method's test accuracy against the random baseline (a curves run measures no held-out R²).")
VISIBLE = 5e-4  # a test-accuracy gap smaller than this would print as equal at 3 decimals: not flagged
_NOTED_BEST = re.compile(r"best training value (-?\d+(?:\.\d+)?(?:e-?\d+)?)")


@dataclass(frozen=True)
class Flag:
    """One failed check. seed: the seed it comes from, or None for a mean over seeds."""

    check: str
    where: str
    level: str
    method: str
    seed: int | None
    value: float
    reference: float
    what: str  # "predicted +0.197 vs the best training value -0.152"
    kept: float = 0.0  # the level's share of heads kept (orders the levels of a group)

    @property
    def seed_text(self) -> str:
        return "mean over seeds" if self.seed is None else f"seed {self.seed}"

    @property
    def gap(self) -> float:
        return abs(self.value - self.reference)


@dataclass
class TrustReport:
    """The flags of a run and the checks it could not make (``notes``, one sentence each). ``rule``: the rule the
    run's ``proxyspex`` ran, so that every line names it ``proxyspex (robust)``, as the tables do."""

    flags: list[Flag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: str = CHECKED
    rule: str | None = None

    def groups(self) -> list[tuple[tuple[str, str, str], list[Flag]]]:
        """Flags grouped by (check, where, method as the tables name it), in check order."""
        out: dict[tuple[str, str, str], list[Flag]] = {}
        for f in sorted(self.flags, key=lambda f: list(CHECKS).index(f.check)):
            out.setdefault((f.check, f.where, method_label(f.method, self.rule)), []).append(f)
        return list(out.items())

    def by_check(self) -> list[tuple[str, list[tuple[tuple[str, str, str], list[Flag]]]]]:
        """The groups of :meth:`groups` under their check, in check order."""
        out: dict[str, list] = {}
        for key, flags in self.groups():
            out.setdefault(key[0], []).append((key, flags))
        return list(out.items())

    def lines(self) -> list[str]:
        """Per failed check a line saying what it means and what to try, then one indented line per (where,
        method): its levels, seeds and largest gap. Checks that could not be made follow as NOTE lines."""
        out = []
        for check, groups in self.by_check():
            n = sum(len(flags) for _, flags in groups)
            title, meaning, advice = CHECKS[check]
            out.append(f"WARNING: {title} ({n} case(s)). It means {meaning} {advice}")
            out += [f"  - {group_text(where, method, flags)}" for (_, where, method), flags in groups]
        return out + [f"NOTE (trust checks): {note}" for note in self.notes]

    def table(self) -> Any:
        """Every flag as a row: check, where, level, method, seed (or "mean over seeds"), value, reference."""
        import pandas as pd

        return pd.DataFrame([dict(check=f.check, where=f.where, level=f.level, method=method_label(f.method, self.rule),
                                  seed=f.seed_text,
                                  value=f.value, reference=f.reference, detail=f.what) for f in self.flags],
                            columns=["check", "where", "level", "method", "seed", "value", "reference", "detail"])


def group_text(where: str, method: str, flags: list[Flag]) -> str:
    """"layers 1-11, proxyspex at 50%, 66% kept (seeds 0, 2): largest gap: seed 0 at 50% kept, predicted ..."."""
    ordered = list(dict.fromkeys(f.level for f in sorted(flags, key=lambda f: -f.kept)))
    levels = ", ".join(ordered) if len(ordered) <= 4 else f"{len(ordered)} levels ({ordered[0]} to {ordered[-1]})"
    seeds = sorted({f.seed for f in flags if f.seed is not None})
    seed_text = (f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}" if seeds else "mean over seeds")
    worst = max(flags, key=lambda f: f.gap)
    return (f"{where}, {method} at {levels} ({seed_text}): {len(flags)} case(s); largest gap: {worst.seed_text} at "
            f"{worst.level}, {worst.what}.")


def _extrapolated(objective: float, reference: float | None, metric: str) -> float | None:
    """The bound ``objective`` exceeds (the best observed value, or 0 for a log-prob), or None if it exceeds none."""
    bound = reference if reference is not None and np.isfinite(reference) else None
    if metric == "logprob":
        bound = 0.0 if bound is None else min(bound, 0.0)
    return bound if bound is not None and np.isfinite(objective) and objective > bound + 1e-9 else None


def _study_reference(result: Any, run: Any, metric: str) -> tuple[float, str]:
    """The best training value the proxy saw, else the best true training value measured in the run."""
    stored = run.proxy_summary.get("max_train_value")
    if stored is not None and np.isfinite(stored):
        return float(stored), "the best training value the proxy saw"
    seen = [float(v[metric]) for v in run.train.values() if metric in v]
    seen += [float(np.max(h["true"])) for h in run.heldout.values() if len(h.get("true", []))]
    seen.append(float(result.clean.get("train", {}).get(metric, np.nan)))
    seen = [v for v in seen if np.isfinite(v)]
    return (max(seen) if seen else np.nan), "the best true training value measured in the run"


def study_checks(results: Sequence[Any], accuracy: Any = None) -> TrustReport:
    """The checks of a layer-range study (one StudyResult per seed); ``accuracy``: SeedSummary.accuracy()."""
    from headspex.players import format_layer_range

    report = TrustReport(rule=getattr(results[0].config, "proxyspex_rule", None) if results else None)
    for result in results:
        seed, metric = result.config.seed, str(result.config.metric)
        for run in result.ranges:
            where = f"layers {format_layer_range(run.layers)}"
            ref, ref_name = _study_reference(result, run, metric)
            if "max_train_value" not in run.proxy_summary:
                _note(report, "the stored results hold no max training value of the proxy: the extrapolation check "
                              f"compares with {ref_name} (held-out masks, every method's pick, the unpruned model)")
            for keep in run.keep_k:
                at = (where, f"{keep:.0%} kept (k={run.keep_k[keep]})", float(keep))
                _check_pick(report, (run.selections, run.train), keep, at, seed, metric, (ref, ref_name))
                h = run.heldout.get(keep)
                if h is not None and np.isfinite(h["r2"]) and h["r2"] < 0:
                    report.flags.append(Flag("heldout", at[0], at[1], "proxy", seed, float(h["r2"]), 0.0,
                                             f"held-out R² {h['r2']:.2f} on {len(h['true'])} unseen k-head masks",
                                             at[2]))
    if accuracy is None:
        from headspex.records.summary import SeedSummary

        accuracy = SeedSummary(list(results)).accuracy()
    _below_random_study(report, accuracy, results[0].config.seed if len(results) == 1 else None)
    return report


def _check_pick(report: TrustReport, picks: tuple[dict, dict], key: Any, at: tuple[str, str, float], seed: int,
                metric: str, reference: tuple[float, str]) -> None:
    """Extrapolation and below-best-random checks of the proxy methods' picks at one level. picks: (selections,
    true training values) keyed (level, method); at: (where, level text, share kept); reference: (value, name)."""
    (selections, train), (where, level, kept), (ref, ref_name) = picks, at, reference
    best = train.get((key, "best-of-n"), {}).get(metric)
    for method in proxy_methods():
        sel = selections.get((key, method))
        if sel is None:
            continue
        bound = None if sel.details.get("verified") else _extrapolated(sel.objective, ref, metric)
        if bound is not None:  # a verified pick was chosen on its true value, not on the prediction
            name = ref_name if bound == ref else "0, the largest possible log-prob"
            report.flags.append(Flag("extrapolation", where, level, method, seed, float(sel.objective), bound,
                                     f"predicted {sel.objective:+.3f} vs {name} {bound:+.3f}", kept))
        true = train.get((key, method), {}).get(metric)
        if best is not None and true is not None and true < best - 1e-9:
            report.flags.append(Flag("below_best_random", where, level, method, seed, float(true), float(best),
                                     f"true training {metric} {true:+.3f} vs Best-of-N's {best:+.3f}", kept))
    if best is None and any((key, m) in selections for m in proxy_methods()):
        _note(report, "Best-of-N did not run: a pick is not compared with the best random mask of its size")


def _below_random_study(report: TrustReport, accuracy: Any, seed: int | None) -> None:
    """Each method's test accuracy (mean over seeds; ``seed`` when there is one) against the random masks'."""
    for (layers, keep), g in accuracy.groupby(["layers", "keep"], sort=False):
        rand = g[g["method"] == "random"]
        if rand.empty:
            continue
        base = float(rand["test_accuracy"].iloc[0])
        for r in g[g["method"] != "random"].itertuples():
            if r.test_accuracy < base - VISIBLE:
                report.flags.append(Flag("below_random", f"layers {layers}", f"{keep:.0%} kept (k={r.k})", r.method,
                                         seed, float(r.test_accuracy), base,
                                         f"test accuracy {r.test_accuracy:.3f} vs random masks' {base:.3f}", keep))


def _note(report: TrustReport, note: str) -> None:
    if note not in report.notes:
        report.notes.append(note)


def curve_max_train_value(run: Any) -> float | None:
    """The best training value a curve's proxy saw: ``MethodRun.max_train_value`` or the value its notes give."""
    value = getattr(run, "max_train_value", None)
    if value is None:
        found = _NOTED_BEST.search(str(getattr(run, "notes", "")))
        value = float(found.group(1)) if found else None
    return None if value is None or not np.isfinite(value) else float(value)


def curve_checks(results: Sequence[Any], curve: Any = None) -> TrustReport:
    """The checks of a whole-model curve (one CurveResult per seed); ``curve``: curve_table(results)."""
    report = TrustReport(checked=CHECKED_CURVES, rule=getattr(results[0].config, "proxyspex_rule", None))
    n, single = len(results[0].players), results[0].config.seed if len(results) == 1 else None
    for result in results:
        seed, metric = result.config.seed, str(result.config.metric)
        ref = curve_max_train_value(result.runs["proxyspex"]) if "proxyspex" in result.runs else None
        if ref is None:
            _note(report, f"seed {seed}: the stored curve result holds no max training value of the proxy: the "
                          "extrapolation check compares only with 0 (log-prob)" if metric == "logprob" else
                          f"seed {seed}: the stored curve result holds no max training value of the proxy: the "
                          "extrapolation check is skipped")
        selections = {(k, m): run.selections[k] for m, run in result.runs.items() for k in run.selections}
        train = {(k, m): {metric: v} for m, run in result.runs.items() for k, v in run.train_values.items()}
        for k in result.ks:
            _check_pick(report, (selections, train), k, ("whole model", f"k={k} ({k / n:.0%} kept)", k / n), seed,
                        metric, (np.nan if ref is None else ref, "the best training value the proxy saw"))
    if curve is None:
        from headspex.records.curve_result import curve_table

        curve = curve_table(results)
    for k, g in curve.groupby("k", sort=False):
        rand = g[g["method"] == "random"]
        base = float(rand["accuracy"].iloc[0]) if len(rand) else np.nan
        for r in g[g["method"] != "random"].itertuples():
            if np.isfinite(base) and r.accuracy < base - VISIBLE:
                report.flags.append(Flag("below_random", "whole model", f"k={k} ({k / n:.0%} kept)", r.method, single,
                                         float(r.accuracy), base,
                                         f"test accuracy {r.accuracy:.3f} vs random masks' {base:.3f}", k / n))
    return report


def warning_lines(results: Any) -> list[str]:
    """The trust warnings of a run, one line each (empty when every check passes; skipped checks last as
    "NOTE (trust checks): ..."). ``results``: a StudyResult or CurveResult, or a list of one per seed."""
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    if not results:
        return []
    report = curve_checks(results) if hasattr(results[0], "runs") else study_checks(results)
    return report.lines()
