"""The measured pair-interaction study's README is generated from its stored tables, and every number the project
README quotes from it is there."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("roles_pairs_summary", ROOT / "scripts" / "roles_pairs_summary.py")
summary = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = summary  # its dataclass looks its module up by name
spec.loader.exec_module(summary)


def test_the_committed_summary_is_what_the_tables_give():
    assert summary.markdown() == (summary.PAIRS / "README.md").read_text()


def test_the_numbers_the_readme_quotes_come_from_the_summary():
    quoted = re.search(r"<!-- pairs:start -->(.*?)<!-- pairs:end -->", (ROOT / "README.md").read_text(), re.S).group(1)
    table = (summary.PAIRS / "README.md").read_text()
    numbers = re.findall(r"[+-]?\d+\.\d+", quoted)
    assert len(numbers) >= 8
    for number in numbers:
        assert number in table, number
    assert "L17H0*L19H6" in quoted and "L17H0*L19H6" in table
