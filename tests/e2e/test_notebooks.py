"""Every notebook executes top to bottom on the embedded model with small settings, as CI runs them.

Each runs in memory through ``scripts/run_notebooks.py``'s ``execute`` (``HEADSPEX_NOTEBOOK_SMALL=1``, a fresh
kernel in the notebook's folder); the committed file is never rewritten. No cell may raise, every cell tagged
``figure`` must show an image (``image/png`` or ``text/html``), and no cell may print a bare
``<Figure size ...>`` in place of its picture. ``tests/unit/test_cli_docs.py`` checks the committed outputs.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def _runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    from tasks.sources import quiz_dir

    if not (quiz_dir() / "europe").is_file():
        pytest.skip("bsdgames quiz files absent")
    runner = _runner()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    nb, seconds = runner.execute(path, small=True, timeout=900)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the committed notebook was rewritten"
    assert runner.problems(nb) == []
    figures = [c for c in nb.cells if runner.FIGURE_TAG in c.get("metadata", {}).get("tags", [])]
    assert figures, f"{path.name} has no cell tagged {runner.FIGURE_TAG!r}"
    for cell in figures:
        assert any(t in o.get("data", {}) for o in cell.outputs for t in ("image/png", "text/html")), cell.source
    assert nb.metadata["headspex"]["small"] is True
