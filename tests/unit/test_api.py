"""The public API: a small curated top level, lazy, and the old flat module paths are gone."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import headspex

ROOT = Path(__file__).resolve().parents[2]

PIPELINE = ("load_model", "list_models", "LoadedModel", "MaskGame", "sample_masks", "Proxy", "FourierSpectrum",
            "MoebiusSpectrum", "head_attributions", "interaction_values", "select_heads", "Selection", "StudyConfig",
            "run_study", "CurveConfig", "run_curves", "export_pruned", "head_roles", "parse_layer_ranges",
            "player_labels", "HeadAblation", "ablate_heads", "HeadspexError")


def test_the_top_level_is_the_pipeline():
    assert sorted(headspex.__all__) == sorted(PIPELINE)
    for name in headspex.__all__:
        assert getattr(headspex, name) is not None, name
        assert not name.startswith("_")
    assert headspex.StudyConfig.__module__ == "headspex.records.config"
    assert headspex.FourierSpectrum.__module__ == "headspex.spectrum.fourier"
    assert issubclass(headspex.HeadspexError, Exception) and headspex.__version__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        headspex.nope  # noqa: B018


@pytest.mark.parametrize("name, home", [
    ("evaluate_masks", "headspex.engine"), ("ValueStore", "headspex.engine.store"),
    ("unique_rows", "headspex.engine.sampling"), ("fit_proxy", "headspex.spectrum"),
    ("write_outputs", "headspex.reporting.study_report"), ("select_top_k", "headspex.selection.select"),
    ("CurveResult", "headspex.records"), ("ExportSummary", "headspex.export.checkpoint"),
    ("layer_players", "headspex.players"), ("compute_head_means", "hooks"),
    ("pair_interactions", "headspex.roles"),
])
def test_other_names_live_in_their_sub_package_only(name, home):
    assert getattr(importlib.import_module(home), name) is not None
    assert name not in headspex.__all__
    with pytest.raises(AttributeError):
        getattr(headspex, name)


def test_import_loads_no_torch_and_no_catboost():
    code = "import sys, headspex, headspex.engine, headspex.spectrum, headspex.prune, headspex.curves, " \
           "headspex.roles; " \
           "print(sorted(m for m in ('torch', 'catboost', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("old", [
    "headspex.proxy", "headspex.study", "headspex.select", "headspex.store", "headspex.attributions",
    "headspex.tree_spectrum", "headspex.models", "headspex.evaluator", "headspex.sampling", "headspex.ray_executor",
    "headspex.bench", "headspex.bench_proxy", "headspex.bench_ray", "headspex._compat",
])
def test_old_module_paths_are_gone(old):
    sys.modules.pop(old, None)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


def test_report_is_a_module_of_its_own():
    report = importlib.import_module("headspex.report")
    assert report.__name__ == "headspex.report" and callable(report.rebuild) and callable(report.main)
    assert report is not importlib.import_module("headspex.reporting.study_report")


def test_old_benchmark_command_is_gone_and_the_new_one_runs():
    old = subprocess.run([sys.executable, "-m", "headspex.bench", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert old.returncode != 0 and "No module named headspex.bench" in old.stderr
    new = subprocess.run([sys.executable, "-m", "benchmarks.engine", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert new.returncode == 0 and "python -m benchmarks.engine" in new.stdout


def test_cli_module_still_runs():
    out = subprocess.run([sys.executable, "-m", "headspex.prune", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "--layers" in out.stdout and "--wait" in out.stdout
