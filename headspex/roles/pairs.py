"""Measured pair interactions of a game, and how they compare with a spectrum's prediction.

For players ``i, j`` and a background mask ``b`` (the other players), the measured interaction is the second
difference ``Δ_ij(b) = v(b, 1, 1) - v(b, 1, 0) - v(b, 0, 1) + v(b, 0, 0)`` (1 = keep). Backgrounds are uniform:
each other player is kept with probability 1/2, seeded, drawn independently per pair.

Relation to the spectrum. With ``chi_S(m) = (-1)^(sum_{k in S} m_k)`` and ``f(m) = sum_S F(S) chi_S(m)``, the four
signs ``(+1, -1, -1, +1)`` cancel every term without both ``i`` and ``j`` and give each term with both a factor
4, so ``Δ_ij(b) = 4 sum_{S >= {i, j}} F(S) chi_{S - {i, j}}(b)``. Averaged over uniform backgrounds every
``chi_T`` with ``T`` non-empty averages to 0, hence ``E_b[Δ_ij(b)] = 4 F({i, j})``: a positive pair coefficient
means keeping both heads is worth more than the sum of keeping each (synergy). The spread over backgrounds comes
from the higher-order terms containing the pair; the t interval over backgrounds says how well the mean pins
``4 F({i, j})`` down for this game.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from headspex._checks import check_masks, check_values, is_integer
from headspex.errors import InputError
from headspex.players import player_labels

__all__ = ["PairInteractions", "compare_with_spectrum", "pair_interactions"]

SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # (both kept, only i, only j, neither)
KEPT = np.array([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=np.uint8)


@dataclass(frozen=True)
class PairInteractions:
    """Measured second differences of ``n_pairs`` pairs over ``n_backgrounds`` backgrounds each.

    Attributes:
        pairs: ``(i, j)`` player indices, ``i < j``.
        deltas: ``float64 [n_pairs, n_backgrounds]``, ``Δ_ij(b)`` per background.
        n_players: players of the game.
        seed: the backgrounds' seed (None for given backgrounds).
        players: ``(layer, head)`` per player when the game has them (labels ``L{l}H{h}``), else None.
        level: confidence level of the intervals.
        question_ci: ``[n_pairs, 2]`` bootstrap interval over questions (``by_question=True``), else None.
    """

    pairs: tuple[tuple[int, int], ...]
    deltas: np.ndarray
    n_players: int
    seed: int | None = 0
    players: tuple[tuple[int, int], ...] | None = None
    level: float = 0.95
    question_ci: np.ndarray | None = None

    @property
    def n_backgrounds(self) -> int:
        return int(self.deltas.shape[1])

    @property
    def mean(self) -> np.ndarray:
        """``[n_pairs]`` mean over backgrounds (estimates ``4 F({i, j})``)."""
        return self.deltas.mean(axis=1)

    @property
    def ci(self) -> np.ndarray:
        """``[n_pairs, 2]`` Student-t interval of the mean over backgrounds (NaN with one background)."""
        from headspex.records.stats import mean_ci

        return np.array([[(iv := mean_ci(row, level=self.level)).low, iv.high] for row in self.deltas])

    @property
    def evaluations(self) -> int:
        """Game evaluations spent per pair: 4 per background."""
        return 4 * self.n_backgrounds

    def labels(self) -> list[str]:
        """``"L0H1*L2H3"`` per pair with players, else ``"1*5"``."""
        names = player_labels(self.players) if self.players else [str(i) for i in range(self.n_players)]
        return [f"{names[i]}*{names[j]}" for i, j in self.pairs]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per pair: i, j, label, interaction (mean), ci_low, ci_high, n_backgrounds, evaluations (and
        question_ci_low/high with ``by_question``)."""
        ci = self.ci
        frame = pd.DataFrame({
            "i": [i for i, _ in self.pairs], "j": [j for _, j in self.pairs], "label": self.labels(),
            "interaction": self.mean, "ci_low": ci[:, 0], "ci_high": ci[:, 1],
            "n_backgrounds": self.n_backgrounds, "evaluations": self.evaluations,
        })
        if self.question_ci is not None:
            frame["question_ci_low"], frame["question_ci_high"] = self.question_ci[:, 0], self.question_ci[:, 1]
        return frame


def _count(value: Any, name: str, low: int) -> int:
    if not is_integer(value) or int(value) < low:
        raise InputError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _checked(check: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    """A shared array check (``ValueError``) as this module's InputError."""
    try:
        return check(*args, **kwargs)
    except InputError:
        raise
    except ValueError as err:
        raise InputError(str(err)) from err


def _check_pairs(pairs: Any, n_players: int) -> tuple[tuple[int, int], ...]:
    out = []
    for pair in pairs:
        if not (isinstance(pair, (tuple, list, np.ndarray)) and len(pair) == 2 and all(is_integer(x) for x in pair)):
            raise InputError(f"each pair must be two player indices (integers); got {pair!r}")
        i, j = sorted(int(x) for x in pair)
        if i == j or i < 0 or j >= n_players:
            raise InputError(f"pair {tuple(pair)} must be two different players in 0..{n_players - 1}")
        out.append((i, j))
    if not out:
        raise InputError("pairs must name at least one (i, j) pair of player indices")
    return tuple(out)


def pair_masks(pairs: Sequence[tuple[int, int]], backgrounds: np.ndarray) -> np.ndarray:
    """``uint8 [n_pairs, n_backgrounds, 4, n_players]``: each background with (i, j) set to 11, 10, 01, 00.

    ``backgrounds``: ``[n_pairs, n_backgrounds, n_players]`` (columns i, j are overwritten)."""
    masks = np.repeat(backgrounds[:, :, None, :], 4, axis=2).astype(np.uint8)
    for p, (i, j) in enumerate(pairs):
        masks[p, :, :, i], masks[p, :, :, j] = KEPT[:, 0], KEPT[:, 1]
    return masks


def pair_interactions(game: Any, pairs: Sequence[tuple[int, int]], *, n_backgrounds: int = 32, seed: int = 0,
                      backgrounds: Any = None, by_question: bool = False, n_boot: int = 1000,
                      level: float = 0.95) -> PairInteractions:
    """Measure ``E_b[v11 - v10 - v01 + v00]`` for each pair over random backgrounds, in one game call.

    Args:
        game: a :class:`headspex.MaskGame`, or any callable on masks ``[N, n_players]`` uint8 -> values ``[N]``
            with an ``n_players`` attribute.
        pairs: ``(i, j)`` player indices (column ``i`` of a mask; ``layer * n_heads + head`` over a range).
        n_backgrounds: backgrounds per pair (each other player kept with probability 1/2, seeded by ``seed``).
        backgrounds: instead, explicit backgrounds ``[n_backgrounds, n_players]`` shared by every pair (e.g. all
            of them, for an exact average); ``seed`` is then recorded as None.
        by_question: also a percentile bootstrap interval over questions (needs ``game.per_question``, which
            evaluates without the store; values are then the mean of the per-question scores of ``game.metric``).
        n_boot, level: bootstrap replicates; confidence level of both intervals.

    Returns:
        :class:`PairInteractions`; ``4 * n_backgrounds`` evaluations per pair.
    """
    n_players = _count(getattr(game, "n_players", None), "game.n_players", 2)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.0 < float(level) < 1.0:
        raise InputError(f"level must be strictly between 0 and 1 (e.g. 0.95); got {level}")
    pairs = _check_pairs(pairs, n_players)
    if backgrounds is None:
        n_backgrounds = _count(n_backgrounds, "n_backgrounds", 1)
        rng = np.random.default_rng(seed)
        bg = rng.integers(0, 2, size=(len(pairs), n_backgrounds, n_players), dtype=np.uint8)
    else:
        shared = _checked(check_masks, backgrounds, n_players=n_players, name="backgrounds", min_rows=1)
        bg, seed = np.broadcast_to(shared, (len(pairs), *shared.shape)), None
    masks = pair_masks(pairs, bg).reshape(-1, n_players)
    question_ci = None
    if by_question:
        values, question_ci = _by_question(game, masks, len(pairs), bg.shape[1], n_boot, seed, level)
    else:
        values = _checked(check_values, game(masks), masks.shape[0])
    deltas = values.reshape(len(pairs), bg.shape[1], 4) @ SIGNS
    players = getattr(game, "players", None)
    players = tuple(tuple(int(x) for x in p) for p in players) if players is not None else None
    return PairInteractions(pairs, deltas, n_players, seed, players, level, question_ci)


def _by_question(game: Any, masks: np.ndarray, n_pairs: int, n_bg: int, n_boot: int, seed: int | None,
                 level: float) -> tuple[np.ndarray, np.ndarray]:
    """(values [n_masks] = per-question means, bootstrap interval over questions [n_pairs, 2])."""
    if not callable(getattr(game, "per_question", None)):
        raise InputError("by_question=True needs a game with per_question(masks) -> {metric: [n_masks, n_questions]} "
                         "(a headspex.MaskGame)")
    per_q = np.asarray(game.per_question(masks)[game.metric], dtype=np.float64)  # [n_masks, n_questions]
    n_q = per_q.shape[1]
    per_pair = (per_q.reshape(n_pairs, n_bg, 4, n_q) * SIGNS[None, None, :, None]).sum(2).mean(1)  # [n_pairs, n_q]
    rng = np.random.default_rng(None if seed is None else [seed, 1])
    idx = rng.integers(0, n_q, size=(_count(n_boot, "n_boot", 1), n_q))
    boots = per_pair[:, idx].mean(axis=2)  # [n_pairs, n_boot]
    alpha = (1.0 - level) / 2.0
    return per_q.mean(axis=1), np.quantile(boots, [alpha, 1.0 - alpha], axis=1).T


def compare_with_spectrum(measured: PairInteractions, spectrum: Any) -> pd.DataFrame:
    """Measured interactions beside the spectrum's prediction ``4 F({i, j})``, one row per pair.

    Columns: i, j, label, measured, ci_low, ci_high, predicted, sign_agrees (signs equal; a zero counts as no
    sign), ci_covers_prediction. ``.attrs``: ``spearman`` (rank correlation of measured vs predicted over pairs,
    NaN with fewer than 2 pairs or a constant column), ``spearman_p``, ``sign_agreement`` (fraction of pairs) and
    ``n_pairs``.
    """
    from scipy.stats import spearmanr

    fourier = spectrum.spectrum() if hasattr(spectrum, "spectrum") else spectrum
    if getattr(fourier, "n_players", None) != measured.n_players:
        raise InputError(f"the spectrum has {getattr(fourier, 'n_players', None)} players; the measured game "
                         f"{measured.n_players}")
    frame = measured.to_dataframe()[["i", "j", "label", "interaction", "ci_low", "ci_high"]]
    frame = frame.rename(columns={"interaction": "measured"})
    frame["predicted"] = [4.0 * fourier.coefficient((i, j)) for i, j in measured.pairs]
    frame["sign_agrees"] = np.sign(frame["measured"]) == np.sign(frame["predicted"])
    frame["ci_covers_prediction"] = (frame["ci_low"] <= frame["predicted"]) & (frame["predicted"] <= frame["ci_high"])
    rho, p = np.nan, np.nan
    if len(frame) >= 2 and frame["measured"].nunique() > 1 and frame["predicted"].nunique() > 1:
        result = spearmanr(frame["measured"], frame["predicted"])
        rho, p = float(result.statistic), float(result.pvalue)
    frame.attrs.update(spearman=rho, spearman_p=p, sign_agreement=float(frame["sign_agrees"].mean()),
                       n_pairs=len(frame))
    return frame
