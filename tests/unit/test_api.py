"""The public API: curated, lazy, and every old import path still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import headspex

ROOT = Path(__file__).resolve().parents[2]


def test_every_exported_name_resolves_and_none_is_internal():
    for name in headspex.__all__:
        assert getattr(headspex, name) is not None, name
        assert not name.startswith("_")
    for pipeline in ("MaskGame", "Proxy", "select_heads", "Selection", "run_study", "StudyConfig", "write_outputs"):
        assert pipeline in headspex.__all__
    assert "unique_rows" not in headspex.__all__ and headspex.unique_rows  # legacy name still importable
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        headspex.nope  # noqa: B018


def test_import_loads_no_torch_and_no_catboost():
    code = "import sys, headspex, headspex.engine, headspex.spectrum, headspex.prune, headspex.curves; " \
           "print(sorted(m for m in ('torch', 'catboost', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("old, new", [
    ("headspex.proxy", "headspex.spectrum.proxy"), ("headspex.study", "headspex.prune.study"),
    ("headspex.select", "headspex.prune.select"), ("headspex.store", "headspex.engine.store"),
    ("headspex.attributions", "headspex.spectrum.attributions"), ("headspex.tree_spectrum", "headspex.spectrum.tree"),
    ("headspex.report", "headspex.prune.report"), ("headspex.models", "headspex.engine.models"),
])
def test_old_module_paths_are_the_new_modules(old, new):
    import importlib

    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_names_from_old_paths():
    from headspex.engine import evaluate_masks
    from headspex.proxy import fit_proxy
    from headspex.spectrum import FourierSpectrum
    from headspex.study import StudyConfig, run_study

    assert callable(fit_proxy) and callable(run_study) and callable(evaluate_masks)
    assert StudyConfig.__module__ == "headspex.prune.study" and FourierSpectrum.__module__ == "headspex.spectrum.fourier"


def test_cli_module_still_runs():
    out = subprocess.run([sys.executable, "-m", "headspex.prune", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "--layers" in out.stdout and "--wait" in out.stdout
