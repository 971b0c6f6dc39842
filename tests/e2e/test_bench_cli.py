"""``python -m benchmarks.engine`` on the embedded SmolLM2: the naive loop, the HF peer and the engine agree and
every figure the issue asks for is written (timings are not asserted: the machine is shared)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def test_bench_writes_speedups_and_agreement(embedded, tmp_path):
    out = tmp_path / "bench.json"
    args = ["--task", "capitals", "--layers", "final,all", "--masks", "2", "--naive-masks", "1", "--repeats", "1", "--json", str(out)]
    done = subprocess.run([sys.executable, "-m", "benchmarks.engine", *args], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ | {"HF_HUB_OFFLINE": "1"}, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["command"].startswith("python -m benchmarks.engine") and result["commit"]
    assert [r["layers"] for r in result["ranges"]] == ["20-30", "1-30"]
    for r in result["ranges"]:
        for key in ("speedup", "speedup_vs_hf", "roofline_fraction"):
            assert r[key] > 0
        assert r["fp32_max_abs_diff"] < 1e-4 and r["hf_fp32_max_abs_diff"] < 1e-4  # three paths, one value
    assert "vs hf" in done.stdout and "share reached" in done.stdout


def test_bench_refuses_bad_counts():
    done = subprocess.run([sys.executable, "-m", "benchmarks.engine", "--masks", "2", "--naive-masks", "3"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--naive-masks" in done.stderr
