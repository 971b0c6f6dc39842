"""scripts/compare_runs.py: the refactor check finds real differences and ignores timings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "scripts" / "compare_runs.py")
compare_runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_runs)


def test_same_tables_agree_and_differences_are_named(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    table = pd.DataFrame({"method": ["lasso", "proxyspex"], "test_accuracy": [0.5, 0.75], "seconds": [1.0, 2.0]})
    table.to_csv(a / "accuracy.csv", index=False)
    table.assign(seconds=[9.0, 9.0]).to_csv(b / "accuracy.csv", index=False)
    assert compare_runs.compare_runs(a, b) == {"accuracy.csv": []}
    table.assign(test_accuracy=[0.5, 0.7]).to_csv(b / "accuracy.csv", index=False)
    pd.DataFrame({"x": [1]}).to_csv(a / "energy.csv", index=False)
    diffs = compare_runs.compare_runs(a, b)
    assert diffs["accuracy.csv"] == ["row 1, test_accuracy: 0.75 vs 0.7"]
    assert diffs["energy.csv"] == [f"only in {a}"]
    assert compare_runs.main([str(a), str(b)]) == 1
