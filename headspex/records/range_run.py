"""What one range of the layer-range study measured (:class:`RangeRun`), as plain arrays: its selections, test and
training scores, random masks, the proxy's held-out R^2 and energy shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from headspex.selection.select import Selection

CEILING_DROP = 0.05  # a range whose random masks lose less test accuracy than this is "at ceiling"


@dataclass
class RangeRun:
    """Everything measured on one range for one seed (plain arrays; saved and reloaded by ``results``).

    random: keep -> {"accuracy", "logprob"}: [n_random] test scores of random k-head masks (the pilot).
    test: (keep, method) -> {"accuracy", "logprob"}: [n_test] per-question float32 test scores.
    train: (keep, method) -> {"accuracy", "logprob", "margin"}: true training value of the selected mask.
    heldout: "uniform" or keep -> {"r2", "predicted", "true"} of the proxy on masks it never saw.
    evaluations: method -> model evaluations (masks x training questions are one evaluation per mask).
    """

    layers: tuple[int, ...]
    players: list[tuple[int, int]]
    keep_k: dict[float, int]
    proxy_summary: dict
    heads: pd.DataFrame
    selections: dict[tuple[float, str], Selection] = field(default_factory=dict)
    random: dict[float, dict[str, np.ndarray]] = field(default_factory=dict)
    test: dict[tuple[float, str], dict[str, np.ndarray]] = field(default_factory=dict)
    train: dict[tuple[float, str], dict[str, float]] = field(default_factory=dict)
    heldout: dict[Any, dict[str, Any]] = field(default_factory=dict)
    evaluations: dict[str, int] = field(default_factory=dict)
    energy: Any = None
    top_interactions: pd.DataFrame | None = None


