"""Text from user input (a task file's name, a model path) made safe for a Markdown report."""

from __future__ import annotations

import re

__all__ = ["escape_markdown"]

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def escape_markdown(text: object) -> str:
    """``text`` with HTML's ``& < >`` as entities and Markdown's markup characters backslash-escaped, so that it
    shows as written and can neither open a tag nor start emphasis, a link or a table cell."""
    escaped = _MARKUP.sub(r"\\\1", str(text))
    return "".join(_HTML.get(c, c) for c in escaped)
