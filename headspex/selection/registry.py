"""The one registry of selection methods: ``METHODS[name](context, ks) -> MethodRun``.

A method picks one kept set per head count ``k`` in ``ks`` from a
:class:`~headspex.selection.context.SelectionContext` (any :class:`~headspex.engine.game.MaskGame`: a layer
range or the whole model) and says what it cost. Register your own with ``@register("name")``; every
experiment (a range of the study, a whole-model curve) can then run it by name. The built-in methods are
registered by :mod:`headspex.selection.methods`, which also checks method lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from headspex.selection.select import Selection


@dataclass
class MethodRun:
    """A method's kept sets and what they cost.

    selections: ``{k: Selection}``. forward / backward: model passes per question, summed (a mask evaluated on
    the training split is one forward pass per training question). The true training values of the selected
    sets are measured after the choice and are not part of the cost; ``train_values`` holds them.
    """

    selections: dict[int, Selection]
    forward: int
    backward: int = 0
    seconds: float = 0.0
    notes: str = ""
    train_values: dict[int, float] = field(default_factory=dict)

    def evaluations(self, n_questions: int) -> int:
        """Model evaluations in masks (forward passes over the whole training split)."""
        return self.forward // max(1, n_questions)


class Method(Protocol):
    """``method(context, ks) -> MethodRun`` with one selection of exactly k heads per k in ``ks``."""

    def __call__(self, context: Any, ks: list[int]) -> MethodRun:  # context: a SelectionContext
        ...


@dataclass(frozen=True)
class MethodInfo:
    """What the reports, the verdict and the CLI know of a method: its one home is its registration.

    title: its name in prose ("LASSO"). colour: its colour in every figure. seedless: its selections do not depend
    on the seed (saved once). proxy: it picks on the proxy's prediction (the trust checks read its objective).
    rule: the ProxySPEX rule it is (``proxyspex --proxyspex-rule RULE`` runs it), with ``help`` for that option.
    retired: why it no longer runs (its stored results still render, under its stored name).
    """

    name: str
    title: str
    colour: str = "#a6761d"
    seedless: bool = False
    proxy: bool = False
    rule: str | None = None
    help: str = ""
    retired: str = ""


METHODS: dict[str, Method] = {}  # the methods that run, in report order
INFO: dict[str, MethodInfo] = {}  # every method a report may show, retired ones included, in report order
BASELINE = "random"  # a distribution of random k-head masks, scored by the experiment, not a selection
SEEDLESS: set[str] = set()  # methods whose selections do not depend on the seed (saved once, not per seed)


def register(name: str, *, title: str | None = None, colour: str = "#a6761d", seedless: bool = False,
             proxy: bool = False, rule: str | None = None, help: str = "") -> Callable[[Method], Method]:
    """Decorator: add ``method`` to :data:`METHODS` under ``name``, with what reports and the CLI show of it
    (:class:`MethodInfo`); the order of registration is the order of every report."""

    def add(method: Method) -> Method:
        METHODS[name] = method
        INFO[name] = MethodInfo(name, title or name, colour, seedless, proxy, rule, help)
        if seedless:
            SEEDLESS.add(name)
        return method

    return add


def retire(name: str, *, title: str, colour: str, why: str, proxy: bool = False) -> None:
    """Keep what reports show of a method that no longer runs (stored results that name it still rebuild)."""
    INFO[name] = MethodInfo(name, title, colour, proxy=proxy, retired=why)
