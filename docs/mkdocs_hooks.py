"""MkDocs hooks for the headspex site (``hooks:`` in mkdocs.yml).

- ``reference/cli.md`` is generated at build time from the argparse parsers themselves
  (``headspex.prune.cli.build_parser``, ``headspex.report.build_parser``, and the ``headspex`` command's tools where
  the package has them), so the reference cannot drift from the code.
- ``reference/api.md`` is generated from ``headspex._EXPORTS``: one mkdocstrings block per public name.
- Pages link to repository files the way GitHub resolves them (``../results/powered-study/holm.md``,
  ``../notebooks/01_walkthrough.ipynb``). Such a file is served on the site under its repository path (only the
  files a page links to, and what those link to in turn), and the link is rewritten to it. A link to a repository
  path that is not a file is reported as a warning, so ``mkdocs build --strict`` fails on it.
"""

from __future__ import annotations

import argparse
import logging
import posixpath
import re
import sys
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("mkdocs.hooks.headspex")
LINK = re.compile(r"(?P<open>\]\()(?P<target>[^)\s#]*)(?P<anchor>#[^)\s]*)?(?P<title>\s+\"[^\"]*\")?\)")
CODE_FENCE = re.compile(r"^(```|~~~)")
_rewrites: dict[str, dict[str, str]] = {}  # page src_uri -> {link as written: link on the site}


# --- the CLI reference --------------------------------------------------------------------------------------------

def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    takes = action.nargs != 0
    meta = ""
    if takes:
        if action.choices is not None and action.metavar is None:
            meta = " {" + ",".join(map(str, action.choices)) + "}"
        else:
            meta = f" {action.metavar or action.dest.upper()}"
            if action.nargs == "?":
                meta = f" [{meta.strip()}]"
    return ", ".join(f"`{s}{meta}`" for s in action.option_strings)


def _default(action: argparse.Action) -> str:
    if action.default in (None, argparse.SUPPRESS) or action.nargs == 0 or not action.option_strings:
        return ""
    return f"`{action.default}`"


def parser_markdown(parser: argparse.ArgumentParser, heading: str) -> str:
    """One parser as markdown: usage, description, and a table per argument group (every flag, its default and
    help as ``--help`` prints it)."""
    formatter = parser._get_formatter()
    lines = [f"## {heading}", "", "```text", parser.format_usage().strip(), "```", ""]
    if parser.description:
        lines += [parser.description.strip(), ""]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.dest != "help"]
        if not actions:
            continue
        lines += [f"### {group.title}", "", "| option | default | meaning |", "|---|---|---|"]
        for action in actions:
            text = formatter._expand_help(action) if action.help not in (None, argparse.SUPPRESS) else ""
            lines.append(f"| {_flags(action)} | {_default(action)} | {_cell(text)} |")
        lines.append("")
    lines += ["<details><summary>The full <code>--help</code></summary>", "", "```text",
              parser.format_help().strip(), "```", "", "</details>", ""]
    return "\n".join(lines)


def cli_reference() -> str:
    from headspex.prune.cli import build_parser
    from headspex.report import build_parser as report_parser

    parts = ["# CLI reference", "",
             "Generated from the argparse parsers when the site is built (`docs/mkdocs_hooks.py`): every option, its "
             "default and its help as `--help` prints them. The [usage guide](../usage.md) explains them with "
             "examples.", ""]
    try:
        from headspex.command import TOOLS
    except ImportError:
        TOOLS = None
    if TOOLS:
        parts += ["## `headspex`", "", "```text", "headspex TOOL [options]    (headspex TOOL --help for a tool's options)",
                  "```", "", "| tool | what |", "|---|---|"]
        parts += [f"| `headspex {name}` | {_cell(what)} |" for name, (_, what) in TOOLS.items()]
        parts.append("")
    parts.append(parser_markdown(build_parser(), "`headspex prune` (`python -m headspex.prune`)"))
    parts += ["## `headspex curves` (`python -m headspex.curves`)", "",
              "The same options as `prune`, with `--layers all` as the default: one game over every head of the "
              "model, pruning curves over a sweep of keep levels.", ""]
    parts.append(parser_markdown(report_parser(), "`headspex report` (`python -m headspex.report`)"))
    return "\n".join(parts)


# --- the API reference --------------------------------------------------------------------------------------------

def api_reference() -> str:
    import headspex

    by_module: dict[str, list[str]] = {}
    for name, module in headspex._EXPORTS.items():
        by_module.setdefault(module, []).append(name)
    parts = ["# API reference", "",
             "The public API: the names `import headspex` exports (`headspex.__all__`, resolved lazily on first use), "
             "generated from `headspex._EXPORTS` and the docstrings when the site is built. Everything else is "
             "imported from its sub-package (`headspex.engine`, `headspex.spectrum`, `headspex.selection`, "
             "`headspex.records`, `headspex.reporting`, `headspex.experiments`, `headspex.export`, `headspex.roles`).", ""]
    for module, names in by_module.items():
        parts += [f"## `{module}`", ""]
        for name in names:
            parts += [f"::: {module}.{name}", "    options:", "      heading_level: 3", ""]
    return "\n".join(parts)


# --- repository files linked from pages ---------------------------------------------------------------------------

def _links(markdown: str):
    """(match) of every markdown link outside fenced code blocks."""
    fenced = False
    for line in markdown.splitlines():
        if CODE_FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            yield from LINK.finditer(line)


def _is_relative(target: str) -> bool:
    return bool(target) and not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) and not target.startswith("/")


def _repository_file(path: str, config) -> File:
    """The repository file ``path`` served at the same path on the site (its source directory is the repository, so
    plugins that wrap files, such as mkdocs-jupyter, still find it)."""
    return File(path, src_dir=str(ROOT), dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls)


@event_priority(50)  # before mkdocs-jupyter and mkdocstrings look at the files
def on_files(files: Files, config) -> Files:
    for uri, text in (("reference/cli.md", cli_reference()), ("reference/api.md", api_reference())):
        files.append(File.generated(config, uri, content=text))
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        uri = f"notebooks/{nb.name}"
        if files.get_file_from_path(uri) is None:
            files.append(_repository_file(uri, config))
    real = {f.src_uri: f"docs/{f.src_uri}" for f in files.documentation_pages()}  # site path -> repository path
    queue = list(real)
    while queue:
        uri = queue.pop()
        f = files.get_file_from_path(uri)
        text = f.content_string if f is not None else ""
        for m in _links(text):
            target = m.group("target")
            if not _is_relative(target):
                continue
            repo = posixpath.normpath(posixpath.join(posixpath.dirname(real[uri]), target))
            if repo.startswith("docs/") or repo.startswith("../"):
                continue  # a page of the site (mkdocs checks it) or outside the repository
            if not (ROOT / repo).is_file():
                log.warning(f"{real[uri]} links to {target}: {repo} is not a file of the repository")
                continue
            if files.get_file_from_path(repo) is None:
                files.append(_repository_file(repo, config))
                if repo.endswith(".md"):
                    real[repo] = repo
                    queue.append(repo)
            if real[uri].startswith("docs/"):
                site = posixpath.relpath(repo, posixpath.dirname(uri) or ".")
                _rewrites.setdefault(uri, {})[target] = site
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    table = _rewrites.get(page.file.src_uri)
    if not table:
        return markdown

    def swap(m: re.Match) -> str:
        target = m.group("target")
        if target not in table:
            return m.group(0)
        return f"{m.group('open')}{table[target]}{m.group('anchor') or ''}{m.group('title') or ''})"

    out, fenced = [], False
    for line in markdown.splitlines(keepends=True):
        if CODE_FENCE.match(line.lstrip()):
            fenced = not fenced
        out.append(line if fenced else LINK.sub(swap, line))
    return "".join(out)
