"""Resume never mixes: a rerun on the same --out with any setting that can change a number is refused before
anything is written, naming the setting; in a layer-range study and in a whole-model game. At the library
level a curve's saved methods are reused only under the same settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from headspex.prune.cli import main as prune
from tests.conftest import save_tiny_llama
from tests.helpers import write_capitals_jsonl

FAST = ["--keep", "0.5", "--budget", "24", "--best-of-n", "6", "--n-random", "4", "--n-heldout", "3",
        "--energy-boot", "2", "--dtype", "float32", "--n-train", "4", "--n-test", "4", "--no-progress",
        "--methods", "proxyspex,lasso,random", "--milp-time-limit", "2"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    save_tiny_llama(root / "model")
    task = write_capitals_jsonl(root / "capitals.jsonl", ("The capital of",))
    other = write_capitals_jsonl(root / "other.jsonl", ("Which is the capital of",))
    base = ["--model", str(root / "model"), *FAST]
    ranges, whole = root / "ranges", root / "whole"
    assert prune([*base, "--task", str(task), "--layers", "1-2", "--out", str(ranges)]) == 0
    assert prune([*base, "--task", str(task), "--layers", "all", "--out", str(whole)]) == 0
    return dict(base=base, task=task, other=other, ranges=ranges, whole=whole)


CHANGES = [(["--dtype", "bfloat16"], "dtype"), (["--test-dtype", "bfloat16"], "test_dtype"),
           (["--ablation", "mean"], "ablation"), (["--metric", "margin"], "metric"), (["--budget", "30"], "budget"),
           (["--sampling", "uniform"], "sampling"), (["--no-refine"], "refine"), (["--best-of-n", "9"], "best_of_n"),
           (["--milp-time-limit", "3"], "milp_time_limit"), (["--max-terms", "100"], "max_terms"),
           (["--n-random", "5"], "n_random"), (["--methods", "proxyspex,random"], "methods"),
           (["--seed", "1"], "seed"), (["--n-shots", "1"], "n_shots"), (["--n-train", "5"], "n_train"),
           (["--iterative-fraction", "0.2"], "iterative_fraction"), (["--task", "OTHER"], "prompts"),
           (["--proxyspex-rule", "milp"], "proxyspex_rule")]


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("scope", ["ranges", "whole"])
@pytest.mark.parametrize("change, named", CHANGES)
def test_a_changed_setting_is_refused_before_anything_is_written(setup, capsys, scope, change, named):
    layers = "1-2" if scope == "ranges" else "all"
    change = [str(setup["other"]) if c == "OTHER" else c for c in change]
    task = [] if "--task" in change else ["--task", str(setup["task"])]
    before = _snapshot(setup[scope])
    assert prune([*setup["base"], *task, "--layers", layers, "--out", str(setup[scope]), *change]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and named in err, err
    assert _snapshot(setup[scope]) == before


def test_other_layers_are_refused(setup, capsys):
    assert prune([*setup["base"], "--task", str(setup["task"]), "--layers", "2-3", "--out", str(setup["ranges"])]) == 2
    assert "ranges" in capsys.readouterr().err


def test_a_curves_saved_method_is_reused_only_under_the_same_settings(tiny_llama, tmp_path):
    from headspex.experiments.whole_model import run_curves
    from headspex.records.config import CurveConfig
    from tests.helpers import tiny_task

    task = tiny_task()
    config = CurveConfig(layers=(0, 1, 2, 3), keep=(0.5,), budget=24, n_random=3, milp_time_limit=2.0,
                         methods=("proxyspex", "lasso", "single-head"))
    run_curves(tiny_llama, task, config, out=tmp_path, test_model=tiny_llama, log=lambda _: None)
    for changed, reused in ((dict(), {"proxyspex", "lasso", "single-head"}), (dict(budget=30), set()),
                            (dict(metric="margin"), set()), (dict(max_terms=100), set()),
                            (dict(seed=1), {"single-head"}),  # seedless: reused
                            (dict(proxyspex_rule="milp"), {"lasso", "single-head"})):  # only proxyspex runs the rule
        logs = []
        run_curves(tiny_llama, task, CurveConfig(**{**config.__dict__, **changed}), out=tmp_path, test_model=tiny_llama,
                   log=logs.append)
        loaded = {line.split(":")[0] for line in logs if "loaded from" in line}
        assert loaded == reused, (changed, loaded)


def test_a_resumed_run_says_how_many_values_it_reused(setup, capsys):
    assert prune([*setup["base"], "--task", str(setup["task"]), "--layers", "1-2", "--out", str(setup["ranges"])]) == 0
    out = capsys.readouterr().out
    assert "stored mask values are reused" in out and "train-float32" in out
    resumed = [line.split(":")[0] for line in out.splitlines() if line.startswith("resuming ")]
    assert len(resumed) == len(set(resumed)), resumed  # each store is announced once (the test store is shared)


def test_a_run_recorded_before_the_rule_was_a_setting_resumes_only_under_its_legacy_rule(setup, capsys, tmp_path):
    """An --out whose settings predate ``proxyspex_rule`` ran "proxyspex" as the proxy's optimum: a rerun under
    the default rule (robust) is refused naming the setting; under ``--proxyspex-rule milp`` it resumes."""
    import json
    import shutil

    old = tmp_path / "old"
    shutil.copytree(setup["ranges"], old)
    config = json.loads((old / "config.json").read_text())
    del config["settings"]["config"]["proxyspex_rule"]
    (old / "config.json").write_text(json.dumps(config))
    run = [*setup["base"], "--task", str(setup["task"]), "--layers", "1-2", "--out", str(old)]
    assert prune(run) == 2
    assert "proxyspex_rule" in capsys.readouterr().err
    assert prune([*run, "--proxyspex-rule", "milp"]) == 0


def test_the_rule_is_no_setting_of_a_run_without_the_method_proxyspex(setup, tmp_path):
    """Only ``proxyspex`` runs the configured rule, so a run of other methods resumes under any rule."""
    run = [*setup["base"], "--methods", "proxyspex-verify,lasso", "--task", str(setup["task"]), "--layers", "1-2",
           "--out", str(tmp_path / "rules")]
    assert prune(run) == 0
    assert prune([*run, "--proxyspex-rule", "milp"]) == 0
