"""The ``headspex`` command: one entry point for the tools, each also runnable as ``python -m headspex.<tool>``.

    headspex prune ...    which heads to keep, per layer range (python -m headspex.prune)
    headspex curves ...   whole-model pruning curves (python -m headspex.curves)
    headspex report DIR   rebuild a run's reports from its stored values (python -m headspex.report)
    headspex audit ...    were a planned run's test questions used before? (python -m headspex.prune.question_audit)
    headspex roles ...    every head's attention-pattern roles (python -m headspex.roles)
    headspex models       the model aliases; headspex tasks: the task names
    headspex --version
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

__all__ = ["TOOLS", "main"]


def _prune(argv: list[str]) -> int:
    from headspex.prune.cli import main as run

    return run(argv, prog="headspex prune")


def _curves(argv: list[str]) -> int:
    from headspex.prune.cli import main as run

    return run(argv, prog="headspex curves", layers="all", one_game=True)


def _report(argv: list[str]) -> int:
    from headspex.report import main as run

    return run(argv, prog="headspex report")


def _audit(argv: list[str]) -> int:
    from headspex.prune.question_audit import main as run

    return run(argv, prog="headspex audit")


def _roles(argv: list[str]) -> int:
    from headspex.roles.cli import main as run

    return run(argv, prog="headspex roles")


def _models(argv: list[str]) -> int:
    from headspex.engine.models import list_models

    for alias in list_models():
        print(f"{alias.name:14} {alias.description}")
    return 0


def _tasks(argv: list[str]) -> int:
    import tasks

    for name in tasks.list_tasks():
        print(f"{name:44} {tasks.describe(name)}")
    return 0


TOOLS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "prune": (_prune, "which heads to keep at each sparsity level, per layer range"),
    "curves": (_curves, "how far the whole model can be pruned: curves over a keep sweep"),
    "report": (_report, "rebuild a run's reports from its stored values"),
    "audit": (_audit, "were a planned run's test questions used by a committed run?"),
    "roles": (_roles, "score every head's attention-pattern roles (previous-token, induction, IOI)"),
    "models": (_models, "list the model aliases"),
    "tasks": (_tasks, "list the task names"),
}


def _usage() -> str:
    lines = ["usage: headspex TOOL [options]   (headspex TOOL --help for a tool's options)", "", "tools:"]
    lines += [f"  {name:8} {what}" for name, (_, what) in TOOLS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if args[0] == "--version":
        from headspex._version import __version__

        print(f"headspex {__version__}")
        return 0
    tool = TOOLS.get(args[0])
    if tool is None:
        print(f"error: unknown tool {args[0]!r}; expected one of {', '.join(TOOLS)}\n\n{_usage()}", file=sys.stderr)
        return 2
    return tool[0](args[1:])
