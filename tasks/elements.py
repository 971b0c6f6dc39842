"""Chemical symbols of the elements, from the bsdgames quiz file `elements` (H .. Lw, 103 lines).

Prompt "The chemical symbol for {element} is" (element name in lower case), choices are symbols
(" Fe"). The file predates 1963 for element 103: its symbol "Lw" is now "Lr", so that line is dropped.
"""

from __future__ import annotations

from .base import LoadOptions, Task
from .factual import Fact, build_fact_task
from .quizfile import read_quiz_file
from .sources import quiz_file, require_quiz_source

__all__ = ["load_elements"]

TEMPLATE = "The chemical symbol for {subject} is"
SHOT_TEMPLATE = "The chemical symbol for {subject} is {answer}."
OUTDATED_SYMBOLS = {"Lw": "Lr"}


def load_elements(name: str, opts: LoadOptions) -> Task:
    """Element -> symbol, four choices (the symbol and three other symbols). Split half/half."""
    require_quiz_source(opts.source, name)
    facts, dropped = [], []
    for n, fields in enumerate(read_quiz_file(quiz_file("elements"))):
        if len(fields) < 4 or not fields[0].canonical or not fields[3].canonical:
            dropped.append({"id": f"elements:line{n + 1}", "reason": "missing symbol or name"})
            continue
        symbol, element = fields[0].canonical, fields[3].canonical
        item_id = f"elements:{element}"
        if symbol in OUTDATED_SYMBOLS:
            dropped.append({"id": item_id, "reason": f"outdated symbol {symbol!r} (now {OUTDATED_SYMBOLS[symbol]!r})"})
            continue
        facts.append(Fact(item_id, element.lower(), symbol, fields[0].variants))
    info = {"source": f"bsdgames quiz file {quiz_file('elements')}"}
    return build_fact_task(
        name, facts, opts, template=TEMPLATE, shot_template=SHOT_TEMPLATE, info=info, dropped=dropped,
    )
