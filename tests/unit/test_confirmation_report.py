"""The confirmation study's analysis (scripts/confirmation_report.py), written before its results: Holm counts per
hypothesis on planted per-question scores, and the plan's wording rules in every branch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "confirmation_report.py"
spec = importlib.util.spec_from_file_location("confirmation_report", SCRIPT)
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)

METHODS = ("proxyspex", "lasso", "lasso-verify", "proxyspex-additive", "best-of-n")


def _write_task(study: Path, task: str, better_than: dict[str, float], n_q: int = 200, seeds: int = 5) -> None:
    """scores.csv per seed: 3 ranges x 3 levels; proxyspex right on a share of questions the others miss."""
    rng = np.random.default_rng(len(task))
    for seed in range(seeds):
        rows = []
        for layers in ("1-11", "10-20", "20-30"):
            for level in (0.5, 0.66, 0.83):
                base = (rng.random(n_q) < 0.5).astype(float)
                for method in METHODS:
                    acc = base.copy()
                    if method != "proxyspex":
                        flip = np.arange(n_q) < int(better_than.get(method, 0.0) * n_q)
                        acc[flip] = 0.0  # the other method misses these; proxyspex has them right
                    if method == "proxyspex":
                        acc[: int(max(better_than.values(), default=0) * n_q)] = 1.0
                    rows += [dict(seed=seed, range=layers, level=level, k=1, method=method, question=q,
                                  accuracy=a, logprob=-a) for q, a in enumerate(acc)]
        d = study / f"ranges-{task}" / f"seed-{100 + seed}"
        d.mkdir(parents=True)
        pd.DataFrame(rows).to_csv(d / "scores.csv", index=False)


def test_planted_gains_are_counted_per_hypothesis_with_holm(tmp_path):
    for task in report.RANGE_TASKS:
        _write_task(tmp_path, task, {"lasso": 0.3, "best-of-n": 0.3})
    cells = report.range_cells(tmp_path)
    assert len(cells) == 27 * 4
    by = {h: report.counts(g["holm_sign"]) for h, g in cells.groupby("hypothesis")}
    assert by["H1"] == (27, 0) and by["H4"] == (27, 0)  # planted: robust right on 30% more questions everywhere
    assert by["H2"][1] == 0 and by["H3"][1] == 0
    text = report.markdown(tmp_path, cells, report.whole_model(tmp_path))
    assert text.startswith("# Confirmation study: INCOMPLETE, no verdict")  # no whole-model runs: no verdict
    assert "| H1 | `lasso` | 27 / 0 / 0 |" in text


def test_a_missing_task_gives_no_verdict(tmp_path):
    _write_task(tmp_path, "ioi", {"lasso": 0.3})
    cells = report.range_cells(tmp_path)
    text = report.markdown(tmp_path, cells, pd.DataFrame())
    assert "INCOMPLETE" in text and "Missing: ranges for induction, mmlu-miscellaneous" in text
    assert "## Verdict" not in text


def _cells(holm: dict[str, tuple[int, int]]) -> pd.DataFrame:
    rows = []
    for h, (better, worse) in holm.items():
        signs = [1] * better + [-1] * worse + [0] * (27 - better - worse)
        rows += [dict(hypothesis=h, holm_sign=s) for s in signs]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("h2, h3, sentence", [
    ((5, 0), (5, 0), "the trees' interactions do the work"),
    ((0, 0), (5, 0), "checking candidates on true values does the work"),
    ((5, 0), (0, 3), "the trees help, but not through their interactions"),
    ((1, 1), (0, 0), "neither the interactions nor the trees add anything measurable"),
])
def test_the_plans_wording_rules(h2, h3, sentence):
    lines = report.verdict(_cells({"H1": (4, 1), "H2": h2, "H3": h3, "H4": (0, 2)}), pd.DataFrame())
    assert lines[0] == "robust ProxySPEX beats LASSO in 4 of 27 cells and loses in 1 (Holm)"
    assert lines[1].startswith(sentence)
    assert lines[2] == "robust ProxySPEX does not beat Best-of-N on SmolLM2 (Holm: 0 better, 2 worse of 27)"


def test_no_gain_over_lasso_is_said_plainly_and_the_default_question_reopens():
    cells = _cells({"H1": (2, 2), "H2": (0, 0), "H3": (0, 0), "H4": (0, 0)})
    assert report.verdict(cells, pd.DataFrame())[0] == ("robust ProxySPEX does not beat LASSO on SmolLM2 "
                                                      "(Holm: 2 better, 2 worse of 27)")
    assert report.default_rule(cells).startswith("ProxySPEX's default rule did not confirm")


@pytest.mark.parametrize("induction_seeds", [4, 5])
def test_a_verdict_needs_every_planned_seed(tmp_path, induction_seeds):
    """Every task present: with one run short of the plan's seeds the report is incomplete and says which; with
    all of them it gives the verdict."""
    for task in report.RANGE_TASKS:
        _write_task(tmp_path, task, {"lasso": 0.3}, seeds=5 if task != "induction" else induction_seeds)
    for task in report.WHOLE_TASKS:
        for seed in report.WHOLE_SEEDS:
            (tmp_path / f"whole-{task}" / f"seed-{seed}").mkdir(parents=True)
            (tmp_path / f"whole-{task}" / f"seed-{seed}" / "record.json").write_text("{}")
    whole = pd.DataFrame([dict(task=t, estimate=0.0, low=-0.01, high=0.01, p=0.5, holm_sign=0)
                          for t in report.WHOLE_TASKS])
    text = report.markdown(tmp_path, report.range_cells(tmp_path), whole)
    if induction_seeds == 5:
        assert report.seeds_short(tmp_path) == [] and "## Verdict (the plan's wording)" in text
        return
    assert report.seeds_short(tmp_path) == ["ranges-induction: 100, 101, 102, 103 of 100-104"]
    assert text.startswith("# Confirmation study: INCOMPLETE, no verdict") and "## Verdict" not in text
    assert "Seeds finished, short of the plan: ranges-induction: 100, 101, 102, 103 of 100-104." in text
