"""The registry is the one list: a rule registered in one place (here, in the test) runs from the CLI and appears
in its reports, figures and verdict with its registered title and colour; retired rules no longer run, but stored
results that name them still rebuild."""

from __future__ import annotations

from dataclasses import replace

import pytest

from headspex.errors import InputError
from headspex.prune.cli import build_parser, main as prune
from headspex.reporting.html.common import colour, ordered_methods
from headspex.reporting.verdict import name
from headspex.selection import registry
from headspex.selection.methods import METHODS, check_methods, proxy_methods, proxyspex_rules, report_order
from tests.conftest import save_tiny_llama
from tests.helpers import write_capitals_jsonl

TOY_COLOUR = "#123456"
FAST = ["--layers", "1-2", "--keep", "0.5", "--budget", "24", "--best-of-n", "6", "--n-random", "4", "--n-heldout",
        "3", "--energy-boot", "2", "--dtype", "float32", "--n-train", "4", "--n-test", "4", "--no-progress"]


@pytest.fixture
def toy_rule():
    """``proxyspex-toy``: the verify rule under another name, registered the way a new rule is (one decorator)."""

    @registry.register("proxyspex-toy", title="toy ProxySPEX", colour=TOY_COLOUR, proxy=True, rule="toy",
                       help="a toy rule registered by a test")
    def _toy(ctx, ks):
        run = METHODS["proxyspex-verify"](ctx, ks)
        return replace(run, notes=f"toy: {run.notes}")

    yield "proxyspex-toy"
    for table in (registry.METHODS, registry.INFO):
        table.pop("proxyspex-toy", None)


def test_a_registered_rule_is_known_everywhere(toy_rule):
    assert "toy" in proxyspex_rules() and toy_rule in proxy_methods() and toy_rule in report_order()
    assert check_methods(f"proxyspex,{toy_rule}") == ("proxyspex", toy_rule)
    parser = build_parser()
    rule = next(a for a in parser._actions if "--proxyspex-rule" in a.option_strings)
    assert "toy" in rule.choices and "a toy rule registered by a test" in rule.help
    assert colour(toy_rule) == TOY_COLOUR and name(toy_rule) == "toy ProxySPEX"
    assert ordered_methods(["lasso", toy_rule, "proxyspex"]).index(toy_rule) > 0


@pytest.mark.slow
def test_a_registered_rule_runs_from_the_cli_into_the_reports(toy_rule, tmp_path):
    tiny = save_tiny_llama(tmp_path / "tiny")
    task = write_capitals_jsonl(tmp_path / "capitals.jsonl", ("The capital of", "Which is the capital of"))
    out = tmp_path / "out"
    assert prune(["--model", str(tiny), "--task", str(task), "--out", str(out), *FAST,
                  "--methods", f"proxyspex,{toy_rule},lasso,random", "--proxyspex-rule", "toy"]) == 0
    report = (out / "report.md").read_text()
    assert "| proxyspex (toy) |" in report.replace("   ", " ").replace("  ", " ") and f"| {toy_rule} |" in report
    assert "toy ProxySPEX in 1" in report and "ProxySPEX here is its toy rule" in report  # the verdict
    html = (out / "report.html").read_text()
    assert TOY_COLOUR in html and "proxyspex (toy)" in html


@pytest.mark.parametrize("retired", ["proxyspex-margin", "proxyspex-sequential", "proxyspex-anchored",
                                     "iterative-proxyspex"])
def test_a_retired_rule_is_refused_with_its_reason_and_still_renders(retired):
    with pytest.raises(InputError, match=f"retired methods no longer run: {retired} \\("):
        check_methods(f"proxyspex,{retired}")
    info = registry.INFO[retired]
    assert info.retired and retired not in METHODS and colour(retired) == info.colour
    assert ordered_methods([retired, "proxyspex"]) == ["proxyspex", retired]


def test_a_stored_config_that_names_a_retired_rule_reads_back():
    from pathlib import Path

    from headspex.records.format import build_config

    config = build_config("study", {"ranges": [[1, 2]], "methods": ["proxyspex", "proxyspex-margin", "lasso"]},
                          Path("record.json"))
    assert config.methods == ("proxyspex", "proxyspex-margin", "lasso")
