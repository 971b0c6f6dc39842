"""`python -m headspex.prune` end to end on a tiny random Llama saved to disk, and its argument errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from headspex.prune import main
from headspex.records import read_study_seed

pytestmark = pytest.mark.needs_mmlu  # the tiny model answers MMLU letters, which its word vocabulary has

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--task", "mmlu:anatomy", "--n-train", "8", "--n-test", "8", "--budget", "24", "--best-of-n", "8",
        "--n-random", "6", "--n-heldout", "4", "--energy-boot", "2", "--dtype", "float32", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A tiny random Llama checkpoint directory (config + weights + tokenizer), no downloads."""
    from tests.conftest import save_tiny_llama

    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def test_cli_runs_end_to_end_and_writes_every_file(tiny_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["--model", str(tiny_dir), "--layers", "1-2,4", "--keep", "0.5,1", "--out", str(out), *FAST])
    assert code == 0
    for name in ("config.json", "accuracy.csv", "accuracy.md", "energy.csv", "pilot.csv", "fit.csv", "significance.csv",
                 "significance_counts.csv", "report.md", "shapley_heatmaps.png", "accuracy_vs_sparsity.png",
                 "heads_layers-1-2.csv", "heads_layers-4.csv", "interactions_layers-1-2.csv", "seed-0/record.json"):
        assert (out / name).is_file(), name
    acc = pd.read_csv(out / "accuracy.csv")
    assert set(acc["method"]) == {"proxyspex", "lasso", "best-of-n", "single-head", "random"}
    assert set(acc["layers"]) == {"1-2", "4"} and set(acc["keep"]) == {0.5, 1.0}
    assert (acc[acc["layers"] == "1-2"]["k"].isin([4, 8])).all()
    evals = acc.groupby("method")["evaluations"].first()  # --best-of-n 8 in all, split over the two levels
    assert evals["best-of-n"] == 8 and evals["proxyspex"] == 24 and evals["single-head"] in (4, 8)
    assert acc.loc[acc["method"] == "random", "how"].str.contains("mean of 6 masks").all()
    sig = pd.read_csv(out / "significance.csv")
    assert set(sig["baseline"]) == {"lasso", "best-of-n", "single-head"} and set(sig["metric"]) == {"accuracy", "logprob"}
    assert ((sig["low"] <= sig["estimate"]) & (sig["estimate"] <= sig["high"])).all()
    config = json.loads((out / "config.json").read_text())
    assert config["study"]["budget"] == 24 and config["study"]["sampling"] == "matched" and config["study"]["refine"]
    assert config["commit"] and config["versions"]["catboost"] and config["proxy_search"]["depths"]
    energy = pd.read_csv(out / "energy.csv")
    assert set(energy["spectrum"]) == {"raw", "refined"}
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("| layers"))
    assert [c.strip() for c in header.strip("|").split("|")][:3] == ["layers", "kept", "k"]


def test_rerun_rebuilds_without_new_model_work(tiny_dir, tmp_path, monkeypatch):
    from headspex.engine.evaluator import MaskEvaluator
    from headspex.report import rebuild

    args = ["--model", str(tiny_dir), "--layers", "3", "--keep", "0.5", "--out", str(tmp_path), *FAST]
    assert main(args) == 0
    before = pd.read_csv(tmp_path / "accuracy.csv")
    evaluated = []
    real = MaskEvaluator.scores
    monkeypatch.setattr(MaskEvaluator, "scores", lambda self, m: evaluated.append(len(m)) or real(self, m))
    assert main(args) == 0
    assert evaluated == []  # every mean score came from the stores
    (tmp_path / "accuracy.csv").unlink()
    rebuild(tmp_path)  # the report from stored results alone
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "accuracy.csv"), before)


def test_several_seeds_give_intervals_with_the_split_fixed(tiny_dir, tmp_path):
    args = ["--model", str(tiny_dir), "--layers", "4", "--keep", "0.5", "--methods", "proxyspex,lasso,random",
            "--seeds", "2", "--out", str(tmp_path), *FAST]
    assert main(args) == 0
    acc = pd.read_csv(tmp_path / "accuracy.csv")
    assert (acc["n_seeds"] == 2).all() and (acc["low"] <= acc["high"]).all()

    seeds = [read_study_seed(tmp_path / f"seed-{s}") for s in (0, 1)]
    assert [r.config.seed for r in seeds] == [0, 1]
    assert seeds[0].clean == seeds[1].clean  # same split, same unpruned scores


def test_second_run_on_the_same_out_stops_naming_the_first(tiny_dir, tmp_path):
    args = ["--model", str(tiny_dir), "--layers", "1-4", "--keep", "0.5", "--out", str(tmp_path), *FAST,
            "--budget", "400"]
    first = subprocess.Popen([sys.executable, "-m", "headspex.prune", *args], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until the first run holds the lock
            if (tmp_path / ".lock").is_file() and str(first.pid) in (tmp_path / ".lock").read_text():
                break
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "headspex.prune", *args], cwd=ROOT, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 2 and f"in use by process {first.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        first.kill()
        first.wait()


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--model", "no-such-model"], "unknown model"),
     (["--task", "mmlu:no_such_subject"], "unknown task"),
     (["--layers", "3-9"], "range"),
     (["--keep", "0"], r"\(0, 1\]"),
     (["--keep", "1.5"], r"\(0, 1\]"),
     (["--budget", "3"], "budget"),
     (["--methods", "proxyspex,magic"], "unknown or no methods"),
     (["--seeds", "0"], "seeds"),
     (["--n-random", "0"], "n-random"),
     (["--n-shots", "9", "--exemplars", "shared"], "n_shots=9 needs at least 9 train questions")],
)
def test_bad_arguments_give_one_line_and_exit_2(tiny_dir, tmp_path, capsys, extra, message):
    base = ["--model", str(tiny_dir), "--out", str(tmp_path), *FAST]
    assert main(base + extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert pytest.importorskip("re").search(message, err), err


def test_help_documents_every_option_with_defaults():
    proc = subprocess.run([sys.executable, "-m", "headspex.prune", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    for opt in ("--model", "--task", "--layers", "--keep", "--budget", "--sampling", "--refine", "--n-random",
                "--ablation", "--metric", "--dtype", "--test-dtype", "--device", "--seed", "--seeds", "--out", "--wait",
                "--n-shots", "--exemplars"):
        assert opt in proc.stdout
    text = pytest.importorskip("re").sub(r"-\s+", "-", " ".join(proc.stdout.split()))  # undo argparse's wrapping
    assert "1-based" in text and "default: 120" in text and "ceil(96 / heads per layer)" in text
