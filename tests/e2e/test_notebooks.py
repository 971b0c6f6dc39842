"""Both notebooks execute top to bottom on the embedded model (small settings), as users run them."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    from tasks.sources import quiz_dir

    if not (quiz_dir() / "europe").is_file():
        pytest.skip("bsdgames quiz files absent")
    monkeypatch.setenv("HEADSPEX_NOTEBOOK_SMALL", "1")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
