"""The study page's first section: the verdict sentences, the trust warnings, the accuracy table with
intervals (beside the unpruned model and the random baseline), the significance counts and the pilot."""

from __future__ import annotations

import html
from typing import Any, Sequence

import pandas as pd

from headspex.prune.html.common import method_label, ordered_methods
from headspex.prune.seeds import SeedSummary, accuracy_pivot
from headspex.reporting.page import Page, sentences_html, table_html
from headspex.reporting.trust import TrustReport, study_checks
from headspex.reporting.trust_blocks import warnings_html
from headspex.reporting.verdict import study_sentences


def study_tables(results: Sequence[Any], tables: dict | None = None, trust: TrustReport | None = None
                 ) -> tuple[dict, TrustReport]:
    """The SeedSummary tables a report is built from (those not given are computed) and the trust checks."""
    summary, tables = SeedSummary(list(results)), dict(tables or {})
    for name in ("accuracy", "significance", "energy", "pilot", "fit"):
        if name not in tables:
            tables[name] = getattr(summary, name)()
    if "significance_counts" not in tables:
        tables["significance_counts"] = summary.significance_counts(tables["significance"]) \
            if len(tables["significance"]) else pd.DataFrame()
    return tables, trust if trust is not None else study_checks(results, tables["accuracy"])


def n_test_questions(result: Any) -> int:
    """Test questions of a study (the length of a stored per-question score vector)."""
    for run in result.ranges:
        for scores in run.test.values():
            return len(scores["accuracy"])
    per_question = result.clean.get("test_per_question", {}).get("accuracy", [])
    return len(per_question)


def accuracy_caption(results: Sequence[Any], tables: dict) -> str:
    first = results[0]
    pilot = tables["pilot"]
    n_random = int(pilot["n_masks"].iloc[0]) if len(pilot) else 0
    n = len(results)
    dtype = getattr(first.config, "test_dtype", "float32")
    return (f"Test accuracy with the heads each method keeps (of the range, only they are kept; heads outside it "
            f"are intact), "
            f"{'mean over ' + str(n) + ' seeds [95% t-interval]' if n > 1 else 'seed ' + str(first.config.seed)}; "
            f"no interval with one seed, nor where a method keeps the same heads in every seed. Unpruned model: "
            f"{first.clean_test_accuracy:.3f} ({dtype}). random: mean of {n_random} random k-head masks per level "
            f"(the pilot's).")


def verdict_sentences(results: Sequence[Any], tables: dict, trust: TrustReport) -> list[str]:
    """The study's verdict (:func:`~headspex.reporting.verdict.study_sentences`), naming the rule ``proxyspex`` ran."""
    first = results[0]
    return study_sentences(tables["accuracy"], tables["significance"], tables["pilot"], n_seeds=len(results),
                           n_test=n_test_questions(first), clean=first.clean_test_accuracy, trust=trust,
                           rule=first.config.proxyspex_rule)


def verdict_pivot(accuracy: pd.DataFrame, clean: float, rule: str | None = None) -> pd.DataFrame:
    """The accuracy pivot (range x level x method, intervals) with the unpruned model's accuracy beside it; the
    column ``proxyspex`` named with the ``rule`` it ran (``proxyspex (robust)``), never bare."""
    if accuracy.empty:
        return pd.DataFrame()
    pivot = accuracy_pivot(accuracy, ordered_methods(list(accuracy["method"])))
    return pivot.rename(columns={"proxyspex": method_label("proxyspex", rule)}).assign(unpruned=f"{clean:.3f}")



def verdict_section(page: Page, results: Sequence[Any], tables: dict, trust: TrustReport) -> None:
    """Add the first section of the study page."""
    first = results[0]
    n_test = n_test_questions(first)
    sentences = verdict_sentences(results, tables, trust)
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
