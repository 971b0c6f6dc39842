"""The one registry of selection methods: ``METHODS[name](context, ks) -> MethodRun``.

A method picks one kept set per head count ``k`` in ``ks`` from a
:class:`~headspex.selection.context.SelectionContext` (any :class:`~headspex.engine.game.MaskGame`: a layer
range or the whole model) and says what it cost. Register your own with ``@register("name")``; every
experiment (a range of the study, a whole-model curve) can then run it by name. The built-in methods are
registered by :mod:`headspex.selection.methods`, which also checks method lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

from headspex.selection.select import Selection

if TYPE_CHECKING:
    from headspex.selection.context import SelectionContext


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

    def __call__(self, context: "SelectionContext", ks: list[int]) -> MethodRun:
        ...


METHODS: dict[str, Method] = {}
BASELINE = "random"  # a distribution of random k-head masks, scored by the experiment, not a selection
SEEDLESS: set[str] = set()  # methods whose selections do not depend on the seed (saved once, not per seed)


def register(name: str, *, seedless: bool = False) -> Callable[[Method], Method]:
    """Decorator: add ``method`` to :data:`METHODS` under ``name`` (``seedless``: no randomness involved)."""

    def add(method: Method) -> Method:
        METHODS[name] = method
        if seedless:
            SEEDLESS.add(name)
        return method

    return add
