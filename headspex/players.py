"""Players are attention heads ``(layer, head)``, 0-based, in layer-major order.

Within an analysed set of layers, player index ``i = position_of_layer * n_heads + head``; labels are
``"L{layer}H{head}"``. The CLI writes layer ranges 1-based and inclusive, as the paper does.
"""

from __future__ import annotations

from typing import Iterable, Sequence

Player = tuple[int, int]


def layer_players(layers: Iterable[int], n_heads: int) -> list[Player]:
    """All heads of ``layers`` (0-based) in layer-major order."""
    return [(int(layer), h) for layer in sorted(set(layers)) for h in range(n_heads)]


def player_labels(players: Sequence[Player]) -> list[str]:
    """``["L{layer}H{head}", ...]`` (0-based layers)."""
    return [f"L{layer}H{head}" for layer, head in players]


def parse_layer_ranges(text: str, n_layers: int) -> list[list[int]]:
    """Parse 1-based inclusive ranges such as ``"1-3,14-16,30"`` into 0-based layer lists.

    Presets: ``initial``, ``middle``, ``final`` (three layers each) and ``paper`` (all three).
    """
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1; got {n_layers}")
    out: list[list[int]] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        if part in PRESETS:
            out.extend(PRESETS[part](n_layers))
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ValueError(
                f"bad layer range {part!r}: expected 1-based inclusive ranges like '1-3,14-16' or a preset "
                f"({', '.join(PRESETS)})"
            ) from None
        if not (1 <= a <= b <= n_layers):
            raise ValueError(f"layer range {part!r} is outside the model: layers are 1..{n_layers} (1-based, inclusive)")
        out.append(list(range(a - 1, b)))
    if not out:
        raise ValueError(f"no layer range given in {text!r}")
    return out


def format_layer_range(layers: Sequence[int]) -> str:
    """0-based layers -> the paper's 1-based label, e.g. [0, 1, 2] -> '1-3'."""
    lo, hi = min(layers) + 1, max(layers) + 1
    return f"{lo}-{hi}" if hi > lo else str(lo)


def _initial(n: int) -> list[list[int]]:
    return [list(range(0, min(3, n)))]


def _middle(n: int) -> list[list[int]]:
    start = max(0, n // 2 - 2)
    return [list(range(start, min(start + 3, n)))]


def _final(n: int) -> list[list[int]]:
    return [list(range(max(0, n - 3), n))]


PRESETS = {
    "initial": _initial,
    "middle": _middle,
    "final": _final,
    "paper": lambda n: _initial(n) + _middle(n) + _final(n),
}
