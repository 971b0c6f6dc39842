"""The documentation says what the code does: the option table of the usage page (docs/usage.md) against the
parser, well-formed tables in README, the manual and the committed reports, every stored result named with the
rule it ran, and notebooks committed executed, with pictures and a conclusion."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
USAGE = DOCS / "usage.md"  # the page that holds the option table
# Controls of the robust rule, documented in the --methods row ahead of their registration (issue 32's branch).
DOCUMENTED_AHEAD = {"lasso-verify", "proxyspex-additive"}
METHOD_NAME = re.compile(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)*)`")
FLAG = re.compile(r"--[a-z0-9][a-z0-9-]*")
SEPARATOR = re.compile(r"^\s*\|\s*:?-{3,}")


def _section(text: str, heading: str) -> str:
    """The text of a ``## heading`` section up to the next ``## `` heading."""
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _option_table() -> list[tuple[str, str]]:
    """(first cell, second cell) of every row of the option table under "## Options" of the usage page."""
    lines = _section(USAGE.read_text(), "## Options").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| option |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|", 1)]
        rows.append((cells[0], cells[1] if len(cells) > 1 else ""))
    return rows


def _table_flags() -> set[str]:
    return {flag for first, _ in _option_table() for flag in FLAG.findall(first)}


def _parser_flags() -> set[str]:
    from headspex.prune.cli import build_parser

    parser = build_parser()
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--") and a.dest != "help"}


def test_every_cli_flag_is_in_the_option_table():
    missing = sorted(_parser_flags() - _table_flags())
    assert not missing, f"flags of `python -m headspex.prune --help` missing from docs/usage.md's option table: {missing}"


def test_every_flag_in_the_option_table_exists():
    unknown = sorted(_table_flags() - _parser_flags())
    assert not unknown, f"docs/usage.md's option table names flags the parser does not have: {unknown}"


def _methods_row() -> str:
    return next(second for first, second in _option_table() if first.startswith("`--methods`"))


def test_the_option_table_names_every_selection_method():
    from headspex.selection import method_names

    missing = [m for m in method_names() if f"`{m}`" not in _methods_row()]
    assert not missing, f"docs/usage.md's --methods row lacks {missing}"


def test_the_methods_row_names_no_unknown_method():
    from headspex.selection import method_names

    documented = {m for m in METHOD_NAME.findall(_methods_row())}
    unknown = sorted(documented - set(method_names()) - DOCUMENTED_AHEAD)
    assert not unknown, f"docs/usage.md's --methods row names methods the registry does not have: {unknown}"
    assert DOCUMENTED_AHEAD <= documented, "the controls lasso-verify and proxyspex-additive are documented"


def test_curves_cli_has_the_same_flags():
    from headspex.prune.cli import build_parser

    curves = build_parser("python -m headspex.curves", layers="all")
    flags = {s for a in curves._actions for s in a.option_strings if s.startswith("--") and a.dest != "help"}
    assert flags == _parser_flags()
    assert curves.get_default("layers") == "all"


def test_readme_gives_the_presets_real_head_counts():
    from headspex.players import parse_layer_ranges

    ranges = parse_layer_ranges("initial,middle,final", 30, 9)  # SmolLM2: 30 layers x 9 query heads
    assert [(r[0] + 1, r[-1] + 1) for r in ranges] == [(1, 11), (10, 20), (20, 30)]
    heads = {len(r) * 9 for r in ranges}
    assert heads == {99}
    layers_row = next(second for first, second in _option_table() if first.startswith("`--layers`"))
    assert "99 heads" in layers_row and "1-11, 10-20, 20-30" in layers_row
    for page in (README, *DOCS.glob("*.md")):
        assert "~96 heads" not in page.read_text(), f"{page.name}: SmolLM2's preset ranges hold 99 heads (11 layers x 9)"
    assert "three ranges of 99 heads" in USAGE.read_text()
    assert "three ranges of 99 heads" in " ".join(README.read_text().split())


def _bad_tables(text: str) -> list[str]:
    """Markdown tables (outside code blocks) whose first row is not followed by a separator row."""
    lines, bad, in_code = text.splitlines(), [], False
    for i, line in enumerate(lines):
        if line.strip().startswith("```"):
            in_code = not in_code
        starts = line.lstrip().startswith("|") and (i == 0 or not lines[i - 1].lstrip().startswith("|"))
        if not in_code and starts and not SEPARATOR.match(lines[i + 1] if i + 1 < len(lines) else ""):
            bad.append(f"line {i + 1}: {line[:70]}")
    return bad


@pytest.mark.parametrize("path", [README, *sorted(DOCS.glob("**/*.md")), *sorted((ROOT / "results").glob("**/*.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_tables_are_well_formed(path):
    assert _bad_tables(path.read_text()) == []


def _table_cells(text: str) -> list[str]:
    """Every cell of every markdown table outside code blocks, stripped."""
    cells, in_code = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        elif not in_code and line.lstrip().startswith("|") and not SEPARATOR.match(line):
            cells += [c.strip() for c in line.strip().strip("|").split("|")]
    return cells


@pytest.mark.parametrize("path", [README, *sorted(DOCS.glob("*.md")), *sorted((ROOT / "results").glob("**/*.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_result_names_the_rule_it_ran(path):
    """One name per rule: a table row or column of results never says a bare `proxyspex` or "ProxySPEX", which has
    meant four things (robust, verify, milp, the paper's method); it says `proxyspex (robust)`, `proxyspex (verify)`,
    `proxyspex-milp`, ..."""
    bare = [c for c in _table_cells(path.read_text()) if c.strip("`* ") in ("proxyspex", "ProxySPEX")]
    assert not bare, f"{path.name}: table cells {bare} name no rule"


def test_cost_model_markdown_keeps_its_table_when_repriced():
    from benchmarks.cost_write import markdown

    stored = json.loads((ROOT / "results" / "benchmarks" / "cost_model.json").read_text())
    stored["repriced"] = {"command": "python -m benchmarks.engine --cost-model --reprice x.json",
                          "commit": "abc", "time": "now"}
    md = markdown(stored)
    assert _bad_tables(md) == []
    assert md.index("priced again") < md.index("| model |")


# --- notebooks: committed executed (full settings), pictures inline, a conclusion at the end ---

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_executed_with_a_conclusion(path):
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name}: committed without running every cell"
    assert nb["metadata"].get("headspex", {}).get("small") is False, f"{path.name}: not refreshed in full settings"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    figures = [c for c in code if "figure" in c.get("metadata", {}).get("tags", [])]
    assert figures and all(any("image/png" in o.get("data", {}) or "text/html" in o.get("data", {})
                               for o in c["outputs"]) for c in figures), f"{path.name}: a figure cell shows no image"
    for o in outputs:
        data = o.get("data", {})
        text = "".join(data.get("text/plain", "")) if "image/png" not in data else ""
        assert not re.search(r"<Figure size [^>]*>", text), f"{path.name}: a Figure repr instead of its picture"
    assert cells[-1]["cell_type"] == "markdown", f"{path.name} must end with a markdown conclusion"
    conclusion = "".join(cells[-1]["source"])
    assert "PLACEHOLDER" not in conclusion and len(conclusion) > 300
    assert "".join("".join(o.get("text", "")) for o in cells[-2].get("outputs", [])).strip(), \
        f"{path.name}: the computed conclusion cell printed nothing"
