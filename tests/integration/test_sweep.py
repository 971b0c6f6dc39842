"""--budget-sweep: every method at every budget, nested training masks, validation-split rule choice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from headspex.errors import InputError
from headspex.experiments import sweep
from headspex.prune.cli import main

from tests.conftest import save_tiny_llama
from tests.helpers import write_capitals_jsonl

METHODS = "proxyspex,proxyspex-verify,lasso,best-of-n"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    model, task = save_tiny_llama(root / "m"), write_capitals_jsonl(root / "t.jsonl", n=14)
    args = ["--model", str(model), "--task", str(task), "--layers", "1-2", "--keep", "0.5,0.75", "--n-train", "4",
            "--n-test", "4", "--dtype", "float32", "--no-progress", "--methods", METHODS, "--budget-sweep", "3n,6n",
            "--seeds", "2", "--validation", "4"]
    assert main(args + ["--out", str(root / "out")]) == 0
    return root, args


def test_every_method_at_every_budget_with_validation_scores(swept):
    root, _ = swept
    out = root / "out"
    scores = pd.read_csv(out / "sweep_scores.csv")
    assert sorted(scores["budget"].unique()) == [24, 48]  # 3n and 6n of 8 heads
    assert set(scores["method"]) == set(METHODS.split(","))
    assert set(scores["seed"]) == {0, 1} and scores["question"].nunique() == 4
    assert scores["val_accuracy"].between(0, 1).all() and scores["val_logprob"].le(0).all()
    for name in ("summary", "crossover", "overview", "choice"):
        assert (out / f"sweep_{name}.csv").is_file()
    assert (out / "sweep.png").stat().st_size > 1000
    validation = out / "layers-1-2" / "validation-float32"
    assert json.loads((validation / "config.json").read_text())  # its own store, beside train and test


def test_budgets_nest_so_the_store_evaluates_each_training_mask_once(swept):
    root, _ = swept
    lines = (root / "out" / "layers-1-2" / "train-float32" / "values.jsonl").read_text().splitlines()
    masks = [json.loads(line)["mask"] for line in lines if line.strip()]
    assert len(masks) == len(set(masks))  # no mask stored twice across budgets and methods


def test_a_rerun_resumes_and_adding_validation_keeps_the_run(swept, capsys):
    root, args = swept
    assert main(args + ["--out", str(root / "out")]) == 0
    assert "stored mask values are reused" in capsys.readouterr().out


def test_the_whole_model_is_swept_as_one_game(swept):
    """--layers all with --budget-sweep sweeps the budgets over every head (it used to run the curves instead)."""
    root, args = swept
    cut = args.index("--validation")
    whole = ["all" if a == "1-2" else a for a in args[:cut] + args[cut + 2:]]
    assert main(whole + ["--out", str(root / "whole")]) == 0
    scores = pd.read_csv(root / "whole" / "sweep_scores.csv")
    assert sorted(scores["budget"].unique()) == [48, 96]  # 3n and 6n of the model's 16 heads
    assert set(scores["layers"]) == {"1-4"} and not (root / "whole" / "seed-0").exists()


def test_validation_without_a_sweep_is_refused(swept):
    root, args = swept
    plain = [a for a in args if a not in ("--budget-sweep", "3n,6n")]
    with pytest.raises(InputError, match="--budget-sweep"):
        main(plain + ["--out", str(root / "other"), "--debug"])


def test_the_choice_reads_validation_never_test():
    rows = []
    for method, val, test in (("proxyspex", 0.9, 0.1), ("proxyspex-verify", 0.5, 0.99), ("lasso", 0.95, 0.5)):
        for q in range(3):
            rows.append(dict(layers="1-2", budget=8, keep=0.5, method=method, seed=0, question=q, accuracy=test,
                             val_accuracy=val, val_logprob=-1.0))
    choice = sweep.choose_rule(pd.DataFrame(rows))
    assert choice.loc[choice["chosen"], "method"].tolist() == ["proxyspex"]  # best proxyspex rule on validation
    assert choice["method"].iloc[0] == "lasso"  # the table ranks every method; only rules can be chosen
    no_val = pd.DataFrame(rows).assign(val_accuracy=np.nan)
    assert sweep.choose_rule(no_val).empty


def test_crossover_is_the_first_significant_budget():
    summary = pd.DataFrame([
        dict(layers="1-2", keep=0.5, method="proxyspex", budget=b, minus_lasso_low=low, minus_lasso_high=low + 0.1,
             **{"minus_best-of-n_low": -0.2, "minus_best-of-n_high": -0.1})
        for b, low in ((10, -0.05), (20, 0.01), (40, 0.03))])
    row = sweep.crossover(summary).set_index("baseline")
    assert row.loc["lasso", "first_significant_budget"] == 20 and row.loc["lasso", "budgets_better"] == 2
    assert np.isnan(row.loc["best-of-n", "first_significant_budget"]) and row.loc["best-of-n", "budgets_worse"] == 3


def test_budget_parsing():
    assert sweep.parse_budgets("1n,2n,0.5n", 10) == [5, 10, 20]
    assert sweep.parse_budgets("100, 50", 10) == [50, 100]
    for bad in ("x", "0", ""):
        with pytest.raises(InputError, match="budget"):
            sweep.parse_budgets(bad, 10)
