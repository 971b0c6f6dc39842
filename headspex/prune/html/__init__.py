"""A self-contained interactive ``report.html`` for a study: plotly figures, plotly.js inlined once, nothing
loaded from a network (no CDN, no MathJax, no web fonts), so it opens offline from a file.

    write_html(results, out / "report.html", title="...", config=record_of_config_json)

Built only from stored results (one :class:`~headspex.prune.results.StudyResult` per seed): intervals over
seeds from :class:`~headspex.prune.seeds.SeedSummary`; per-head, interaction, selection and held-out
figures from the first seed. Nothing is recomputed from a model.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence

from headspex.players import format_layer_range
from headspex.prune.html import heads, interactions, pruning, trust
from headspex.prune.html.common import figure_html
from headspex.prune.results import StudyResult, config_record
from headspex.prune.seeds import SeedSummary

__all__ = ["write_html"]

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:18px 28px 8px;background:#fff;border-bottom:1px solid #ddd}
nav{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid #ddd;padding:6px 28px;font-size:14px}
nav a{margin-right:14px;color:#1b6ca8;text-decoration:none} main{padding:0 28px 40px;max-width:1500px}
section.range{margin-top:26px} h2{border-bottom:2px solid #1b9e77;padding-bottom:4px} h3{margin:22px 0 6px;color:#444}
.fig{background:#fff;border:1px solid #e3e3e3;border-radius:4px;margin:10px 0;padding:4px}
.note{color:#666;font-size:13px;margin:4px 0} table.data{border-collapse:collapse;font-size:13px;background:#fff}
table.data th,table.data td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
table.data th{background:#f0f0f0} table.data td{max-width:900px;overflow-wrap:anywhere}
"""


class _Page:
    """Collects figures (numbered divs) and HTML pieces in page order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n_figures = 0

    def figure(self, fig: Any, missing: str) -> None:
        if fig is None:
            self.parts.append(f'<p class="note">{html.escape(missing)}</p>')
            return
        self.n_figures += 1
        self.parts.append(f'<div class="fig">{figure_html(fig, f"fig-{self.n_figures}")}</div>')

    def add(self, text: str) -> None:
        self.parts.append(text)


def _range_section(page: _Page, run: Any, tables: dict, clean: float, metric: str) -> None:
    label = format_layer_range(run.layers)
    page.add(f'<section class="range" id="layers-{label}"><h2>Layers {label} '
             f'<small>({len(run.players)} heads)</small></h2><h3>Heads</h3>')
    page.figure(heads.shapley_heatmap(run, label), "(no per-head values)")
    page.add("<h3>Interactions</h3>")
    page.figure(interactions.network(run, label), "No pairwise interaction among the stored top interactions.")
    page.figure(interactions.higher_order(run, label), "No interaction of order >= 3 among the stored top ones.")
    page.figure(interactions.energy(tables["energy"], label), "(energy shares were not computed for this range)")
    page.add("<h3>Pruning</h3>")
    page.figure(pruning.accuracy(tables["accuracy"], clean, label), "(no test accuracy)")
    page.figure(pruning.pilot(tables["pilot"], label), "(no pilot)")
    page.figure(heads.selected_heads(run, label), "(no selections)")
    page.add("<h3>Trust</h3>" + trust.fit_table(tables["fit"], label))
    page.figure(trust.predicted_vs_true(run, label, metric), "(no held-out or selected masks with true values)")
    page.figure(trust.evaluations(run, label), "(no evaluation counts)")
    page.add("</section>")


def _document(title: str, intro: str, nav: str, body: str) -> str:
    from plotly.offline import get_plotlyjs

    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style>"
            f'<script type="text/javascript">{get_plotlyjs()}</script></head>\n<body><header>'
            f"<h1>{html.escape(title)}</h1>{intro}</header><nav>{nav}</nav><main>{body}</main></body></html>\n")


def write_html(results: StudyResult | Sequence[StudyResult], path: str | Path, *, title: str,
               config: dict | None = None) -> Path:
    """Write the interactive report of one task's study (one result per seed) to ``path``; returns it.

    config: the run's record (``config.json``: study settings, model, versions, commit); default: the
    first seed's study configuration.
    """
    results = [results] if isinstance(results, StudyResult) else list(results)
    summary, first = SeedSummary(results), results[0]
    tables = {"accuracy": summary.accuracy(), "energy": summary.energy(), "pilot": summary.pilot(),
              "fit": summary.fit()}
    metric = str(getattr(first.config, "metric", "value"))
    page = _Page()
    for run in first.ranges:
        _range_section(page, run, tables, summary.clean_test_accuracy, metric)
    page.add('<section id="configuration"><h2>Configuration</h2>'
             + trust.config_table(config if config is not None else config_record(first.config), summary.seeds,
                                  sum(r.seconds for r in results)) + "</section>")
    labels = [format_layer_range(r.layers) for r in first.ranges]
    nav = "".join(f'<a href="#layers-{x}">Layers {x}</a>' for x in labels)
    nav += '<a href="#configuration">Configuration</a>'
    intro = (f'<p class="note">Unpruned test accuracy {summary.clean_test_accuracy:.3f}; seeds {summary.seeds}; '
             f"training value: {html.escape(metric)}. Accuracy and energy intervals are over seeds; heads, "
             f"interactions, selections and held-out masks are the first seed's. Hover for values; click legend "
             f"entries to hide them; every figure downloads as PNG from its toolbar.</p>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from headspex._io import atomic_write_text

    return atomic_write_text(path, _document(title, intro, nav, "\n".join(page.parts)))
