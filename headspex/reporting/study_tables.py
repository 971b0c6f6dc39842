"""The tables a layer-range study's reports are built from (Markdown and HTML alike): the summaries over seeds,
the accuracy pivot with the unpruned model beside it, and its caption."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from headspex.records.summary import SeedSummary, accuracy_pivot
from headspex.reporting.html.common import ordered_methods
from headspex.reporting.labels import method_label
from headspex.reporting.trust import TrustReport, study_checks


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


def verdict_pivot(accuracy: pd.DataFrame, clean: float, rule: str | None = None) -> pd.DataFrame:
    """The accuracy pivot (range x level x method, intervals) with the unpruned model's accuracy beside it; the
    column ``proxyspex`` named with the ``rule`` it ran (``proxyspex (robust)``), never bare."""
    if accuracy.empty:
        return pd.DataFrame()
    pivot = accuracy_pivot(accuracy, ordered_methods(list(accuracy["method"])))
    return pivot.rename(columns={"proxyspex": method_label("proxyspex", rule)}).assign(unpruned=f"{clean:.3f}")
