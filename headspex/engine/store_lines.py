"""One line of a value store's ``values.jsonl``: written with a checksum of its content, read back only when the
checksum holds and every value is possible.

A line is ``{"mask": <hex of packed bits>, "accuracy": .., "logprob": .., "margin": .., "sum": <checksum>}``. The
checksum is the first 16 hex digits of the SHA-256 of the line's content without it (keys sorted), so a hand edit
of any value is noticed. Possible values: accuracy in [0, 1], a log-probability <= 0 (a mean of log-softmax
values), a finite margin. Lines written before checksums existed (headspex < 0.3) have no ``sum``; they are read
as they are, and the store says so once.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from tasks.scoring import METRICS as METRIC_NAMES

__all__ = ["CHECKSUM", "encode_line", "line_checksum", "parse_line", "value_problem"]

CHECKSUM = "sum"
LOGPROB_SLACK = 1e-6  # float rounding of log-softmax at a near-certain answer


def line_checksum(record: dict[str, Any]) -> str:
    """The checksum of a line's content (``record`` without its ``sum``)."""
    body = {k: v for k, v in record.items() if k != CHECKSUM}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def encode_line(key: str, values: dict[str, float]) -> str:
    """The line for mask ``key`` with ``values`` (one float per metric), checksum included, newline ended."""
    record = {"mask": key, **{m: float(values[m]) for m in METRIC_NAMES}}
    return json.dumps({**record, CHECKSUM: line_checksum(record)}) + "\n"


def value_problem(metric: str, value: float) -> str | None:
    """What is impossible about ``value`` for ``metric``, or None."""
    if not math.isfinite(value):
        return f"{metric}={value} is not finite"
    if metric == "accuracy" and not 0.0 <= value <= 1.0:
        return f"accuracy={value} is outside [0, 1]"
    if metric == "logprob" and value > LOGPROB_SLACK:
        return f"logprob={value} is above 0, impossible for a log-probability"
    return None


def parse_line(raw: bytes, n_players: int | None) -> tuple[str, dict[str, float], bool] | str:
    """(mask key, metrics, has a checksum) of one line, or what is wrong with it."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        return f"is not UTF-8 text (bad byte at column {e.start + 1})"
    except json.JSONDecodeError as e:
        return f"is not valid JSON ({e.msg} at column {e.colno})"
    if not isinstance(obj, dict):
        return "is not a JSON object"
    key = obj.get("mask")
    if not _valid_key(key, n_players):
        return f'has no valid "mask" (expected the lowercase hex of {n_players or "the"} packed mask bits)'
    missing = [m for m in METRIC_NAMES if m not in obj]
    if missing:
        return f"lacks the metric{'s' * (len(missing) > 1)} {', '.join(missing)}"
    bad = [m for m in METRIC_NAMES if not _number(obj[m])]
    if bad:
        return f"has a non-numeric {', '.join(bad)}"
    if CHECKSUM in obj and obj[CHECKSUM] != line_checksum(obj):
        return "fails its checksum (the line was edited or corrupted after headspex wrote it)"
    problems = [p for m in METRIC_NAMES if (p := value_problem(m, float(obj[m])))]
    if problems:
        return f"holds an impossible value ({'; '.join(problems)})"
    return key, {m: float(obj[m]) for m in METRIC_NAMES}, CHECKSUM in obj


def _valid_key(key: Any, n_players: int | None) -> bool:
    if not isinstance(key, str) or not key:
        return False
    try:
        packed = bytes.fromhex(key)
    except ValueError:
        return False
    return packed.hex() == key and (n_players is None or len(packed) == (n_players + 7) // 8)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
