"""One pipeline on a tiny random Llama: every registered method runs in a layer range and on the whole model
through the same experiment; a user's own method registers and runs; the CLI's defaults are the configs'."""

from __future__ import annotations

import numpy as np
import pytest

from headspex.engine.game import MaskGame
from headspex.experiments.core import Games, run_experiment
from headspex.players import layer_players
from headspex.records.config import ExperimentConfig
from headspex.selection.methods import METHODS, method_names
from headspex.selection.registry import BASELINE, MethodRun, register
from headspex.selection.select import select_top_k
from tests.helpers import tiny_task

ALL = tuple(m for m in method_names() if not m.startswith("custom"))
SCOPES = {"range": (1, 2), "whole model": (0, 1, 2, 3)}


def _experiment(model, layers, methods, **kw):
    task = tiny_task()
    players = layer_players(layers, model.n_heads)
    config = ExperimentConfig(keep=(0.5, 0.75), budget=24, n_random=3, methods=methods, milp_time_limit=2.0, **kw)
    levels = {keep: int(round(keep * len(players))) for keep in config.keep}
    with MaskGame(model, task, players) as train, MaskGame(model, task, players, split="test") as test:
        result = run_experiment(Games(train, test, test), levels, config, baseline_seed=0, grad_model=model,
                                task=task, log=lambda _: None)
    return result, levels, task


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("method", ALL)
def test_every_method_runs_in_a_range_and_on_the_whole_model(tiny_llama, scope, method):
    result, levels, task = _experiment(tiny_llama, SCOPES[scope], (method,))
    n = len(result.players)
    assert set(result.random) == set(levels.values())  # the baseline is always there
    if method == BASELINE:
        assert result.runs == {}
        return
    run = result.runs[method]
    assert sorted(run.selections) == sorted(levels.values())
    for k, sel in run.selections.items():
        assert sel.k == k and sel.mask.sum() == k and sel.mask.size == n
        assert result.test[(k, method)]["accuracy"].shape == (len(task.test),)
        assert set(result.train[(k, method)]) == {"accuracy", "logprob", "margin"}
        assert run.train_values[k] == result.train[(k, method)]["logprob"]
    assert run.forward > 0


def test_a_users_method_registers_and_runs(tiny_llama):
    @register("custom-last-heads")
    def last_heads(ctx, ks):  # keeps the k highest-indexed players
        return MethodRun({k: select_top_k(np.arange(ctx.n_players, dtype=float), k, label="last") for k in ks},
                         forward=0)

    try:
        result, levels, _ = _experiment(tiny_llama, (2, 3), ("custom-last-heads", "lasso"))
        k = levels[0.5]
        assert list(np.flatnonzero(result.runs["custom-last-heads"].selections[k].mask)) == list(range(8 - k, 8))
    finally:
        METHODS.pop("custom-last-heads")


def test_unknown_methods_are_refused_naming_them():
    with pytest.raises(ValueError, match="unknown or no methods.*'magic'"):
        ExperimentConfig(methods=("lasso", "magic"))


def test_the_proxy_is_fitted_once_per_training_set(tiny_llama, monkeypatch):
    """Methods on the whole budget share one fit; the verify rule (the default proxyspex) fits once more, on the
    80% of the budget it keeps for the proxy, shared with proxyspex-verify."""
    from headspex.spectrum import proxy as proxy_module

    fits = []
    real = proxy_module.Proxy.fit
    monkeypatch.setattr(proxy_module.Proxy, "fit", lambda self, m, *a, **k: fits.append(len(m)) or real(self, m, *a, **k))
    _experiment(tiny_llama, (1, 2), ("proxyspex-milp", "proxyspex-trust", "lasso"))
    assert fits == [24]
    fits.clear()
    _experiment(tiny_llama, (1, 2), ("proxyspex", "proxyspex-verify", "proxyspex-milp"))
    assert sorted(fits) == [20, 24]


def test_cli_defaults_are_the_configs_defaults():
    """One meaning of every default: what the CLI runs with no options is what the configs say."""
    from headspex.experiments.runs import config_for
    from headspex.prune.cli import build_parser
    from headspex.records.config import CurveConfig, StudyConfig

    args = build_parser().parse_args([])
    study, curve = config_for(args, False, ranges=[[0]], seed=0), config_for(args, True, ranges=[[0]], seed=0)
    assert study == StudyConfig(ranges=((0,),))
    assert curve == CurveConfig(layers=(0,))


@pytest.mark.parametrize("rule", ["robust", "verify", "milp"])
def test_proxyspex_runs_its_configured_rule(tiny_llama, rule):
    """``proxyspex`` selects exactly what ``proxyspex-<rule>`` selects, at the same cost, under every rule."""
    both, _, _ = _experiment(tiny_llama, (1, 2), ("proxyspex", f"proxyspex-{rule}"), proxyspex_rule=rule)
    default, alias = both.runs["proxyspex"], both.runs[f"proxyspex-{rule}"]
    assert default.notes.startswith(f"rule {rule}:")
    assert default.forward == alias.forward
    for k, sel in default.selections.items():
        assert np.array_equal(sel.mask, alias.selections[k].mask)


def test_the_default_rule_is_robust_and_unknown_rules_are_refused():
    assert ExperimentConfig().proxyspex_rule == "robust"
    with pytest.raises(ValueError, match="proxyspex_rule must be one of milp, verify, robust, trust; got 'best'"):
        ExperimentConfig(proxyspex_rule="best")


def test_records_without_a_rule_read_as_the_legacy_milp_rule(tmp_path):
    from headspex.records.format import build_config

    config = build_config("study", {"ranges": [[1, 2]], "methods": ["proxyspex"]}, tmp_path)
    assert config.proxyspex_rule == "milp"
    assert build_config("study", {"ranges": [[1]], "proxyspex_rule": "verify"}, tmp_path).proxyspex_rule == "verify"
