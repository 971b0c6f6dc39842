"""Whole-model pruning curves on a tiny random Llama: every method, resume, summaries, planted elimination."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from headspex.experiments.whole_model import run_curves
from headspex.records.config import CURVE_METHODS as METHODS, CurveConfig
from headspex.records.curve_result import auc_table, cost_table, curve_table, prunable_table
from headspex.selection.iterative import eliminate
from headspex.spectrum.fourier import MoebiusSpectrum
from tests.helpers import tiny_task


def _config(**kw):
    base = dict(layers=(0, 1, 2, 3), keep=(0.25, 0.5, 0.75), budget=24, n_random=6, milp_time_limit=5.0)
    return CurveConfig(**(base | kw))


def test_every_method_keeps_exactly_k_heads_and_resumes(tiny_llama, tmp_path):
    task = tiny_task()
    logs = []
    result = run_curves(tiny_llama, task, _config(), out=tmp_path, test_model=tiny_llama, log=logs.append)
    assert result.ks == [12, 8, 4]
    assert list(result.runs) == list(METHODS)
    for method, run in result.runs.items():
        assert sorted(run.selections) == [4, 8, 12]
        for k, sel in run.selections.items():
            assert sel.k == k and sel.mask.sum() == k and sel.n_players == 16
        assert run.forward > 0
    assert result.runs["gradient"].backward == len(task.train)
    assert result.runs["single-head"].forward == 16 * len(task.train)
    nested = [set(result.runs["iterative-gradient"].selections[k].kept_indices()) for k in (12, 8, 4)]
    assert nested[0] >= nested[1] >= nested[2]  # elimination keeps nested sets
    again = []
    second = run_curves(tiny_llama, task, _config(), out=tmp_path, test_model=tiny_llama, log=again.append)
    assert sum("loaded from" in line for line in again) == len(METHODS)
    for method in METHODS:
        for k in result.ks:
            np.testing.assert_array_equal(second.test[method][k]["accuracy"], result.test[method][k]["accuracy"])


def test_summaries_have_one_row_per_method_and_level(tiny_llama):
    task = tiny_task()
    result = run_curves(tiny_llama, task, _config(methods=("lasso", "gradient")), test_model=tiny_llama,
                        log=lambda _: None)
    curve = curve_table([result])
    assert len(curve) == 3 * 3 and set(curve.method) == {"lasso", "gradient", "random"}
    assert (curve.low <= curve.accuracy + 1e-12).all() and (curve.accuracy <= curve.high + 1e-12).all()
    auc = auc_table([result], reference="lasso")
    assert {"auc", "low", "high"} <= set(auc.columns)
    assert auc.set_index("method").loc["gradient", "diff_vs_ref"] == pytest.approx(
        auc.set_index("method").loc["gradient", "auc"] - auc.set_index("method").loc["lasso", "auc"])
    prunable = prunable_table([result])
    assert ((prunable.filter(like="removable") >= 0) & (prunable.filter(like="removable") <= 1)).all().all()
    assert isinstance(cost_table([result]), pd.DataFrame)


def test_auc_of_a_flat_curve_is_its_level():
    from headspex.records.curve_result import _auc

    kept = np.array([0.9, 0.5, 0.1])
    assert _auc(kept, np.array([0.7, 0.7, 0.7])) == pytest.approx(0.7)
    assert _auc(kept, np.array([1.0, 0.5, 0.0])) == pytest.approx(0.5)


def test_elimination_removes_the_planted_weak_heads_first():
    strength = np.arange(20, dtype=float)  # head i has strength i: the weakest go first

    def remove(current, n_remove):
        kept = np.flatnonzero(current)
        return kept[np.argsort(strength[kept])[:n_remove]]

    sel = eliminate(20, [15, 10, 3], remove, fraction=0.1, label="x")
    for k, s in sel.items():
        assert s.kept_indices() == tuple(range(20 - k, 20))
    with pytest.raises(ValueError, match="fraction"):
        eliminate(20, [5], remove, fraction=1.5, label="x")


def test_restricted_moebius_equals_the_full_one_with_removed_heads_off():
    rng = np.random.default_rng(0)
    terms = {(): 0.3, (0,): 1.0, (1, 2): -0.5, (2, 4): 0.7, (3,): 0.2, (0, 3, 4): 0.4}
    full = MoebiusSpectrum.from_dict(terms, n_players=5, players=[(1, h) for h in range(5)])
    kept = np.array([0, 2, 3, 4])
    sub = full.restrict(kept)
    masks = (rng.random((30, 4)) < 0.5).astype(np.uint8)
    wide = np.zeros((30, 5), np.uint8)
    wide[:, kept] = masks
    np.testing.assert_allclose(sub.predict(masks), full.predict(wide))
    assert isinstance(sub, MoebiusSpectrum) and sub.players == ((1, 0), (1, 2), (1, 3), (1, 4))
    for bad in ([0, 5], [1, 1], [0.5]):
        with pytest.raises(ValueError, match="kept"):
            full.restrict(bad)


def test_bad_configs_get_clear_errors():
    with pytest.raises(ValueError, match="unknown or no methods"):
        CurveConfig(layers=(0,), methods=("nope",))
    with pytest.raises(ValueError, match="head counts"):
        CurveConfig(layers=(0,), keep=(0.01,)).ks(16)
    assert CurveConfig(layers=(0,), head_counts=(4, 8)).ks(16) == [8, 4]
    with pytest.raises(ValueError, match="keep must list fractions"):
        CurveConfig(layers=(0,), keep=(4, 8))
