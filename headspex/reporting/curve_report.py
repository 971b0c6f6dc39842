"""Write a curve's tables, plot and reports (rebuilt from the saved results by ``python -m headspex.report DIR``).

Files: ``curve.csv``, ``auc.csv``, ``prunable.csv``, ``cost.csv``, ``curves.md`` (all four as tables),
``curve.png`` (test accuracy against heads kept, 95% bands, one line per method, the unpruned model as a
dashed line, the random baseline in grey), and the reports ``report.md`` and ``report.html`` (offline), which
open on the verdict: sentences written from the AUC table, the trust warnings, the AUC table with paired
differences to ProxySPEX; then the curves, prunable fractions and costs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pandas as pd

from headspex._io import atomic_write_text, save_figure
from headspex.records.curve_result import CurveResult, auc_table, cost_table, curve_table, prunable_table
from headspex.reporting.escape import escape_markdown
from headspex.reporting.labels import label_methods, method_label
from headspex.reporting.trust import TrustReport, curve_checks
from headspex.reporting.trust_blocks import details_markdown, warnings_markdown
from headspex.reporting.verdict import curve_verdict
from headspex.rundir import missing_seeds_note


def write_outputs(results: Sequence[CurveResult], out: str | Path, *, title: str) -> dict[str, pd.DataFrame]:
    """Write every table, ``curve.png``, ``report.md`` and ``report.html`` to ``out``; returns the tables."""
    out = Path(out)
    tables = {"curve": curve_table(results), "auc": auc_table(results), "prunable": prunable_table(results),
              "cost": cost_table(results)}
    for name, table in tables.items():
        atomic_write_text(out / f"{name}.csv", table.to_csv(index=False))
    clean = results[0].clean["test"]["accuracy"]
    seeds = sorted(r.config.seed for r in results)
    lines = [f"# {escape_markdown(title)}", "", f"Unpruned test accuracy {clean:.3f}; {len(results[0].players)} heads; "
             f"{results[0].n_train} training / {results[0].n_test} test questions; seeds {seeds}.", ""]
    rule = results[0].config.proxyspex_rule
    for name, table in tables.items():
        lines += [f"## {name}", "", label_methods(table, rule).to_markdown(index=False, floatfmt=".3f"), ""]
    atomic_write_text(out / "curves.md", "\n".join(lines))
    plot_curves(tables["curve"], clean, out / "curve.png", title=title, rule=results[0].config.proxyspex_rule)
    trust = curve_checks(results, tables["curve"])
    missing = missing_seeds_note(_config(out), seeds)
    if missing:
        trust.notes.insert(0, missing)
    sentences = curve_verdict(results, tables, trust)
    atomic_write_text(out / "report.md", report_markdown(results, tables, trust, sentences, title))
    from headspex.reporting.html.curve import write_curve_html

    write_curve_html(results, tables, out / "report.html", title=title, sentences=sentences, trust=trust,
                     config=_config(out))
    return tables


def report_markdown(results: Sequence[CurveResult], tables: dict, trust: TrustReport, sentences: list[str],
                    title: str) -> str:
    """report.md: the verdict, trust warnings and AUC table first; then the curve, prunable fractions, costs."""
    from headspex.reporting.html.curve import auc_display

    first = results[0]
    rule = first.config.proxyspex_rule

    def table(name: str, floatfmt: str) -> str:  # proxyspex named with its rule
        return label_methods(tables[name], rule).to_markdown(index=False, floatfmt=floatfmt)

    lines = [f"# {escape_markdown(title)}", "", "## Verdict", "", *[f"- {s}" for s in sentences], "",
             "## Area under the curve", "",
             f"AUC = mean test accuracy over the sweep; 95% bootstrap CI over the {first.n_test} test questions "
             f"(per-question scores averaged over {len(results)} seed(s)); minus ProxySPEX: the paired difference.", "",
             auc_display(tables["auc"], rule).to_markdown(index=False), "",
             *warnings_markdown(trust),
             "## Curves", "", "![test accuracy against heads kept](curve.png)", "",
             table("curve", ".3f"), "",
             "## Prunable fractions (largest share of heads removed within 1 / 5 points of the unpruned model)", "",
             table("prunable", ".2f"), "",
             "## Costs (first seed: passes summed over training questions, seconds choosing the sets)", "",
             table("cost", ".1f"), "",
             "## Trust details (one row per flag, with its seed or \"mean over seeds\")", "", details_markdown(trust),
             "", "Interactive version: `report.html`; rebuild both with `python -m headspex.report DIR`.", ""]
    return "\n".join(lines)


def _config(out: Path) -> dict | None:
    try:
        return json.loads((out / "config.json").read_text())
    except (OSError, ValueError):
        return None


def plot_curves(curve: pd.DataFrame, clean: float, path: str | Path, *, title: str, rule: str | None = None) -> None:
    """Test accuracy against heads kept: one line per method with its 95% band; unpruned and random as references;
    ``proxyspex`` labelled with its ``rule``."""

    from matplotlib.figure import Figure  # no pyplot: a notebook user's backend stays as it is

    fig = Figure(figsize=(8, 5), dpi=120)
    ax = fig.subplots()
    for method, part in curve.groupby("method", sort=False):
        part = part.sort_values("k")
        style = dict(color="grey", linestyle=":") if method == "random" else {}
        (line,) = ax.plot(part.k, part.accuracy, marker="o", markersize=3, label=method_label(method, rule), **style)
        ax.fill_between(part.k, part.low, part.high, color=line.get_color(), alpha=0.12)
    ax.axhline(clean, color="black", linestyle="--", linewidth=1, label=f"unpruned ({clean:.3f})")
    ax.set_xlabel("heads kept")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save_figure(fig, Path(path))


def title_of(result: CurveResult) -> str:
    return f"How far can {result.model_name or 'the model'} be pruned? {result.task_name}, whole model"
