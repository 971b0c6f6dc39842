"""The verdict sentences, the trust warnings and the 1-based labels, from hand-made tables and results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from headspex.reporting.labels import head_label, heads_for_users, interactions_for_users, relabel
from headspex.reporting.trust import curve_checks, curve_max_train_value, study_checks, warning_lines
from headspex.reporting.verdict import ceiling_sentence, curve_sentences, study_sentences
from headspex.selection.registry import MethodRun
from headspex.selection.select import Selection
from tests.unit.test_html_report import synthetic_results


def _significance(signs: dict[str, list[int]]) -> pd.DataFrame:
    rows = []
    for baseline, cells in signs.items():
        for i, sign in enumerate(cells):
            est = 0.05 * sign
            rows.append(dict(layers=f"{i // 3 + 1}-2", keep=(0.5, 0.66, 0.83)[i % 3], baseline=baseline,
                             metric="accuracy", estimate=est, low=est - 0.02, high=est + 0.02, sign=sign))
    return pd.DataFrame(rows)


def _accuracy() -> pd.DataFrame:
    rows = [dict(layers="1-2", keep=keep, k=2, method=m, test_accuracy=acc)
            for keep in (0.5, 0.83) for m, acc in (("proxyspex", 0.9), ("lasso", 0.8), ("random", 0.5))]
    return pd.DataFrame(rows)


def _pilot(drops: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([dict(layers=layers, keep=0.5, k=2, drop=d) for layers, d in drops.items()])


def test_each_baseline_gets_one_sentence_with_its_counts():
    sig = _significance({"lasso": [1, 1, 1, 1, -1, 0, 0, 0, 0], "best-of-n": [1, 0, 0, 0, 0, 0, 0, 0, 0]})
    sentences = study_sentences(_accuracy(), sig, _pilot({"1-2": 0.3}), n_seeds=3, n_test=100, clean=0.95)
    assert sentences[1] == ("ProxySPEX is significantly better than LASSO in 4 of 9 cells and worse in 1; 4 within "
                            "noise (test accuracy, paired bootstrap 95% CI over 100 test questions, 3 seeds averaged) "
                            "(uncorrected).")
    assert sentences[2] == ("ProxySPEX is significantly better than Best-of-N in 1 of 9 cells and worse in 0; 8 "
                            "within noise (same test) (uncorrected).")


def test_holm_counts_lead_the_sentence_when_the_table_has_p_values():
    sig = _significance({"lasso": [1, 1, 1, 1, -1, 0, 0, 0, 0]})
    sig = sig.assign(holm_sign=[1, 1, 0, 0, 0, 0, 0, 0, 0], n_seeds=3, seeds_agree=[3, 3, 3, 2, 3, 1, 1, 2, 2])
    sentences = study_sentences(_accuracy(), sig, _pilot({"1-2": 0.3}), n_seeds=3, n_test=100, clean=0.95)
    assert sentences[1].startswith("With Holm's correction over its 9 cells, ProxySPEX is significantly better than "
                                   "LASSO in 2 and worse in 0 (uncorrected: 4 and 1) (test accuracy")
    assert sentences[1].endswith("; it is ahead in every seed in 3 and behind in every seed in 1.")
    assert "unpruned model 0.950" in sentences[0] and "ProxySPEX in 2" in sentences[0]
    assert sentences[-1] == "Trust checks were not run."


def test_the_verdict_says_which_rule_proxyspex_ran():
    from headspex.selection.context import DEFAULT_RULE

    sig = _significance({"lasso": [0] * 9})
    old = study_sentences(_accuracy(), sig, _pilot({"1-2": 0.3}), n_seeds=1, n_test=100, clean=0.95, rule="verify")
    assert old[0].endswith(f" ProxySPEX here is its verify rule (--proxyspex-rule verify; the default is {DEFAULT_RULE}).")
    new = study_sentences(_accuracy(), sig, _pilot({"1-2": 0.3}), n_seeds=1, n_test=100, clean=0.95, rule=DEFAULT_RULE)
    assert new[0].endswith(f"its {DEFAULT_RULE} rule (--proxyspex-rule {DEFAULT_RULE}; the default).")
    without = _accuracy()[lambda d: d["method"] != "proxyspex"]
    assert "rule" not in study_sentences(without, sig, _pilot({"1-2": 0.3}), n_seeds=1, n_test=100, clean=0.95,
                                         rule="verify")[0]


def test_the_ceiling_sentence_names_the_ranges_at_ceiling():
    assert "layers 20-30 is at ceiling" in ceiling_sentence(_pilot({"1-11": 0.3, "20-30": 0.02}))
    assert "no range is at ceiling" in ceiling_sentence(_pilot({"1-11": 0.3}))
    assert "layers 1-11, layers 20-30 are at ceiling" in ceiling_sentence(_pilot({"1-11": 0.01, "20-30": 0.02}))


def test_curve_sentences_read_the_paired_differences():
    auc = pd.DataFrame([
        dict(method="proxyspex", auc=0.50, low=0.45, high=0.55, diff_vs_ref=np.nan, diff_low=np.nan, diff_high=np.nan),
        dict(method="lasso", auc=0.52, low=0.47, high=0.57, diff_vs_ref=0.02, diff_low=-0.01, diff_high=0.05),
        dict(method="single-head", auc=0.70, low=0.65, high=0.75, diff_vs_ref=0.20, diff_low=0.15, diff_high=0.25),
        dict(method="gradient", auc=0.40, low=0.35, high=0.45, diff_vs_ref=-0.10, diff_low=-0.14, diff_high=-0.06),
        dict(method="random", auc=0.45, low=np.nan, high=np.nan)])
    prunable = pd.DataFrame(dict(method=["proxyspex", "single-head", "random"], removable_within_1pt=[0.0, 0.1, 0.0],
                                 removable_within_5pt=[0.1, 0.3, 0.0]))
    s = curve_sentences(auc, prunable, n_seeds=1, n_test=100, n_heads=270, kept=[0.1, 0.9], clean=0.95)
    assert "rule" not in s[0]
    ruled = curve_sentences(auc, prunable, n_seeds=1, n_test=100, n_heads=270, kept=[0.1, 0.9], clean=0.95,
                            rule="milp")
    assert ruled[0].endswith("random masks 0.450. ProxySPEX here is its milp rule (--proxyspex-rule milp; "
                             "the default is robust).") and ruled[1:] == s[1:]
    assert "the largest is single-head ablation's, 0.700 [0.650, 0.750]" in s[0] and "random masks 0.450" in s[0]
    assert s[1].startswith("ProxySPEX's AUC is within noise of LASSO's (LASSO minus ProxySPEX +0.020 [-0.010, +0.050]")
    assert s[2].startswith("ProxySPEX's AUC is significantly below single-head ablation's")
    assert s[3] == ("Against all 3 other methods, ProxySPEX's AUC is significantly higher than 1, lower than 1 and "
                    "within noise of 1.")
    assert "within 5 points: at most 30% of the heads (single-head ablation)" in s[4]


def _plant(results, *, objective=0.5, r2=-0.4, below=True):
    """Seed 0, first range, keep 0.5: the proxy's pick predicted above max_train_value (-0.2), a negative
    held-out R^2, a true value below Best-of-N's; lasso's test accuracy below the random masks' in every seed."""
    run = results[0].ranges[0]
    sel = run.selections[(0.5, "proxyspex")]
    run.selections[(0.5, "proxyspex")] = Selection(sel.mask, sel.k, sel.method, objective=objective)
    run.heldout[0.5]["r2"] = r2
    if below:
        run.train[(0.5, "proxyspex")]["logprob"] = -3.0
        run.train[(0.5, "best-of-n")]["logprob"] = -1.0
    for result in results:
        r = result.ranges[0]
        r.test[(0.5, "lasso")]["accuracy"][:] = 0.0
        r.random[0.5]["accuracy"][:] = 0.5
    return results


def test_study_checks_flag_each_planted_problem_with_its_seed():
    results = _plant(synthetic_results())
    report = study_checks(results)
    found = {(f.check, f.method, f.level, f.seed_text) for f in report.flags if f.where == "layers 1-2"}
    assert ("extrapolation", "proxyspex", "50% kept (k=3)", "seed 0") in found
    assert ("heldout", "proxy", "50% kept (k=3)", "seed 0") in found
    assert ("below_best_random", "proxyspex", "50% kept (k=3)", "seed 0") in found
    assert ("below_random", "lasso", "50% kept (k=3)", "mean over seeds") in found
    flag = next(f for f in report.flags if f.check == "extrapolation" and f.seed == 0 and f.where == "layers 1-2")
    assert flag.value == pytest.approx(0.5) and flag.reference == pytest.approx(-0.2)
    assert "predicted +0.500 vs the best training value the proxy saw -0.200" in flag.what
    table = report.table()
    assert set(table["seed"]) <= {"seed 0", "seed 1", "mean over seeds"}


def test_a_verified_pick_is_not_flagged_as_an_extrapolation():
    """The verify rule keeps the candidate with the best TRUE training value: its prediction is not what chose it."""
    results = _plant(synthetic_results(), below=False)
    run = results[0].ranges[0]
    sel = run.selections[(0.5, "proxyspex")]
    run.selections[(0.5, "proxyspex")] = Selection(sel.mask, sel.k, "verify:lasso", objective=0.5,
                                                   details=dict(verified=4, true_train_value=-0.3))
    flags = {(f.check, f.method, f.seed) for f in study_checks(results).flags if f.where == "layers 1-2"}
    assert ("extrapolation", "proxyspex", 0) not in flags and ("heldout", "proxy", 0) in flags


def test_warning_lines_say_what_it_means_and_what_to_try():
    lines = warning_lines(_plant(synthetic_results()))
    header = next(line for line in lines if line.startswith("WARNING: Proxy optimum outside the observed values"))
    assert "extrapolation" in header and "--budget" in header and "--proxyspex-rule" in header and "--sampling" in header
    assert any(line.startswith("  - layers 1-2, proxyspex (robust) at 50% kept (k=3) (seed 0)") for line in lines)
    assert any(line.startswith("WARNING: Held-out R² below 0") for line in lines)
    assert any(line.startswith("WARNING: Test accuracy below the random baseline") for line in lines)


def test_a_clean_run_has_no_warning_and_a_missing_record_is_said():
    results = synthetic_results(seeds=(0,))
    for r in results[0].ranges:
        for key in r.train:
            r.train[key]["logprob"] = -0.5  # every pick as good as Best-of-N's
        for keep in r.random:
            r.random[keep]["accuracy"][:] = 0.0
    assert study_checks(results).flags == []
    for r in results[0].ranges:
        del r.proxy_summary["max_train_value"]
        sel = r.selections[(0.5, "proxyspex")]
        r.selections[(0.5, "proxyspex")] = Selection(sel.mask, sel.k, sel.method, objective=0.1)  # > 0: impossible
    report = study_checks(results)
    assert any("hold no max training value" in n for n in report.notes)
    assert {f.check for f in report.flags} == {"extrapolation"}


def _curve_result(notes: str, objective: float, metric: str = "logprob"):
    from headspex.records.config import CurveConfig
    from headspex.records.curve_result import CurveResult

    players, ks, rng = [(0, h) for h in range(4)] + [(1, h) for h in range(4)], [6, 4, 2], np.random.default_rng(0)
    runs, test = {}, {}
    for m in ("proxyspex", "lasso", "best-of-n"):
        sel = {k: Selection(np.array([1] * k + [0] * (8 - k), dtype=np.uint8), k, m,
                            objective=objective if m == "proxyspex" else np.nan) for k in ks}
        runs[m] = MethodRun(sel, forward=40, notes=notes if m == "proxyspex" else "",
                            train_values={k: -1.0 for k in ks})
        test[m] = {k: {"accuracy": (rng.random(20) < 0.7).astype(float), "logprob": rng.normal(-1, 0.2, 20)}
                   for k in ks}
    config = CurveConfig(layers=(0, 1), keep=(0.25, 0.5, 0.75), metric=metric)
    return CurveResult(config, players, ks, {"test": {"accuracy": 0.9}}, runs, test, {k: np.zeros(6) for k in ks},
                       n_train=4, n_test=20, seconds=1.0)


def test_curve_checks_use_the_noted_best_training_value_or_say_it_is_missing():
    result = _curve_result("CV R2 0.4; best training value -0.152; 20 Moebius terms", objective=0.2)
    assert curve_max_train_value(result.runs["proxyspex"]) == pytest.approx(-0.152)
    report = curve_checks([result])
    assert sum(f.check == "extrapolation" for f in report.flags) == 3
    assert "no held-out R²" in report.checked and not report.notes
    bare = curve_checks([_curve_result("", objective=0.2, metric="accuracy")])
    assert not [f for f in bare.flags if f.check == "extrapolation"]
    assert any("holds no max training value" in n and "skipped" in n for n in bare.notes)


def test_user_outputs_have_1_based_layers():
    assert head_label(0, 3) == "L1H3" and relabel("L0H6 L3H1") == "L1H6 L4H1"
    heads = pd.DataFrame(dict(player=[0, 1], label=["L9H0", "L9H1"], layer=[9, 9], head=[0, 1], shapley=[0.1, 0.2]))
    users = heads_for_users(heads)
    assert list(users.columns) == ["player", "label", "layer_1based", "head", "shapley"]
    assert list(users["label"]) == ["L10H0", "L10H1"] and list(users["layer_1based"]) == [10, 10]
    top = pd.DataFrame(dict(members=["L0H1 L2H3"], order=[2], value=[-0.3], within_layer=[False]))
    users = interactions_for_users(top)
    assert users.iloc[0].to_dict() == dict(members="L1H1 L3H3", order=2, value=-0.3, within_layer=False, sign=-1,
                                           kind="across-layer")
