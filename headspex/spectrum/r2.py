"""The coefficient of determination, the one R^2 every fit and faithfulness check reports."""

from __future__ import annotations

from typing import Any

import numpy as np


def r2_score(y_true: Any, y_pred: Any) -> float:
    """``1 - SSE / SST`` for 1-D arrays; NaN when ``y_true`` is constant."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {y.shape[0]} and {p.shape[0]}")
    var = float(np.var(y))
    return float("nan") if var == 0.0 else 1.0 - float(np.mean((y - p) ** 2)) / var
