"""`python -m headspex.prune` end to end on a tiny random Llama saved to disk, and its argument errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.needs_mmlu  # the tiny model answers MMLU letters, which its word vocabulary has

from headspex.prune import main

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--task", "mmlu:anatomy", "--n-train", "8", "--n-test", "8", "--budget", "24", "--best-of-n", "4",
        "--dtype", "float32", "--no-progress"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A tiny random Llama checkpoint directory (config + weights + tokenizer), no downloads."""
    from tests.conftest import tiny_llama_hf, word_tokenizer

    path = tmp_path_factory.mktemp("tiny-llama")
    tiny_llama_hf().save_pretrained(path)
    word_tokenizer().save_pretrained(path)
    return path


def test_cli_runs_end_to_end_and_writes_every_file(tiny_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["--model", str(tiny_dir), "--layers", "1-2,4", "--keep", "0.5,1", "--out", str(out), *FAST])
    assert code == 0
    for name in ("config.json", "accuracy.csv", "accuracy.md", "energy.csv", "energy.md", "report.md",
                 "shapley_heatmaps.png", "accuracy_vs_sparsity.png", "heads_layers-1-2.csv", "heads_layers-4.csv"):
        assert (out / name).is_file(), name
    acc = pd.read_csv(out / "accuracy.csv")
    assert set(acc["method"]) == {"proxyspex", "lasso", "best-of-n", "single-head", "random"}
    assert set(acc["layers"]) == {"1-2", "4"} and set(acc["keep"]) == {0.5, 1.0}
    assert (acc[acc["layers"] == "1-2"]["k"].isin([4, 8])).all()
    assert json.loads((out / "config.json").read_text())["study"]["budget"] == 24
    console = capsys.readouterr().out
    lines = console.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("test accuracy (unpruned"))
    header = lines[start + 1]
    assert [c.strip() for c in header.strip("|").split("|")][:3] == ["layers", "kept", "k"]
    assert all(m in header for m in ("proxyspex", "lasso", "best-of-n", "single-head", "random"))
    assert sum(line.startswith("| 1-2") or line.startswith("| 4 ") for line in lines[start:]) == 4


def test_rerun_with_same_out_resumes(tiny_dir, tmp_path, monkeypatch):
    from headspex.engine.evaluator import MaskEvaluator

    args = ["--model", str(tiny_dir), "--layers", "3", "--keep", "0.5", "--out", str(tmp_path), *FAST]
    assert main(args) == 0
    evaluated = []
    real = MaskEvaluator.scores
    monkeypatch.setattr(MaskEvaluator, "scores", lambda self, m: evaluated.append(len(m)) or real(self, m))
    assert main(args) == 0
    assert evaluated == []  # everything came from the store


def test_several_seeds_report_mean_and_spread(tiny_dir, tmp_path, capsys):
    args = ["--model", str(tiny_dir), "--layers", "4", "--keep", "0.5", "--methods", "proxyspex,random",
            "--seeds", "2", "--out", str(tmp_path), *FAST]
    assert main(args) == 0
    assert (tmp_path / "seed-0" / "report.md").is_file() and (tmp_path / "seed-1" / "report.md").is_file()
    spread = pd.read_csv(tmp_path / "accuracy_seeds.csv")
    assert list(spread.columns[:2]) == ["layers", "keep"] and spread["proxyspex"].str.contains("±").all()
    assert "mean ± std" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--model", "no-such-model"], "unknown model"),
     (["--task", "mmlu:no_such_subject"], "unknown task"),
     (["--layers", "3-9"], "range"),
     (["--keep", "0"], r"\(0, 1\]"),
     (["--keep", "1.5"], r"\(0, 1\]"),
     (["--budget", "3"], "budget"),
     (["--methods", "proxyspex,magic"], "unknown methods"),
     (["--seeds", "0"], "seeds")],
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
    for opt in ("--model", "--task", "--layers", "--keep", "--budget", "--ablation", "--metric", "--dtype",
                "--device", "--seed", "--out"):
        assert opt in proc.stdout
    assert "1-based" in proc.stdout and "default: 256" in proc.stdout
