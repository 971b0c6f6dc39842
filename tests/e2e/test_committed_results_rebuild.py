"""Committed results rebuild byte-identical from their stored records (``python -m headspex.report``): one layer-range
study and one whole-model curve here (``python scripts/check_rebuild.py OUT`` does every run directory)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _script():
    spec = importlib.util.spec_from_file_location("check_rebuild", ROOT / "scripts" / "check_rebuild.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("run", ["results/smollm2-default", "results/curves/ioi"])
def test_a_committed_run_rebuilds_byte_identical(run, tmp_path):
    script = _script()
    assert Path(run) in script.run_directories()
    rebuilt = script.rebuild_copy(Path(run), tmp_path)
    tracked = [p for p in (ROOT / run).rglob("*") if p.is_file() and p.suffix in (".md", ".csv", ".json")]
    assert len(tracked) > 5
    differ = [str(p.relative_to(ROOT)) for p in tracked
              if p.read_bytes() != (rebuilt / p.relative_to(ROOT / run)).read_bytes()]
    assert not differ, f"rebuilt reports differ from the committed ones: {differ}"
