"""The interactive report.html: built from hand-made results (no model), self-contained and offline; it opens on
the verdict (sentences, accuracy table, trust warnings, significance counts, pilot), head labels are 1-based."""

from __future__ import annotations

import re
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from headspex.records.config import StudyConfig  # noqa: E402
from headspex.records.energy import EnergyShares  # noqa: E402
from headspex.records.range_run import RangeRun  # noqa: E402
from headspex.records.stats import Interval  # noqa: E402
from headspex.records.study_result import StudyResult  # noqa: E402
from headspex.reporting.html import write_html  # noqa: E402
from headspex.selection.select import Selection  # noqa: E402

KEEP = (0.5, 0.83)
METHODS = ("proxyspex", "lasso", "best-of-n")
# heatmap, network, higher-order, energy, accuracy, pilot, selections, predicted vs true, evaluations
FIGURES_PER_RANGE = 9


def _energy(rng: np.random.Generator) -> EnergyShares:
    def table() -> dict:
        shares = rng.dirichlet([6, 2, 2]) * 100
        return {n: Interval(float(s), float(s) - 3, float(s) + 3, 0.95, 8)
                for n, s in zip(("linear", "within_layer", "across_layer"), shares)}

    return EnergyShares(table(), table(), 8, rng.random((8, 3)) * 100, rng.random((8, 3)) * 100)


def _interactions(players: list, rng: np.random.Generator, n: int = 12) -> pd.DataFrame:
    rows = []
    for i in range(n):
        order = 2 if i < n * 2 // 3 else 3
        idx = rng.choice(len(players), size=order, replace=False)
        rows.append(dict(members=" ".join(f"L{players[j][0]}H{players[j][1]}" for j in idx), order=order,
                         value=float(rng.normal(scale=0.1)), within_layer=len({players[j][0] for j in idx}) == 1))
    return pd.DataFrame(rows)


def _range(layers: tuple, n_heads: int, rng: np.random.Generator, n_interactions: int, n_test: int = 20) -> RangeRun:
    players = [(layer, head) for layer in layers for head in range(n_heads)]
    n = len(players)
    heads = pd.DataFrame({"player": np.arange(n), "label": [f"L{a}H{b}" for a, b in players],
                          "layer": [p[0] for p in players], "head": [p[1] for p in players],
                          "shapley": rng.normal(scale=0.2, size=n), "banzhaf": rng.normal(scale=0.2, size=n),
                          "interaction_involvement": rng.random(n)})
    keep_k = {keep: max(1, round(keep * n)) for keep in KEEP}
    run = RangeRun(layers=tuple(layers), players=players, keep_k=keep_k,
                   proxy_summary={"cv_r2": 0.71, "params": {"depth": 3, "n_trees": 200}, "max_train_value": -0.2},
                   heads=heads,
                   energy=_energy(rng), top_interactions=_interactions(players, rng, n_interactions),
                   evaluations={"proxyspex": 400, "lasso": 400, "best-of-n": 400, "random": 0})
    for keep, k in keep_k.items():
        run.random[keep] = {"accuracy": rng.uniform(0.3, 0.7, 6), "logprob": rng.normal(-2, 0.3, 6)}
        for method in METHODS:
            mask = np.zeros(n, dtype=np.uint8)
            mask[rng.choice(n, size=k, replace=False)] = 1
            run.selections[(keep, method)] = Selection(mask, k, "milp-optimal" if method == "proxyspex" else "top-k",
                                                       objective=float(rng.normal(-1.5, 0.2)))  # < max_train_value
            run.test[(keep, method)] = {"accuracy": (rng.random(n_test) < 0.6 + 0.2 * keep).astype(float),
                                        "logprob": rng.normal(-1.5, 0.4, n_test)}
            run.train[(keep, method)] = {"accuracy": 0.7, "logprob": float(rng.normal(-1.5, 0.2)), "margin": 0.1}
    run.heldout = {name: {"r2": 0.6, "predicted": rng.normal(-2, 0.5, 10), "true": rng.normal(-2, 0.5, 10)}
                   for name in ("uniform", *KEEP)}
    return run


def synthetic_results(n_layers_per_range: int = 2, n_heads: int = 3, n_ranges: int = 2, seeds=(0, 1),
                      n_interactions: int = 12) -> list:
    """One StudyResult per seed, ranges of ``n_layers_per_range`` layers x ``n_heads`` heads."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        ranges = [_range(tuple(range(i * 4, i * 4 + n_layers_per_range)), n_heads, rng, n_interactions)
                  for i in range(n_ranges)]
        clean = {"train": {"accuracy": 0.8, "logprob": -0.3}, "test": {"accuracy": 0.85}, "test_per_question": {}}
        config = StudyConfig(ranges=tuple(r.layers for r in ranges), keep=KEEP, seed=seed, budget=400,
                             methods=(*METHODS, "random"))
        out.append(StudyResult(config=config, clean=clean, ranges=ranges, seconds=12.0))
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "report.html"
    written = write_html(synthetic_results(), path, title="Head pruning study: tiny on synthetic",
                         config={"study": {"keep": list(KEEP), "metric": "logprob"}, "commit": "abc123+dirty"})
    assert written == path and path.is_file()
    return path.read_text(encoding="utf-8")


def test_plotly_js_is_inlined_once_and_nothing_is_loaded_from_a_network(report):
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    assert report.count(js) == 1, "plotly.js must be inlined exactly once"
    page = report.replace(js, "")
    assert "cdn.plot.ly" not in page and "mathjax" not in page.lower()
    assert not re.search(r"<script[^>]*\bsrc=", page), "no external scripts"
    assert not re.search(r"<link[^>]*\bhref=", page), "no external style sheets or fonts"
    assert "fonts.googleapis" not in page and "@import" not in page


def test_one_plot_div_per_figure_and_titles(report):
    divs = re.findall(r'<div id="(fig-\d+)" class="plotly-graph-div"', report)
    assert len(divs) == len(set(divs)) == 2 * FIGURES_PER_RANGE
    assert report.count("Plotly.newPlot") == len(divs)
    for text in ("Head pruning study: tiny on synthetic", "Shapley value per head, layers 1-2",
                 "Top pairwise interactions, layers 5-6", "Largest higher-order interactions",
                 "Spectral energy shares", "Test accuracy vs heads kept", "Pilot: accuracy lost by random masks",
                 "Heads kept (green) by each method", "Proxy prediction vs true value",
                 "Model evaluations per method", "abc123+dirty"):
        assert text in report, text
    assert re.search(r"\"displaylogo\": ?false", report)


def test_missing_pieces_become_notes_not_errors(tmp_path):
    results = synthetic_results(n_ranges=1, seeds=(0,))
    run = results[0].ranges[0]
    run.top_interactions, run.energy = None, None
    text = write_html(results, tmp_path / "r.html", title="t").read_text(encoding="utf-8")
    assert "No pairwise interaction" in text and "energy shares were not computed" in text
    assert "(not recorded" in text  # no commit without config.json's record
    assert len(re.findall(r'class="plotly-graph-div"', text)) == FIGURES_PER_RANGE - 3


def _first_figure(page: str) -> int:
    return page.index('class="plotly-graph-div"')


def test_the_page_opens_on_the_verdict_before_any_figure(report):
    start = report.index('<section id="verdict">')
    first = _first_figure(report)
    for piece in ("ProxySPEX is significantly better than LASSO in", "paired bootstrap 95% CI", 'id="accuracy-table"',
                  'id="trust-warnings"', 'id="significance-counts"', 'id="pilot-table"', "unpruned"):
        assert start < report.index(piece) < first, piece
    assert report.index('<section id="verdict">') < report.index('<section class="range"')


def test_every_head_label_shown_is_1_based(report):
    # ranges hold layer indices 0-1 and 4-5: users read layers 1-2 and 5-6, never L0H* or L4H*
    assert "L1H" in report and "L2H" in report and "L5H" in report and "L6H" in report
    assert "L0H" not in report and "L4H" not in report


def test_evaluations_chart_draws_no_random_or_total_bar(tmp_path):
    results = synthetic_results(n_ranges=1, seeds=(0,))
    results[0].ranges[0].evaluations["selection_total"] = 1200
    text = write_html(results, tmp_path / "r.html", title="t").read_text(encoding="utf-8")
    assert "selection_total" not in text and "random (not drawn): no training evaluations" in text


def test_the_network_draws_the_top_15_pairs_and_a_slider_for_more():
    from headspex.reporting.html.network import controls, network, pairs

    run = synthetic_results(n_layers_per_range=3, n_heads=8, n_ranges=1, seeds=(0,), n_interactions=60)[0].ranges[0]
    fig = network(run, "1-3")
    edges = [t for t in fig.data if t.meta is not None]
    assert len(edges) == len(pairs(run.top_interactions)) > 15
    assert [bool(t.visible) for t in edges] == [i < 15 for i in range(len(edges))]
    sizes = [abs(p[2]) for p in pairs(run.top_interactions)]
    assert sizes == sorted(sizes, reverse=True)
    assert f'max="{len(edges)}" value="15"' in controls("fig-1", len(edges))


def test_write_outputs_opens_report_md_on_the_verdict_and_writes_1_based_csvs(tmp_path):
    from headspex.reporting.study_report import write_outputs

    write_outputs(synthetic_results(), tmp_path, model_name="tiny", task_name="synthetic")
    md = (tmp_path / "report.md").read_text()
    order = [md.index(h) for h in ("## Verdict", "## Test accuracy", "## Trust warnings",
                                   "## ProxySPEX minus each baseline", "## Pilot", "## Figures and details", "![")]
    assert order == sorted(order)
    assert "ProxySPEX is significantly better than LASSO in" in md
    heads = pd.read_csv(tmp_path / "heads_layers-5-6.csv")
    assert set(heads["layer_1based"]) == {5, 6} and heads["label"].str.match(r"L[56]H\d+$").all()
    top = pd.read_csv(tmp_path / "interactions_layers-1-2.csv")
    assert {"members", "order", "value", "sign", "kind"} <= set(top.columns)
    assert top["members"].str.fullmatch(r"(L[12]H\d+ ?)+").all()


def test_tables_and_figures_name_proxyspex_with_its_rule(tmp_path):
    from headspex.reporting.study_report import write_outputs

    results = synthetic_results()
    rule = results[0].config.proxyspex_rule
    write_outputs(results, tmp_path, model_name="tiny", task_name="synthetic")
    md = (tmp_path / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| layers"))
    assert f"proxyspex ({rule})" in header and "| proxyspex |" not in header
    page = (tmp_path / "report.html").read_text()
    assert f'"name":"proxyspex ({rule})"' in page.replace(": ", ":") and '"name":"proxyspex"' not in page.replace(": ", ":")
