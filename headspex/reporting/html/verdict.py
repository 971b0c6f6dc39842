"""The study page's first section: the verdict sentences, the trust warnings, the accuracy table with
intervals (beside the unpruned model and the random baseline), the significance counts and the pilot."""

from __future__ import annotations

import html
from typing import Any, Sequence


from headspex.reporting.page import Page, sentences_html, table_html
from headspex.reporting.study_tables import accuracy_caption, n_test_questions, verdict_pivot
from headspex.reporting.trust import TrustReport
from headspex.reporting.trust_blocks import warnings_html
from headspex.reporting.verdict import study_verdict


def verdict_section(page: Page, results: Sequence[Any], tables: dict, trust: TrustReport) -> None:
    """Add the first section of the study page."""
    first = results[0]
    n_test = n_test_questions(first)
    sentences = study_verdict(results, tables, trust)
    pivot = verdict_pivot(tables["accuracy"], first.clean_test_accuracy, getattr(first.config, "proxyspex_rule", None))
    counts = tables["significance_counts"]
    pilot = tables["pilot"]
    page.add('<section id="verdict"><h2>Verdict</h2>' + sentences_html(sentences)
             + f'<h3>Test accuracy</h3><p class="note">{html.escape(accuracy_caption(results, tables))}</p>'
             + table_html(pivot, table_id="accuracy-table") + warnings_html(trust)
             + "<h3>ProxySPEX minus each baseline: significant cells</h3>"
             + f'<p class="note">Per cell, a paired bootstrap 95% CI over the {n_test} test questions of ProxySPEX '
             f"minus the baseline (per-question scores averaged over {len(results)} seed(s)): better = above 0, "
             f"worse = below 0, within noise = contains 0.</p>"
             + (table_html(counts, table_id="significance-counts") if len(counts) else '<p class="note">(none)</p>')
             + f'<h3>Pilot</h3><p class="note">Test accuracy of random k-head masks, seed {first.config.seed}; drop = '
             f"unpruned minus their mean; at ceiling when every level loses less than 5 points.</p>"
             + (table_html(pilot, table_id="pilot-table") if len(pilot) else '<p class="note">(no pilot)</p>')
             + "</section>")
