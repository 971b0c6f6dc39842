"""The offline HTML page every report is: plotly.js inlined once, nothing loaded from a network (no CDN, no
MathJax, no web fonts), figures as numbered divs, escaped tables, sortable tables in plain JavaScript.

    page = Page(); page.figure(fig, "(shown when fig is None)"); page.add("<p>...</p>")
    atomic_write_text(path, document(title, intro, nav, page.html()))
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif", size=12)

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:18px 28px 8px;background:#fff;border-bottom:1px solid #ddd} header h1{margin:0 0 6px}
nav{position:sticky;top:0;z-index:10;background:#fff;border-bottom:1px solid #ddd;padding:6px 28px;font-size:14px}
nav a{margin-right:14px;color:#1b6ca8;text-decoration:none} main{padding:0 28px 40px;max-width:1500px}
section{margin-top:22px} h2{border-bottom:2px solid #1b9e77;padding-bottom:4px} h3{margin:22px 0 6px;color:#444}
.fig{background:#fff;border:1px solid #e3e3e3;border-radius:4px;margin:10px 0;padding:4px}
.note{color:#666;font-size:13px;margin:4px 0} table.data{border-collapse:collapse;font-size:13px;background:#fff}
table.data th,table.data td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
table.data th{background:#f0f0f0} table.data td{max-width:900px;overflow-wrap:anywhere}
table.sortable th{cursor:pointer;user-select:none} table.sortable th:after{content:" \\2195";color:#aaa}
table.sortable th[data-dir=asc]:after{content:" \\2191";color:#222}
table.sortable th[data-dir=desc]:after{content:" \\2193";color:#222}
ul.verdict{font-size:14.5px;line-height:1.4;background:#fff;border-left:4px solid #1b9e77;padding:10px 10px 10px 30px}
.warnings{background:#fff8e1;border:1px solid #e0b100;border-left:6px solid #e0b100;border-radius:4px;
padding:8px 14px;margin:12px 0}
.warnings.clear{background:#eef7ee;border-color:#6aa86a} .warnings h3{margin:4px 0 6px;color:#7a5b00}
.warnings.clear h3{color:#2d6a2d} .warnings li{margin:4px 0} .tip{color:#555}
.beside{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:14px;align-items:start}
.beside>.side{max-height:820px;overflow:auto;margin:10px 0}
.controls{font-size:13px;margin:4px 6px} .controls input{vertical-align:middle;width:220px}
"""

SORT_JS = """
function hsSort(th){const table=th.closest('table'),body=table.tBodies[0],row=th.parentNode;
const i=Array.from(row.children).indexOf(th),dir=th.dataset.dir==='asc'?'desc':'asc';
for(const h of row.children)delete h.dataset.dir;th.dataset.dir=dir;const s=dir==='asc'?1:-1;
const key=r=>{const c=r.cells[i],v=c.dataset.sort!==undefined?c.dataset.sort:c.textContent.trim(),n=parseFloat(v);
return isNaN(n)?v.toLowerCase():n;};
Array.from(body.rows).sort((a,b)=>{const x=key(a),y=key(b);if(typeof x!==typeof y)return(typeof x==='number'?-1:1)*s;
return(x<y?-1:x>y?1:0)*s;}).forEach(r=>body.appendChild(r));}
"""


class Page:
    """Collects figures (numbered divs ``fig-1``, ``fig-2``, ...) and HTML pieces in page order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.n_figures = 0

    def figure(self, fig: Any, missing: str) -> str | None:
        """Add ``fig`` (or the note ``missing`` when it is None); returns the figure's div id."""
        self.add(self.figure_div(fig, missing))
        return f"fig-{self.n_figures}" if fig is not None else None

    def figure_div(self, fig: Any, missing: str) -> str:
        """The HTML of ``fig`` in its frame (numbered like :meth:`figure`), without adding it."""
        if fig is None:
            return f'<p class="note">{html.escape(missing)}</p>'
        self.n_figures += 1
        return f'<div class="fig">{figure_html(fig, f"fig-{self.n_figures}")}</div>'

    def add(self, text: str) -> None:
        self.parts.append(text)

    def html(self) -> str:
        return "\n".join(self.parts)


def document(title: str, intro: str, nav: str, body: str, script: str = "") -> str:
    """The whole page: plotly.js and the sorting script in the head, then header, navigation and body."""
    from plotly.offline import get_plotlyjs

    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style>"
            f'<script type="text/javascript">{get_plotlyjs()}</script>'
            f'<script type="text/javascript">{SORT_JS}{script}</script></head>\n<body><header>'
            f"<h1>{html.escape(title)}</h1>{intro}</header><nav>{nav}</nav><main>{body}</main></body></html>\n")


def style(fig: Any, title: str, height: int) -> Any:
    """Common look: white template, system fonts (no web fonts), title and height."""
    fig.update_layout(template="plotly_white", font=FONT, title=dict(text=title, x=0.01, xanchor="left"),
                      height=height, margin=dict(l=70, r=30, t=70, b=50), hoverlabel=dict(align="left"))
    return fig


def figure_html(fig: Any, div_id: str) -> str:
    """One figure as a div and its script; plotly.js is inlined once in the page head, MathJax never."""
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, config=PLOT_CONFIG,
                       div_id=div_id)


def _cell(v: Any, floatfmt: str) -> str:
    if isinstance(v, (float, np.floating)):
        return "&ndash;" if not np.isfinite(v) else floatfmt.format(v)
    return html.escape(str(v))


def table_html(df: pd.DataFrame, floatfmt: str = "{:.3f}", *, table_id: str = "", sortable: bool = False,
               sort_keys: dict[str, list] | None = None) -> str:
    """An escaped HTML table (numbers formatted, NaN shown as an en dash). ``sortable``: clicking a header
    sorts by that column (plain JavaScript, see :data:`SORT_JS`); ``sort_keys``: per column, the values to
    sort by instead of the text shown."""
    keys = sort_keys or {}
    click = ' onclick="hsSort(this)"' if sortable else ""
    head = "".join(f"<th{click}>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for i, row in enumerate(df.itertuples(index=False)):
        cells = []
        for name, v in zip(df.columns, row):
            key = f' data-sort="{html.escape(str(keys[name][i]))}"' if name in keys else ""
            cells.append(f"<td{key}>{_cell(v, floatfmt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    attrs = (f' id="{html.escape(table_id)}"' if table_id else "") + \
        (' class="data sortable"' if sortable else ' class="data"')
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def finite_errors(value: Any, low: Any, high: Any) -> dict | None:
    """Asymmetric error bars for plotly, or None when no interval is finite (a single seed)."""
    v, lo, hi = (np.asarray(a, dtype=float) for a in (value, low, high))
    if not (np.isfinite(lo).any() and np.isfinite(hi).any()):
        return None
    return dict(type="data", symmetric=False, array=np.nan_to_num(hi - v), arrayminus=np.nan_to_num(v - lo),
                thickness=1.2, width=4)


def sentences_html(sentences: list[str]) -> str:
    """The verdict's sentences as a list (escaped)."""
    return '<ul class="verdict">' + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>"
