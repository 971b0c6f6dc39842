"""``python -m headspex.curves`` on the embedded SmolLM2: whole-model curves, resume, export, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.embedded
SMALL = ["--task", "facts", "--n-train", "6", "--n-test", "12", "--budget", "30", "--n-random", "4",
         "--keep", "0.4,0.8", "--methods", "proxyspex,lasso,gradient,attribution-patching,best-of-n",
         "--no-progress"]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "headspex.curves", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_whole_model_curve_resumes_and_exports(embedded, tmp_path):
    out, ckpt = tmp_path / "curve", tmp_path / "pruned"
    first = _run(*SMALL, "--out", str(out))
    assert first.returncode == 0, first.stderr[-2000:]
    for name in ("curve.csv", "auc.csv", "prunable.csv", "cost.csv", "curves.md", "curve.png", "seed-0/record.json"):
        assert (out / name).is_file(), name
    curve = pd.read_csv(out / "curve.csv")
    assert set(curve.method) == {"proxyspex", "lasso", "gradient", "attribution-patching", "best-of-n", "random"}
    assert sorted(curve.k.unique()) == [108, 216]  # 40% and 80% of 270 heads
    config = json.loads((out / "config.json").read_text())
    assert config["curve"]["layers"] == list(range(30)) and config["commit"]
    again = _run(*SMALL, "--out", str(out), "--export", str(ckpt), "--export-keep", "0.8")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "loaded from" in again.stdout
    report = json.loads((out / "export.json").read_text())
    assert report["max_abs_logit_diff"] <= 2e-3  # float32 rounding; float64 agrees to 1e-5 (test_export_embedded)
    assert report["accuracy_pruned"] == report["accuracy_masked"]
    assert report["parameters_pruned"] < report["parameters_unpruned"]
    assert (ckpt / "config.json").is_file()


def test_bad_layers_get_one_clear_error(tmp_path):
    res = _run("--layers", "1-3,5-7", "--out", str(tmp_path / "x"), "--no-progress")
    assert res.returncode == 2
    assert "one game" in res.stderr and "Traceback" not in res.stderr
