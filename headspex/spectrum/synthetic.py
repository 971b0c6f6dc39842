"""Synthetic games with a planted sparse Fourier spectrum, for tests and benchmarks.

A planted game is ``f(m) = sum_S F(S) chi_S(m) + noise`` with a few planted sets S of size up to
``max_order``. With ``hierarchical=True`` every non-empty subset of a planted set is planted too
(a pair {i, j} comes with its main effects {i} and {j}; a triple with its three pairs and three
singletons), the structure that makes greedy trees find interactions and the one the ProxySPEX
paper reports in LLMs. Masks are uniform (each head kept with probability 1/2), so the noise-free
signal has variance ``sum_{S != ()} F(S)^2`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from headspex._checks import check_masks
from headspex.spectrum.fourier import FourierSpectrum


@dataclass(frozen=True, eq=False)
class PlantedGame:
    """A game with a known sparse Fourier spectrum.

    Attributes:
        spectrum: the true (noise-free) spectrum.
        noise_std: standard deviation of the additive Gaussian noise of each call.
        planted_top: the sampled top-level sets (before adding their subsets).
        seed: seed of the noise stream.

    Calling the game on ``masks [n_masks, n_players]`` returns ``float64 [n_masks]``; each call draws
    fresh noise from the game's own generator (so a game object is reproducible call by call).
    """

    spectrum: FourierSpectrum
    noise_std: float
    planted_top: tuple[tuple[int, ...], ...]
    seed: int
    _rng: np.random.Generator = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @property
    def n_players(self) -> int:
        return self.spectrum.n_players

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        m = check_masks(masks, n_players=self.n_players)
        clean = self.spectrum.predict(m)
        if self.noise_std == 0.0:
            return clean
        return clean + self._rng.normal(0.0, self.noise_std, size=clean.shape[0])

    def planted_supports(self) -> set[tuple[int, ...]]:
        """All non-constant planted sets (top-level sets and, if hierarchical, their subsets)."""
        return {s for s in self.spectrum.supports if s}


def planted_game(
    n_players: int,
    *,
    n_terms: int,
    max_order: int = 3,
    hierarchical: bool = True,
    noise: float = 0.0,
    min_magnitude: float = 0.5,
    max_magnitude: float = 1.0,
    constant: float = 0.0,
    seed: int = 0,
) -> PlantedGame:
    """Sample a game with ``n_terms`` planted interactions of order 1..``max_order``.

    Args:
        n_players: number of players n.
        n_terms: number of top-level planted sets; their orders are drawn uniformly from
            1..max_order and their players uniformly without replacement.
        max_order: largest planted interaction order.
        hierarchical: also plant every non-empty subset of each planted set.
        noise: noise standard deviation RELATIVE to the signal's standard deviation over uniform
            masks (0.1 means the best achievable R^2 is 1 / (1 + 0.1^2) ~ 0.99).
        min_magnitude, max_magnitude: each coefficient is ``sign * U(min, max)``, random sign.
        constant: F(()).
        seed: seeds both the planted structure and the noise stream.

    Returns:
        PlantedGame (callable) holding the true spectrum.
    """
    if n_players < 1 or n_terms < 0:
        raise ValueError(f"need n_players >= 1 and n_terms >= 0; got {n_players}, {n_terms}")
    if not 1 <= max_order <= n_players:
        raise ValueError(f"max_order must be in 1..{n_players}; got {max_order}")
    if noise < 0 or not 0 < min_magnitude <= max_magnitude:
        raise ValueError("need noise >= 0 and 0 < min_magnitude <= max_magnitude")
    rng = np.random.default_rng(seed)
    top: list[tuple[int, ...]] = []
    while len(top) < n_terms:
        order = int(rng.integers(1, max_order + 1))
        s = tuple(sorted(int(i) for i in rng.choice(n_players, size=order, replace=False)))
        if s not in top:
            top.append(s)
    sets: set[tuple[int, ...]] = set(top)
    if hierarchical:
        for s in top:
            for r in range(1, len(s)):
                sets.update(combinations(s, r))
    ordered = sorted(sets, key=lambda s: (len(s), s))
    mags = rng.uniform(min_magnitude, max_magnitude, size=len(ordered))
    signs = rng.choice([-1.0, 1.0], size=len(ordered))
    coefs = dict(zip(ordered, (mags * signs).tolist()))
    coefs[()] = float(constant)
    spectrum = FourierSpectrum.from_dict(coefs, n_players)
    noise_std = float(noise * np.sqrt(spectrum.nonconstant_energy))
    return PlantedGame(spectrum, noise_std, tuple(top), seed, np.random.default_rng([seed, 1]))
