"""Low-level helpers for sparse set functions over players 0..n-1.

Sets of players are handled in bulk as bitsets: one row of ``uint64`` words per set
(bit ``i % 64`` of word ``i // 64`` is player ``i``). Bitsets make the two operations the
spectrum code needs cheap and vectorised:

- symmetric difference (XOR), which is how Fourier characters multiply
  (chi_A * chi_B = chi_{A xor B});
- summing coefficients that land on the same set (``np.unique`` over rows).

Nothing here knows about trees or games; see ``spectrum.py`` and ``tree_spectrum.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

Support = tuple[int, ...]


def n_words(n_players: int) -> int:
    """Number of 64-bit words needed for a bitset over ``n_players`` players."""
    return max(1, (n_players + 63) // 64)


def player_bits(players: np.ndarray, n_players: int) -> np.ndarray:
    """One-hot bitsets of single players.

    Args:
        players: int array of any shape ``[...]`` with entries in ``0..n_players-1``.
        n_players: number of players.

    Returns:
        ``uint64`` array ``[..., n_words]`` with exactly one bit set per entry.
    """
    players = np.asarray(players, dtype=np.int64)
    out = np.zeros(players.shape + (n_words(n_players),), dtype=np.uint64)
    word = players // 64
    bit = (players % 64).astype(np.uint64)
    np.put_along_axis(out, word[..., None], (np.uint64(1) << bit)[..., None], axis=-1)
    return out


def subset_xors(element_bits: np.ndarray) -> np.ndarray:
    """XOR of every subset of ``d`` elements, for a batch of element lists.

    Args:
        element_bits: ``uint64`` ``[batch, d, n_words]``, the bitset of each element.

    Returns:
        ``uint64`` ``[batch, 2**d, n_words]``; entry ``s`` is the XOR of the elements whose
        position ``k`` has bit ``k`` set in ``s``. When the elements are distinct this is the
        subset itself; a repeated element cancels (symmetric difference).
    """
    batch, depth, words = element_bits.shape
    out = np.zeros((batch, 1 << depth, words), dtype=np.uint64)
    for s in range(1, 1 << depth):
        low = (s & -s).bit_length() - 1  # position of the lowest set bit of s
        out[:, s] = out[:, s & (s - 1)] ^ element_bits[:, low]
    return out


def popcounts(bits: np.ndarray) -> np.ndarray:
    """Number of players in each bitset row: ``[..., n_words] -> [...]`` int64."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(bits).sum(axis=-1, dtype=np.int64)
    as_bytes = np.ascontiguousarray(bits.astype("<u8")).view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1, dtype=np.int64)


def sum_by_set(bits: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``values`` over identical sets.

    Args:
        bits: ``uint64`` ``[rows, n_words]`` bitsets.
        values: ``float64`` ``[rows]``.

    Returns:
        ``(unique_bits [k, n_words], sums [k])``.
    """
    if bits.shape[0] == 0:
        return bits.reshape(0, bits.shape[1]), np.zeros(0)
    unique, inverse = np.unique(bits, axis=0, return_inverse=True)
    sums = np.bincount(inverse.reshape(-1), weights=values, minlength=unique.shape[0])
    return unique, sums


def bits_to_supports(bits: np.ndarray) -> list[Support]:
    """Convert bitset rows ``[k, n_words]`` to sorted player tuples."""
    if bits.shape[0] == 0:
        return []
    as_bytes = np.ascontiguousarray(bits.astype("<u8")).view(np.uint8)
    flags = np.unpackbits(as_bytes, axis=1, bitorder="little")
    rows, cols = np.nonzero(flags)
    splits = np.searchsorted(rows, np.arange(1, bits.shape[0]))
    return [tuple(int(c) for c in chunk) for chunk in np.split(cols, splits)]


def supports_to_bits(supports: Sequence[Support], n_players: int) -> np.ndarray:
    """Convert sorted player tuples to bitset rows ``[k, n_words]``."""
    out = np.zeros((len(supports), n_words(n_players)), dtype=np.uint64)
    sizes = np.fromiter((len(s) for s in supports), dtype=np.int64, count=len(supports))
    if sizes.sum() == 0:
        return out
    rows = np.repeat(np.arange(len(supports)), sizes)
    cols = np.fromiter((i for s in supports for i in s), dtype=np.int64, count=int(sizes.sum()))
    np.bitwise_or.at(out, (rows, cols // 64), np.uint64(1) << (cols % 64).astype(np.uint64))
    return out


def canonical_order(supports: Sequence[Support]) -> np.ndarray:
    """Permutation sorting supports by (order, then lexicographically)."""
    keys = sorted(range(len(supports)), key=lambda k: (len(supports[k]), supports[k]))
    return np.asarray(keys, dtype=np.int64)


def incidence_blocks(
    supports: Sequence[Support], n_players: int, block: int
) -> Iterable[tuple[slice, np.ndarray, np.ndarray]]:
    """Yield dense 0/1 incidence blocks ``[n_players, <=block]`` (float32) and set sizes.

    ``masks @ incidence`` then counts, for every mask and set, how many of the set's players
    are kept; parity and containment tests follow from the count.
    """
    for start in range(0, len(supports), block):
        chunk = supports[start : start + block]
        inc = np.zeros((n_players, len(chunk)), dtype=np.float32)
        sizes = np.fromiter((len(s) for s in chunk), dtype=np.int64, count=len(chunk))
        rows = np.fromiter((i for s in chunk for i in s), dtype=np.int64, count=int(sizes.sum()))
        cols = np.repeat(np.arange(len(chunk)), sizes)
        inc[rows, cols] = 1.0
        yield slice(start, start + len(chunk)), inc, sizes
