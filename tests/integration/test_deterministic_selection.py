"""Selections do not depend on the machine's load: nothing stops on the wall clock by default. The MILP and the
swap search give the same picks when the clock races (a stand-in for a slow, loaded machine), and a tiny study run
twice, once beside a CPU burner, writes identical selections and tables."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from headspex.prune.cli import main as prune
from headspex.selection import select
from headspex.spectrum.synthetic import planted_game
from tests.conftest import save_tiny_llama
from tests.helpers import write_capitals_jsonl


def _picks(spectrum, ks):
    moebius = spectrum.to_moebius()
    return [select.proxy_optimum(moebius, k).mask.tolist() for k in ks] + \
           [select.select_heads_greedy_swap(spectrum, k).mask.tolist() for k in ks]


def test_a_racing_clock_changes_no_selection(monkeypatch):
    spectrum = planted_game(40, n_terms=60, max_order=3, seed=5).spectrum
    ks = [10, 20, 30]
    calm = _picks(spectrum, ks)
    ticks = itertools.count()
    monkeypatch.setattr(select.time, "perf_counter", lambda: 3600.0 * next(ticks))  # an hour per call
    assert _picks(spectrum, ks) == calm


FAST = ["--layers", "1-2", "--keep", "0.5,0.75", "--budget", "40", "--best-of-n", "6", "--n-random", "4",
        "--n-heldout", "3", "--energy-boot", "2", "--dtype", "float32", "--n-train", "4", "--n-test", "4",
        "--no-progress", "--methods", "proxyspex,proxyspex-milp,proxyspex-verify,lasso-verify,proxyspex-additive,lasso"]


def test_a_study_under_a_cpu_burner_picks_the_same_heads(tmp_path):
    save_tiny_llama(tmp_path / "model")
    task = write_capitals_jsonl(tmp_path / "caps.jsonl", ("The capital of", "Which is the capital of"), n=20)
    base = ["--model", str(tmp_path / "model"), "--task", str(task), *FAST]
    assert prune([*base, "--out", str(tmp_path / "idle")]) == 0
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        assert prune([*base, "--out", str(tmp_path / "loaded")]) == 0
    finally:
        burner.kill()
    for name in ("accuracy.csv", "significance.csv"):
        a, b = pd.read_csv(tmp_path / "idle" / name), pd.read_csv(tmp_path / "loaded" / name)
        pd.testing.assert_frame_equal(a.drop(columns=[c for c in a if "second" in c]),
                                      b.drop(columns=[c for c in b if "second" in c]))
    picks = [pd.read_csv(tmp_path / run / "seed-0" / "selections.csv").drop(columns=["seconds"]) for run in ("idle", "loaded")]
    pd.testing.assert_frame_equal(*picks)
    masks = [np.load(tmp_path / run / "seed-0" / "masks.npz") for run in ("idle", "loaded")]
    assert sorted(masks[0].files) == sorted(masks[1].files)
    for key in masks[0].files:
        assert np.array_equal(masks[0][key], masks[1][key]), key
