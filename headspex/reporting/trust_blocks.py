"""The trust warnings as a report shows them: a visible block near the top (HTML and Markdown) and the table of
every flag (which seed each value is from, or "mean over seeds"). The checks themselves are :mod:`.trust`'s."""

from __future__ import annotations

import html

from headspex.reporting.page import table_html
from headspex.reporting.trust import CHECKS, TrustReport, group_text

__all__ = ["details_html", "details_markdown", "warnings_html", "warnings_markdown"]


def warnings_html(trust: TrustReport, details: str = "#trust") -> str:
    """The "Trust warnings" block: per failed check its meaning (visible) and, folded, one line per (where,
    method) with its levels, seeds and largest gap; what to try; the checks that could not be made."""
    notes = "".join(f'<p class="note">Note: {html.escape(n)}.</p>' for n in trust.notes)
    if not trust.flags:
        return (f'<div class="warnings clear" id="trust-warnings"><h3>Trust warnings: none</h3>'
                f'<p class="note">{html.escape(trust.checked)}</p>{notes}</div>')
    items = []
    for check, groups in trust.by_check():
        title, meaning, advice = CHECKS[check]
        n = sum(len(flags) for _, flags in groups)
        where = "; ".join(dict.fromkeys(f"{m} in {w}" for (_, w, m), _ in groups))
        lines = "".join(f"<li>{html.escape(group_text(w, m, flags))}</li>" for (_, w, m), flags in groups)
        items.append(f"<li><details><summary><b>{html.escape(title)}</b>: {n} case(s) in {html.escape(where)}. "
                     f'<span class="tip">It means {html.escape(meaning)} {html.escape(advice)}</span></summary>'
                     f"<ul>{lines}</ul></details></li>")
    return (f'<div class="warnings" id="trust-warnings"><h3>Trust warnings ({len(trust.flags)} case(s); click one '
            f'for its levels, seeds and largest gap)</h3><ul>{"".join(items)}</ul>'
            f'{notes}<p class="note">Every case with its seed: <a href="{details}">trust details</a>. '
            f"{html.escape(trust.checked)}</p></div>")


def warnings_markdown(trust: TrustReport) -> list[str]:
    """The same block as Markdown lines."""
    if not trust.flags:
        return ["## Trust warnings: none", "", trust.checked, *[f"Note: {n}." for n in trust.notes], ""]
    lines = [f"## Trust warnings ({len(trust.flags)} case(s))", ""]
    for check, groups in trust.by_check():
        title, meaning, advice = CHECKS[check]
        lines.append(f"- **{title}** ({sum(len(f) for _, f in groups)} case(s)). It means {meaning} {advice}")
        lines += [f"  - {group_text(w, m, flags)}" for (_, w, m), flags in groups]
    return lines + ["", trust.checked, *[f"Note: {n}." for n in trust.notes], ""]


def details_html(trust: TrustReport) -> str:
    """Every flag as a sortable table (or a line saying there is none)."""
    if not trust.flags:
        return '<p class="note">No flag.</p>'
    return ('<p class="note">One row per flag; "seed" says which seed a value is from, or "mean over seeds".</p>'
            + table_html(trust.table(), sortable=True, table_id="trust-table"))


def details_markdown(trust: TrustReport) -> str:
    return trust.table().to_markdown(index=False, floatfmt=".3f") if trust.flags else "No flag."
