"""Sparse spectra of set functions over heads: Fourier (parity) and Moebius (AND) bases.

Conventions (see DESIGN.md section 2):

- players are ``0..n-1``; a mask row ``m`` in {0,1}^n has ``m_i = 1`` when head ``i`` is KEPT;
- Fourier: ``chi_S(m) = (-1)^(sum_{i in S} m_i)`` and ``f(m) = sum_S F(S) chi_S(m)``;
- Moebius: ``f(m) = sum_{S subset of kept(m)} a(S)`` with ``a(S) = (-2)^|S| sum_{T >= S} F(T)``.

Both spectra are stored sparsely: a tuple of supports (sorted int tuples, ``()`` is the constant
term) and a float64 array of coefficients. Nothing ever builds a table over all 2^n subsets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from headspex.spectrum import sparse_sets as ss
from headspex._checks import Players, check_masks, check_players
from headspex.players import player_labels

Support = tuple[int, ...]

_SUPPORT_BLOCK = 2048  # supports per dense incidence block in predict
_MASK_BLOCK = 4096  # masks per block in predict


def _check_support(support: Any, n_players: int) -> Support:
    sup = tuple(int(i) for i in support)
    if any(b <= a for a, b in zip(sup, sup[1:])):
        raise ValueError(f"support {sup} must be strictly increasing (sorted, no repeats)")
    if sup and (sup[0] < 0 or sup[-1] >= n_players):
        raise ValueError(f"support {sup} has a player outside 0..{n_players - 1}")
    return sup


@dataclass(frozen=True, eq=False)
class _SparseSetFunction:
    """Shared storage and validation for the two bases. Use the subclasses."""

    n_players: int
    supports: tuple[Support, ...]
    coefficients: np.ndarray
    players: Players | None = None

    def __post_init__(self) -> None:
        if int(self.n_players) < 1:
            raise ValueError(f"n_players must be >= 1; got {self.n_players}")
        object.__setattr__(self, "n_players", int(self.n_players))
        sups = tuple(_check_support(s, self.n_players) for s in self.supports)
        if len(set(sups)) != len(sups):
            raise ValueError("supports must be unique; use from_dict to sum duplicates")
        coefs = np.array(self.coefficients, dtype=np.float64).reshape(-1)
        if coefs.shape[0] != len(sups):
            raise ValueError(f"need one coefficient per support: expected {len(sups)}, got {coefs.shape[0]}")
        if not np.isfinite(coefs).all():
            raise ValueError("coefficients must be finite")
        coefs.setflags(write=False)
        object.__setattr__(self, "supports", sups)
        object.__setattr__(self, "coefficients", coefs)
        object.__setattr__(self, "players", check_players(self.players, self.n_players))

    @classmethod
    def from_dict(
        cls,
        coefficients: Mapping[Sequence[int], float],
        n_players: int,
        *,
        players: Sequence[tuple[int, int]] | None = None,
    ):
        """Build from ``{support: coefficient}``; supports are sorted, duplicates summed."""
        merged: dict[Support, float] = {}
        for sup, val in coefficients.items():
            key = tuple(sorted(int(i) for i in sup))
            merged[key] = merged.get(key, 0.0) + float(val)
        sups = list(merged)
        order = ss.canonical_order(sups)
        return cls(
            n_players=n_players,
            supports=tuple(sups[k] for k in order),
            coefficients=np.array([merged[sups[k]] for k in order], dtype=np.float64),
            players=None if players is None else tuple(players),
        )

    @classmethod
    def _from_bits(cls, bits: np.ndarray, values: np.ndarray, n_players: int, players: Players | None):
        """Build from bitset rows (summing duplicates), dropping exact zeros, canonical order."""
        bits, values = ss.sum_by_set(bits, values)
        keep = values != 0.0
        sups = ss.bits_to_supports(bits[keep])
        values = values[keep]
        order = ss.canonical_order(sups)
        return cls(n_players, tuple(sups[k] for k in order), values[order], players)

    def __len__(self) -> int:
        return len(self.supports)

    def __iter__(self) -> Iterator[tuple[Support, float]]:
        return iter(zip(self.supports, self.coefficients.tolist()))

    def as_dict(self) -> dict[Support, float]:
        """``{support: coefficient}``."""
        return dict(zip(self.supports, self.coefficients.tolist()))

    def coefficient(self, support: Sequence[int]) -> float:
        """Coefficient of one set (0.0 when absent)."""
        return self.as_dict().get(tuple(sorted(int(i) for i in support)), 0.0)

    @property
    def orders(self) -> np.ndarray:
        """Size of each support, ``int64 [n_terms]``."""
        return np.fromiter((len(s) for s in self.supports), dtype=np.int64, count=len(self.supports))

    @property
    def max_order(self) -> int:
        """Largest support size (0 for a constant)."""
        return int(self.orders.max()) if len(self) else 0

    def support_labels(self) -> list[str]:
        """One label per support: ``"L0H1*L2H3"`` with players, ``"0*5"`` without, ``"const"``."""
        names = player_labels(self.players) if self.players else [str(i) for i in range(self.n_players)]
        return ["*".join(names[i] for i in s) if s else "const" for s in self.supports]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per term, largest ``|coefficient|`` first.

        Columns: ``support`` (tuple), ``label``, ``order``, ``coefficient``.
        """
        df = pd.DataFrame(
            {
                "support": list(self.supports),
                "label": self.support_labels(),
                "order": self.orders,
                "coefficient": self.coefficients,
            }
        )
        by_size = np.argsort(-np.abs(self.coefficients), kind="stable")
        return df.iloc[by_size].reset_index(drop=True)

    def _kept_counts(self, masks: np.ndarray) -> Iterator[tuple[slice, slice, np.ndarray, np.ndarray]]:
        """For blocks of masks and supports: how many players of each support are kept."""
        for rows in range(0, masks.shape[0], _MASK_BLOCK):
            m = masks[rows : rows + _MASK_BLOCK].astype(np.float32)
            row_slice = slice(rows, rows + m.shape[0])
            for cols, inc, sizes in ss.incidence_blocks(self.supports, self.n_players, _SUPPORT_BLOCK):
                yield row_slice, cols, m @ inc, sizes

    def _spread_to_subsets(self, weight) -> tuple[np.ndarray, np.ndarray]:
        """Send each coefficient of a support of size d to all its 2^d subsets.

        ``weight(d, subset_sizes)`` gives the factor for each subset size. Returns bitset rows and
        values (not yet summed).
        """
        all_bits, all_vals = [], []
        orders = self.orders
        for d in np.unique(orders):
            idx = np.nonzero(orders == d)[0]
            elems = np.array([self.supports[k] for k in idx], dtype=np.int64).reshape(len(idx), int(d))
            subset_bits = ss.subset_xors(ss.player_bits(elems, self.n_players))
            sizes = np.array([bin(s).count("1") for s in range(1 << int(d))])
            vals = self.coefficients[idx, None] * weight(int(d), sizes)[None, :]
            all_bits.append(subset_bits.reshape(-1, subset_bits.shape[-1]))
            all_vals.append(vals.reshape(-1))
        if not all_bits:
            return np.zeros((0, ss.n_words(self.n_players)), np.uint64), np.zeros(0)
        return np.concatenate(all_bits), np.concatenate(all_vals)


@dataclass(frozen=True, eq=False)
class FourierSpectrum(_SparseSetFunction):
    """Sparse Fourier (Walsh-Hadamard) spectrum ``f(m) = sum_S F(S) (-1)^(sum_{i in S} m_i)``.

    Attributes:
        n_players: number of players n.
        supports: sorted player tuples, ``()`` is the constant term.
        coefficients: ``float64 [n_terms]``, F(S) per support.
        players: optional ``(layer, head)`` per player (labels ``L{layer}H{head}``).
    """

    def predict(self, masks: Any) -> np.ndarray:
        """Evaluate on binary masks ``[n_masks, n_players]`` -> ``float64 [n_masks]``."""
        m = check_masks(masks, n_players=self.n_players)
        out = np.zeros(m.shape[0], dtype=np.float64)
        for rows, cols, counts, _ in self._kept_counts(m):
            chi = 1.0 - 2.0 * np.mod(counts, 2.0).astype(np.float64)
            out[rows] += chi @ self.coefficients[cols]
        return out

    def spectrum(self) -> FourierSpectrum:
        """Itself (the set-function protocol: every predictor hands out its Fourier spectrum)."""
        return self

    def to_moebius(self) -> MoebiusSpectrum:
        """Moebius coefficients ``a(S) = (-2)^|S| sum_{T >= S} F(T)`` (sparse, exact)."""
        bits, vals = self._spread_to_subsets(lambda d, sizes: (-2.0) ** sizes)
        return MoebiusSpectrum._from_bits(bits, vals, self.n_players, self.players)

    def truncate(self, max_order: int) -> FourierSpectrum:
        """Keep only terms with ``|S| <= max_order`` (the best degree-``max_order`` L2 fit)."""
        if max_order < 0:
            raise ValueError(f"max_order must be >= 0; got {max_order}")
        keep = self.orders <= max_order
        return self._subset(np.nonzero(keep)[0])

    def top(self, k: int, *, keep_constant: bool = True) -> FourierSpectrum:
        """The ``k`` non-constant terms with largest ``|F(S)|``, largest first.

        With ``keep_constant`` the constant term (if any) is kept as well, in front, so the result
        is still a usable predictor.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0; got {k}")
        nonconst = np.nonzero(self.orders > 0)[0]
        by_size = nonconst[np.argsort(-np.abs(self.coefficients[nonconst]), kind="stable")][:k]
        const = np.nonzero(self.orders == 0)[0] if keep_constant else np.zeros(0, np.int64)
        return self._subset(np.concatenate([const, by_size]))

    def energy_by_order(self) -> dict[int, float]:
        """``{order: sum of F(S)^2 over |S| = order}`` (order 0 = squared constant)."""
        orders = self.orders
        return {int(d): float(np.sum(self.coefficients[orders == d] ** 2)) for d in np.unique(orders)}

    @property
    def nonconstant_energy(self) -> float:
        """``sum_{|S|>=1} F(S)^2``: the variance of f over uniform random masks."""
        return float(np.sum(self.coefficients[self.orders > 0] ** 2))

    @property
    def constant(self) -> float:
        """``F(())``: the mean of f over uniform random masks."""
        return self.coefficient(())

    def _subset(self, idx: np.ndarray) -> FourierSpectrum:
        return FourierSpectrum(
            self.n_players, tuple(self.supports[i] for i in idx), self.coefficients[idx], self.players
        )


@dataclass(frozen=True, eq=False)
class MoebiusSpectrum(_SparseSetFunction):
    """Sparse Moebius (AND-basis) coefficients: ``f(m) = sum_{S subset of kept(m)} a(S)``."""

    def predict(self, masks: Any) -> np.ndarray:
        """Evaluate on binary masks ``[n_masks, n_players]`` -> ``float64 [n_masks]``."""
        m = check_masks(masks, n_players=self.n_players)
        out = np.zeros(m.shape[0], dtype=np.float64)
        for rows, cols, counts, sizes in self._kept_counts(m):
            contained = (counts == sizes[None, :].astype(np.float32)).astype(np.float64)
            out[rows] += contained @ self.coefficients[cols]
        return out

    def spectrum(self) -> FourierSpectrum:
        """The same function in the Fourier basis (the set-function protocol)."""
        return self.to_fourier()

    def to_fourier(self) -> FourierSpectrum:
        """Fourier coefficients ``F(T) = (-1)^|T| sum_{S >= T} 2^-|S| a(S)``."""
        bits, vals = self._spread_to_subsets(lambda d, sizes: (-1.0) ** sizes * 0.5**d)
        return FourierSpectrum._from_bits(bits, vals, self.n_players, self.players)

    def restrict(self, kept: Any) -> MoebiusSpectrum:
        """The function with every player outside ``kept`` fixed at 0 (removed), over the kept players only.

        ``kept``: distinct player indices; player ``kept[j]`` becomes player ``j`` (its ``(layer, head)``
        goes along). Terms touching a removed player vanish (their AND is 0), so for a mask ``m`` over
        the kept players ``restrict(kept).predict(m)`` equals ``predict`` of the full mask that is ``m``
        on ``kept`` and 0 elsewhere.
        """
        idx = np.asarray(kept).reshape(-1)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"kept must be player indices (integers); got dtype {idx.dtype}")
        idx = idx.astype(np.int64)
        if idx.size == 0:
            raise ValueError("kept must name at least one player")
        if idx.min() < 0 or idx.max() >= self.n_players:
            raise ValueError(f"kept has a player outside 0..{self.n_players - 1}")
        if np.unique(idx).size != idx.size:
            raise ValueError("kept must not repeat a player")
        local = {int(p): j for j, p in enumerate(idx)}
        terms = {tuple(local[i] for i in sup): a for sup, a in self if all(i in local for i in sup)}
        players = None if self.players is None else tuple(self.players[int(p)] for p in idx)
        return MoebiusSpectrum.from_dict(terms, n_players=len(idx), players=players)


def fourier_features(masks: Any, supports: Sequence[Support], n_players: int) -> np.ndarray:
    """Design matrix of Fourier characters: ``chi_S(m)`` for each mask and support.

    Args:
        masks: binary ``[n_masks, n_players]``.
        supports: sorted player tuples (``()`` gives a column of ones).
        n_players: number of players.

    Returns:
        ``float64 [n_masks, len(supports)]`` with entries +-1.
    """
    m = check_masks(masks, n_players=n_players).astype(np.float32)
    out = np.empty((m.shape[0], len(supports)), dtype=np.float64)
    for cols, inc, _ in ss.incidence_blocks(list(supports), n_players, _SUPPORT_BLOCK):
        out[:, cols] = 1.0 - 2.0 * np.mod(m @ inc, 2.0)
    return out
