"""Pair interactions from two estimators, in one frame shape (``i, j, value``) so they are scored alike.

- :func:`shapiq_pairs`: shapiq's approximators (KernelSHAP-IQ, SVARM-IQ) run on the game itself, with
  ``budget`` game evaluations: the peer of a proxy fitted on ``budget`` masks, at matched cost.
- :func:`spectrum_pairs`: the order-2 values of a ProxySPEX spectrum (exact, from its Moebius form:
  :func:`headspex.spectrum.attributions.interaction_values`).

Both give k-SII values (order 2 of a k-SII of ``max_order`` 2). For a game whose Moebius terms stop at order 2
the pair value is the Moebius coefficient ``a({i, j}) = 4 F({i, j})``, the same quantity the measured second
difference of :func:`headspex.roles.pair_interactions` averages to; higher-order terms spread onto their pairs.
shapiq's coalition matrix (``True`` = player present) is handed to the game as a mask (1 = kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from headspex._checks import check_masks, check_values, is_integer
from headspex.errors import InputError

__all__ = ["APPROXIMATORS", "CountingGame", "shapiq_pairs", "spectrum_pairs"]

APPROXIMATORS = {"kernelshapiq": "KernelSHAPIQ", "svarmiq": "SVARMIQ"}  # name -> shapiq class


class CountingGame:
    """``game`` as shapiq's value function: coalitions ``bool [n, n_players]`` -> ``float64 [n]``.

    Counts every row it is asked for (``rows``) and the distinct ones (``distinct``; a
    :class:`headspex.MaskGame` evaluates a repeated mask once)."""

    def __init__(self, game: Any, n_players: int) -> None:
        self.game, self.n_players = game, n_players
        self.rows, self.calls = 0, 0
        self._seen: set[bytes] = set()

    def __call__(self, coalitions: Any) -> np.ndarray:
        masks = check_masks(np.atleast_2d(np.asarray(coalitions)), n_players=self.n_players, name="coalitions")
        self.rows += masks.shape[0]
        self.calls += 1
        self._seen.update(row.tobytes() for row in masks)
        return check_values(self.game(masks), masks.shape[0])

    @property
    def distinct(self) -> int:
        return len(self._seen)


def _frame(pairs: dict[tuple[int, int], float]) -> pd.DataFrame:
    """``i, j, value``, largest |value| first (ties in (i, j) order)."""
    keys = sorted(pairs)
    frame = pd.DataFrame({"i": [a for a, _ in keys], "j": [b for _, b in keys],
                          "value": np.array([pairs[k] for k in keys], dtype=np.float64)})
    order = np.argsort(-frame["value"].abs().to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def shapiq_pairs(game: Any, *, budget: int, max_order: int = 2, approximator: str = "kernelshapiq",
                 seed: int = 0, index: str = "k-SII") -> pd.DataFrame:
    """Order-2 interactions estimated by shapiq directly from ``game`` with ``budget`` evaluations.

    Args:
        game: a :class:`headspex.MaskGame`, or any callable on masks ``[n, n_players]`` uint8 (1 = keep) ->
            ``[n]`` with an ``n_players`` attribute.
        budget: game evaluations (mask rows) shapiq may spend; at most ``2 ** n_players`` are spent (shapiq
            then evaluates every coalition once).
        max_order: the interaction order shapiq fits (>= 2); only the pairs are returned.
        approximator: ``"kernelshapiq"`` or ``"svarmiq"``.
        seed: shapiq's ``random_state``.
        index: shapiq's interaction index (k-SII, comparable with :func:`spectrum_pairs`).

    Returns:
        Every pair ``i < j``: columns ``i, j, value`` (player indices, the estimate), largest ``|value|``
        first. ``.attrs``: evaluations (mask rows sent to the game), distinct (different masks among
        them), budget, approximator, index, seed, n_players.
    """
    n = getattr(game, "n_players", None)
    if not is_integer(n) or int(n) < 2 or not callable(game):
        raise InputError("shapiq_pairs needs a callable game with n_players >= 2 (a headspex.MaskGame)")
    n = int(n)
    if not is_integer(budget) or int(budget) < 1:
        raise InputError(f"budget must be an integer >= 1 (game evaluations); got {budget!r}")
    if not is_integer(max_order) or not 2 <= int(max_order) <= n:
        raise InputError(f"max_order must be an integer in 2..{n}; got {max_order!r}")
    if approximator not in APPROXIMATORS:
        raise InputError(f"approximator must be one of {tuple(APPROXIMATORS)}; got {approximator!r}")
    import shapiq

    counting = CountingGame(game, n)
    estimator = getattr(shapiq, APPROXIMATORS[approximator])(n=n, max_order=int(max_order), index=index,
                                                            random_state=int(seed))
    spend = int(min(int(budget), 2 ** min(n, 62)))
    values = estimator.approximate(budget=spend, game=counting)
    pairs = {tuple(int(x) for x in s): float(values[s]) for s in values.interaction_lookup if len(s) == 2}
    frame = _frame(pairs)
    frame.attrs.update(evaluations=counting.rows, distinct=counting.distinct, budget=int(budget),
                       approximator=approximator, index=index, seed=int(seed), n_players=n)
    return frame


def spectrum_pairs(spectrum: Any, players: Sequence[tuple[int, int]] | None = None, *,
                   index: str = "k-SII") -> pd.DataFrame:
    """ProxySPEX's order-2 interactions (``index`` of ``max_order`` 2) from a spectrum, as :func:`shapiq_pairs`.

    Args:
        spectrum: a ``FourierSpectrum`` / ``MoebiusSpectrum``, or anything with ``.spectrum()`` (a fitted
            :class:`headspex.Proxy`).
        players: ``(layer, head)`` per player, checked against the spectrum (default: the spectrum's).

    Returns:
        The pairs with a non-zero value: columns ``i, j, value``, largest ``|value|`` first. ``.attrs``: index,
        n_players.
    """
    from headspex.spectrum.attributions import interaction_values
    from headspex.spectrum.fourier import FourierSpectrum, MoebiusSpectrum

    if not isinstance(spectrum, (FourierSpectrum, MoebiusSpectrum)) and callable(getattr(spectrum, "spectrum", None)):
        spectrum = spectrum.spectrum()
    if not isinstance(spectrum, (FourierSpectrum, MoebiusSpectrum)):
        raise InputError(f"spectrum_pairs needs a FourierSpectrum, MoebiusSpectrum or fitted Proxy; got "
                         f"{type(spectrum).__name__}")
    if spectrum.n_players < 2:
        raise InputError(f"spectrum_pairs needs at least two players; the spectrum has {spectrum.n_players}")
    try:
        result = interaction_values(spectrum, index=index, max_order=2, players=players)
    except InputError:
        raise
    except ValueError as err:
        raise InputError(str(err)) from err
    values = result.values
    pairs = {tuple(int(x) for x in s): float(values.values[k]) for s, k in values.interaction_lookup.items()
             if len(s) == 2 and values.values[k] != 0.0}
    frame = _frame(pairs)
    frame.attrs.update(index=index, n_players=spectrum.n_players)
    return frame

