"""One name per rule: every table a user reads names ``proxyspex`` with the rule it ran; stored CSVs keep the key."""

from __future__ import annotations

import pandas as pd

from headspex.reporting.labels import label_methods, method_label


def test_method_label_names_the_rule_and_leaves_other_methods_alone():
    assert method_label("proxyspex", "robust") == "proxyspex (robust)"
    assert method_label("proxyspex", None) == "proxyspex"  # no rule recorded: nothing to name
    assert method_label("lasso", "robust") == "lasso" and method_label("proxyspex-milp", "verify") == "proxyspex-milp"


def test_label_methods_renames_rows_and_pivot_columns_without_touching_the_input():
    long = pd.DataFrame({"method": ["proxyspex", "lasso", "proxyspex-additive"], "accuracy": [0.9, 0.8, 0.7]})
    shown = label_methods(long, "verify")
    assert list(shown["method"]) == ["proxyspex (verify)", "lasso", "proxyspex-additive"]
    assert list(long["method"]) == ["proxyspex", "lasso", "proxyspex-additive"]  # the stored table is unchanged
    pivot = pd.DataFrame({"layers": ["1-11"], "proxyspex": ["0.95"], "lasso": ["0.90"]})
    assert list(label_methods(pivot, "robust").columns) == ["layers", "proxyspex (robust)", "lasso"]
    assert "proxyspex" not in label_methods(pivot, "robust").to_markdown(index=False).replace("proxyspex (robust)", "")


def test_a_curve_runs_reports_name_the_rule_in_every_table_and_bar(tmp_path):
    import re

    from headspex.reporting.curve_report import write_outputs
    from tests.unit.test_verdict_trust import _curve_result

    write_outputs([_curve_result("CV R2 0.4; best training value -0.2", objective=-0.3)], tmp_path, title="toy")
    for name in ("curves.md", "report.md"):  # the method column (a table's first) of every table
        first = [line.strip("|").split("|")[0].strip() for line in (tmp_path / name).read_text().splitlines()
                 if line.startswith("|")]
        assert "proxyspex (robust)" in first and "proxyspex" not in first, name
    page = (tmp_path / "report.html").read_text()
    assert not re.search(r"<td[^>]*>\s*proxyspex\s*</td>", page)  # the HTML tables
    # the plotly figures: bars' categories and traces' names (legendgroup is an id, not shown)
    assert '"x":["proxyspex (robust)",' in page and '"name":"proxyspex (robust)"' in page
    assert not re.search(r'"x":\[[^\]]*"proxyspex"', page) and '"name":"proxyspex"' not in page
