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


USER_CONVENTION = "labels L{layer}H{head}: layers 1-based as in --layers, heads 0-based"


def head_label(layer: int, head: int) -> str:
    """The label users read for the head ``(layer, head)`` (0-based layer index in code): ``(0, 3) -> "L1H3"``.
    Every table, figure and CSV written for users names heads this way, and a CSV's layer column says its base
    (``layer_1based``)."""
    return f"L{int(layer) + 1}H{int(head)}"


def player_labels(players: Sequence[Player]) -> list[str]:
    """``["L{layer}H{head}", ...]`` (0-based layers)."""
    return [f"L{layer}H{head}" for layer, head in players]


def parse_layer_ranges(text: str, n_layers: int, n_heads: int | None = None) -> list[list[int]]:
    """Parse 1-based inclusive ranges such as ``"1-3,14-16,30"`` into 0-based layer lists.

    Presets: ``initial``, ``middle``, ``final`` (each ``ceil(96 / n_heads)`` layers, the paper's 96 heads
    per range; three layers when ``n_heads`` is not given), ``paper`` (all three) and ``all`` (every
    layer, one range). ``+`` joins pieces into one range analysed as one game: ``"1-10+21-30"``.
    """
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1; got {n_layers}")
    width = preset_width(n_layers, n_heads)
    out: list[list[int]] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        if part in PRESETS:
            out.extend(PRESETS[part](n_layers, width))
            continue
        union = sorted({layer for piece in part.split("+") for layer in _parse_one(piece.strip(), n_layers, width)})
        out.append(union)
    if not out:
        raise ValueError(f"no layer range given in {text!r}")
    return out


def preset_width(n_layers: int, n_heads: int | None) -> int:
    """Layers per preset range: ``ceil(96 / n_heads)`` (3 on Llama-3.1-8B's 32 heads), at most the model."""
    return min(n_layers, 3 if n_heads is None else -(-PAPER_RANGE_HEADS // n_heads))


def _parse_one(piece: str, n_layers: int, width: int) -> list[int]:
    """One piece of a union: a 1-based range, or a single-range preset (``all``, ``initial``, ...)."""
    if piece in PRESETS and piece != "paper":
        return PRESETS[piece](n_layers, width)[0]
    return _parse_range(piece, n_layers)


def _parse_range(part: str, n_layers: int) -> list[int]:
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
    return list(range(a - 1, b))


def format_layer_range(layers: Sequence[int]) -> str:
    """0-based layers -> the paper's 1-based label, e.g. [0, 1, 2] -> '1-3', [0, 1, 5] -> '1-2+6'."""
    runs: list[list[int]] = []
    for layer in sorted(set(int(x) + 1 for x in layers)):
        if runs and layer == runs[-1][-1] + 1:
            runs[-1].append(layer)
        else:
            runs.append([layer])
    return "+".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _initial(n: int, width: int) -> list[list[int]]:
    return [list(range(0, width))]


def _middle(n: int, width: int) -> list[list[int]]:
    start = (n - width) // 2
    return [list(range(start, start + width))]


def _final(n: int, width: int) -> list[list[int]]:
    return [list(range(n - width, n))]


PAPER_RANGE_HEADS = 96  # 3 layers x 32 heads of Llama-3.1-8B, the paper's ranges
PRESETS = {
    "initial": _initial,
    "middle": _middle,
    "final": _final,
    "paper": lambda n, w: _initial(n, w) + _middle(n, w) + _final(n, w),
    "all": lambda n, w: [list(range(n))],
}
