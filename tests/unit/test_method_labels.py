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


def test_the_curve_reports_bar_charts_name_the_rule():
    from headspex.reporting.html.curve import cost_figure, prunable_figure

    prunable = pd.DataFrame({"method": ["proxyspex", "lasso"], "removable_within_1pt": [0.2, 0.1],
                             "removable_within_5pt": [0.3, 0.3]})
    cost = pd.DataFrame({"method": ["proxyspex", "lasso"], "forward_passes": [3200, 3200], "backward_passes": [0, 0]})
    for fig in (prunable_figure(prunable, "robust"), cost_figure(cost, 16, "robust")):
        assert all(list(trace.x) == ["proxyspex (robust)", "lasso"] for trace in fig.data)
