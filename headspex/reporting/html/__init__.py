"""A self-contained interactive ``report.html`` for a study: plotly figures, plotly.js inlined once, nothing
loaded from a network (no CDN, no MathJax, no web fonts), so it opens offline from a file.

    write_html(results, out / "report.html", title="...", config=record_of_config_json)

It opens on the verdict (sentences written from the numbers, the trust warnings, the accuracy table with
intervals, the significance counts, the pilot); the figures follow, per range. Built only from stored results
(one :class:`~headspex.records.study_result.StudyResult` per seed): intervals over seeds from
:class:`~headspex.records.summary.SeedSummary`; per-head, interaction, selection and held-out figures from the
first seed (the page names it). Nothing is recomputed from a model.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence

from headspex.players import format_layer_range
from headspex.records.study_result import StudyResult, config_record
from headspex.reporting.html import diagnostics, heads, interactions, network, pruning
from headspex.reporting.html.verdict import verdict_section
from headspex.reporting.page import Page, document
from headspex.reporting.roles import range_roles, roles_html
from headspex.reporting.study_tables import study_tables
from headspex.reporting.trust_blocks import details_html

__all__ = ["write_html"]


def _range_section(page: Page, run: Any, tables: dict, clean: float, metric: str, seed: int,
                   rule: str | None = None, roles: Any = None) -> None:
    label = format_layer_range(run.layers)
    page.add(f'<section class="range" id="layers-{label}"><h2>Layers {label} '
             f'<small>({len(run.players)} heads)</small></h2><h3>Heads</h3>')
    page.figure(heads.shapley_heatmap(run, label, seed), "(no per-head values)")
    page.add(f'<h3 id="interactions-{label}">Interactions</h3>')
    network.network_block(page, run, label, seed,
                          roles=None if roles is None else range_roles(roles, run.players))
    page.figure(interactions.higher_order(run, label), "No interaction of order >= 3 among the stored top ones.")
    page.figure(interactions.energy(tables["energy"], label), "(energy shares were not computed for this range)")
    page.add("<h3>Pruning</h3>")
    page.figure(pruning.accuracy(tables["accuracy"], clean, label, rule), "(no test accuracy)")
    page.figure(pruning.pilot(tables["pilot"], label), "(no pilot)")
    page.figure(heads.selected_heads(run, label, seed, rule), "(no selections)")
    page.add("<h3>Proxy fit</h3>" + diagnostics.fit_table(tables["fit"], label))
    page.figure(diagnostics.predicted_vs_true(run, label, metric, seed), "(no held-out or selected masks with true values)")
    page.figure(diagnostics.evaluations(run, label, seed), "(no evaluation counts)")
    page.add("</section>")


def write_html(results: StudyResult | Sequence[StudyResult], path: str | Path, *, title: str,
               config: dict | None = None, tables: dict | None = None, trust_report: Any = None,
               roles: Any = None) -> Path:
    """Write the interactive report of one task's study (one result per seed) to ``path``; returns it.

    config: the run's record (``config.json``: study settings, model, versions, commit); default: the
    first seed's study configuration. tables / trust_report: the SeedSummary tables and trust checks when
    the caller has them already (:func:`~headspex.reporting.study_tables.study_tables`). roles: the run's
    ``roles.csv`` (:func:`~headspex.reporting.roles.read_roles`): a "Head roles" section, and the networks'
    heads coloured by role; None (the default) adds nothing.
    """
    results = [results] if isinstance(results, StudyResult) else list(results)
    first = results[0]
    tables, trust_report = study_tables(results, tables, trust_report)
    metric, seed = str(getattr(first.config, "metric", "value")), first.config.seed
    page = Page()
    verdict_section(page, results, tables, trust_report)
    clean = first.clean_test_accuracy
    for run in first.ranges:
        _range_section(page, run, tables, clean, metric, seed, getattr(first.config, "proxyspex_rule", None), roles)
    if roles is not None:
        page.add(roles_html(first.ranges, roles))
    page.add('<section id="trust"><h2>Trust details</h2>' + details_html(trust_report) + "</section>")
    page.add('<section id="configuration"><h2>Configuration</h2>'
             + diagnostics.config_table(config if config is not None else config_record(first.config),
                                  [r.config.seed for r in results], sum(r.seconds for r in results)) + "</section>")
    labels = [format_layer_range(r.layers) for r in first.ranges]
    nav = '<a href="#verdict">Verdict</a><a href="#trust-warnings">Trust warnings</a>'
    nav += "".join(f'<a href="#layers-{x}">Layers {x}</a>' for x in labels)
    nav += '<a href="#roles">Head roles</a>' if roles is not None else ""
    nav += '<a href="#trust">Trust details</a><a href="#configuration">Configuration</a>'
    intro = (f'<p class="note">Training value: {html.escape(metric)}. Accuracy and energy intervals are over seeds; '
             f"heads, interactions, selections and held-out masks are seed {seed}'s. Layers are 1-based as in "
             f"--layers (L1H0 is head 0 of layer 1). Hover for values; click legend entries to hide them; every "
             f"figure downloads as PNG from its toolbar; click a table's header to sort it.</p>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from headspex._io import atomic_write_text

    return atomic_write_text(path, document(title, intro, nav, page.html(), script=network.NETWORK_JS))
