"""Tables both kinds of seed share (scores, random draws, training values, selections, unpruned scores),
built from and read back into the dicts of the result objects."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import pandas as pd

from headspex.records.format import to_json
from headspex.selection.select import Selection

CLEAN_TABLE = "clean_per_question.csv"  # stands in the record's "clean" for the per-question lists
PER_QUESTION = "test_per_question"
KEYS = {"seed": "int64", "range": "str", "level": "float64", "k": "int64", "method": "str"}
SELECTION = {**KEYS, "how": "str", "objective": "float64", "optimal": "bool", "seconds": "float64", "details": "str",
             "mask_key": "str", "mask_row": "int64"}


def typed(rows: Sequence[dict], types: dict[str, str]) -> pd.DataFrame:
    """A table of ``rows`` with the columns and dtypes of ``types`` (so an empty table keeps them too)."""
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=t) for c, t in types.items()})


def _long(items: Sequence[tuple], seed: int, index: str, with_method: bool, defaults: tuple[str, ...]) -> pd.DataFrame:
    """items: (range, level, k, [method,] {metric: array}): one row per array entry, numbered by ``index``."""
    names = ["range", "level", "k", "method"] if with_method else ["range", "level", "k"]
    metrics = list(items[0][-1]) if items else list(defaults)
    sizes = [len(np.asarray(next(iter(item[-1].values())))) for item in items]
    columns: dict[str, Any] = {"seed": np.full(sum(sizes), seed, np.int64)}
    for j, name in enumerate(names):
        columns[name] = pd.Series([item[j] for item, n in zip(items, sizes) for _ in range(n)], dtype=KEYS[name])
    columns[index] = np.concatenate([np.arange(n) for n in sizes]).astype(np.int64) if items else np.zeros(0, np.int64)
    for m in metrics:
        columns[m] = np.concatenate([np.asarray(item[-1][m]) for item in items]) if items else np.zeros(0)
    return pd.DataFrame(columns)


def scores(items: Sequence[tuple], seed: int) -> pd.DataFrame:
    """``scores.csv``: items (range, level, k, method, {metric: [n_test]}): one row per question."""
    return _long(items, seed, "question", True, ("accuracy", "logprob"))


def random_draws(items: Sequence[tuple], seed: int) -> pd.DataFrame:
    """``random.csv``: items (range, level, k, {metric: [n_random]}): one row per random mask."""
    return _long(items, seed, "draw", False, ("accuracy",))


def metric_columns(table: pd.DataFrame, index: str) -> list[str]:
    """The value columns of a long table: those after its ``index`` column."""
    columns = list(table.columns)
    return columns[columns.index(index) + 1:]


def train(items: Sequence[tuple], seed: int) -> pd.DataFrame:
    """``train.csv``: items (range, level, k, method, {metric: value}): one row per selected set."""
    metrics = list(items[0][-1]) if items else ["value"]
    rows = [dict(seed=seed, range=r, level=level, k=k, method=m, **{name: float(v[name]) for name in metrics})
            for r, level, k, m, v in items]
    return typed(rows, {**KEYS, **{name: "float64" for name in metrics}})


def read_train(table: pd.DataFrame) -> dict[tuple, dict[str, float]]:
    """``{(level, k, method): {metric: value}}`` in row order."""
    metrics = metric_columns(table, "method")
    values = {m: table[m].tolist() for m in metrics}
    keys = zip(table["level"].tolist(), table["k"].tolist(), table["method"].tolist())
    return {key: {m: values[m][i] for m in metrics} for i, key in enumerate(keys)}


def selection_rows(chosen: Sequence[tuple], mask_key: str) -> list[dict]:
    """Rows of ``selections.csv``: chosen (range, level, k, method, Selection), masks at ``mask_key`` rows."""
    return [dict(range=r, level=level, k=k, method=m, how=s.method, objective=s.objective, optimal=s.optimal,
                 seconds=s.seconds, details=to_json(s.details), mask_key=mask_key, mask_row=i)
            for i, (r, level, k, m, s) in enumerate(chosen)]


def selections_frame(rows: list[dict], seed: int) -> pd.DataFrame:
    return typed([{"seed": seed, **r} for r in rows], SELECTION)


def stacked_masks(selections: Sequence[Selection], n_players: int) -> np.ndarray:
    """``uint8 [len(selections), n_players]``: the kept sets one per row."""
    if not selections:
        return np.zeros((0, n_players), np.uint8)
    return np.stack([np.asarray(s.mask, np.uint8) for s in selections])


def read_selections(table: pd.DataFrame, masks: dict[str, np.ndarray]) -> dict[tuple, Selection]:
    """``{(range, level, k, method): Selection}`` in row order, masks from ``masks.npz``."""
    out = {}
    for row in table.itertuples(index=False):
        mask = masks[row.mask_key][int(row.mask_row)]
        out[(row.range, float(row.level), int(row.k), row.method)] = Selection(
            mask, int(row.k), str(row.how), objective=float(row.objective), optimal=bool(row.optimal),
            seconds=float(row.seconds), details=json.loads(row.details))
    return out


def clean_summary(clean: dict) -> dict:
    """The unpruned scores for ``record.json``: the per-question lists point to ``clean_per_question.csv``."""
    return {k: (CLEAN_TABLE if k == PER_QUESTION else v) for k, v in clean.items()}


def clean_per_question(clean: dict, seed: int) -> pd.DataFrame:
    """``clean_per_question.csv``: seed, question, one column per metric."""
    per_q = clean.get(PER_QUESTION) or {}
    n = len(next(iter(per_q.values()))) if per_q else 0
    frame = pd.DataFrame({"seed": np.full(n, seed, np.int64), "question": np.arange(n, dtype=np.int64)})
    for metric, values in per_q.items():
        frame[metric] = np.asarray(values, np.float64)
    return frame


def read_clean(summary: dict, table: pd.DataFrame) -> dict:
    """The unpruned scores back as a dict, per-question lists included where they were stored."""
    per_q = {m: table[m].tolist() for m in metric_columns(table, "question")}
    return {k: (per_q if k == PER_QUESTION and v == CLEAN_TABLE else v) for k, v in summary.items()}


__all__ = ["CLEAN_TABLE", "clean_per_question", "clean_summary", "metric_columns", "random_draws", "read_clean",
           "read_selections", "read_train", "scores", "selection_rows", "selections_frame", "stacked_masks", "train",
           "typed"]
