"""One seed of a layer-range study as tables (``write_study_seed`` / ``read_study_seed`` use these).

Tables (``range`` is the layer range's label, ``level`` the keep fraction, ``k`` the heads kept):

* ``scores.csv``: seed, range, level, k, method, question, accuracy, logprob: per-question test scores of
  every selected set;
* ``random.csv``: seed, range, level, k, draw, accuracy, logprob: the random baseline's masks (the pilot);
* ``train.csv``: seed, range, level, k, method, accuracy, logprob, margin: true training values;
* ``selections.csv``: seed, range, level, k, method, how, objective, optimal, seconds, details (JSON),
  mask_key, mask_row: the kept sets, each mask at ``masks.npz[mask_key][mask_row]``;
* ``costs.csv``: seed, range, method, evaluations;
* ``heldout.csv``: seed, range, set, i, predicted, true: the proxy on unseen masks (R^2 in ``record.json``);
* ``heads.csv`` / ``interactions.csv``: range plus the per-head and top-interaction tables;
* ``energy.csv``: seed, range, spectrum, share, estimate, low, high, level, n; ``energy_samples.csv``: seed,
  range, spectrum, draw and one column per share (the bootstrap refits);
* ``clean_per_question.csv``: seed, question and the unpruned model's per-question test scores.

``record.json`` holds the rest: configuration, unpruned scores, seconds, and per range its layers, players,
keep levels, the proxy's summary, held-out R^2 and what was stored for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from headspex.players import format_layer_range
from headspex.records import parts
from headspex.records.energy import SHARES, EnergyShares
from headspex.records.range_run import RangeRun
from headspex.records.stats import Interval
from headspex.records.format import (MASKS_FILE, build_config, config_dict, per_question, read_seed, start_seed,
                                     tuples, unique_labels, write_arrays, write_record, write_table)

KIND = "study"


def write_study_record(result: Any, directory: str | Path) -> Path:
    """Write one seed of a study (a :class:`~headspex.records.study_result.StudyResult`) into ``directory``."""
    d = start_seed(directory)
    seed, labels = int(result.config.seed), unique_labels([format_layer_range(r.layers) for r in result.ranges])
    runs = list(zip(labels, result.ranges))
    masks: dict[str, np.ndarray] = {}
    tables = {
        "scores.csv": parts.scores([(label, keep, r.keep_k[keep], m, s) for label, r in runs
                                    for (keep, m), s in r.test.items()], seed),
        "random.csv": parts.random_draws([(label, keep, r.keep_k[keep], s) for label, r in runs
                                          for keep, s in r.random.items()], seed),
        "train.csv": parts.train([(label, keep, r.keep_k[keep], m, v) for label, r in runs
                                  for (keep, m), v in r.train.items()], seed),
        "selections.csv": _selections(runs, seed, masks),
        "costs.csv": parts.typed([dict(seed=seed, range=label, method=m, evaluations=int(n)) for label, r in runs
                                  for m, n in r.evaluations.items()],
                                 {"seed": "int64", "range": "str", "method": "str", "evaluations": "int64"}),
        "clean_per_question.csv": parts.clean_per_question(result.clean, seed),
        "heldout.csv": _heldout(runs, seed),
        "heads.csv": _frames([(label, r.heads) for label, r in runs]),
        "interactions.csv": _frames([(label, r.top_interactions) for label, r in runs
                                     if r.top_interactions is not None]),
        "energy.csv": _energy([(label, r.energy) for label, r in runs if r.energy is not None], seed),
        "energy_samples.csv": _energy_samples([(label, r.energy) for label, r in runs if r.energy is not None], seed),
    }
    schemas = {name: write_table(d, name, table) for name, table in tables.items()}
    write_arrays(d / MASKS_FILE, masks)
    write_record(d, {"kind": KIND, "config": config_dict(result.config), "seconds": float(result.seconds),
                     "clean": parts.clean_summary(result.clean),
                     "ranges": [_range_record(label, r) for label, r in runs], "tables": schemas})
    return d


def _range_record(label: str, run: RangeRun) -> dict:
    return {"range": label, "layers": [int(x) for x in run.layers],
            "players": [[int(a), int(b)] for a, b in run.players],
            "keep_k": [[float(keep), int(k)] for keep, k in run.keep_k.items()], "proxy_summary": run.proxy_summary,
            "heldout_r2": [[key, float(h["r2"])] for key, h in run.heldout.items()],
            "energy": None if run.energy is None else {"n_boot": int(run.energy.n_boot)},
            "interactions": None if run.top_interactions is None else len(run.top_interactions)}


def _selections(runs: list, seed: int, masks: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for i, (label, r) in enumerate(runs):
        key = f"range_{i}"
        chosen = [(label, keep, s.k, m, s) for (keep, m), s in r.selections.items()]
        rows += parts.selection_rows(chosen, key)
        masks[key] = parts.stacked_masks([s for *_, s in chosen], len(r.players))
    return parts.selections_frame(rows, seed)


def _heldout_label(key: Any) -> str:
    return key if isinstance(key, str) else repr(float(key))


def _heldout(runs: list, seed: int) -> pd.DataFrame:
    rows = [dict(seed=seed, range=label, set=_heldout_label(key), i=i, predicted=float(p), true=float(t))
            for label, r in runs for key, h in r.heldout.items()
            for i, (p, t) in enumerate(zip(h["predicted"], h["true"]))]
    return parts.typed(rows, {"seed": "int64", "range": "str", "set": "str", "i": "int64", "predicted": "float64",
                              "true": "float64"})


def _frames(items: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The ranges' tables one below the other, each row led by its range."""
    frames = [t.reset_index(drop=True).assign(range=label)[["range", *t.columns]] for label, t in items]
    filled = [f for f in frames if len(f)] or frames  # an empty table would turn the others' dtypes to object
    return pd.concat(filled, ignore_index=True) if filled else pd.DataFrame({"range": pd.Series([], dtype="str")})


def _energy(items: list[tuple[str, EnergyShares]], seed: int) -> pd.DataFrame:
    rows = [dict(seed=seed, range=label, spectrum=kind, share=name, estimate=iv.estimate, low=iv.low, high=iv.high,
                 level=iv.level, n=iv.n)
            for label, e in items for kind, table in (("raw", e.raw), ("refined", e.refined))
            for name, iv in table.items()]
    types = dict(seed="int64", range="str", spectrum="str", share="str", estimate="float64", low="float64",
                 high="float64", level="float64", n="int64")
    return parts.typed(rows, types)


def _energy_samples(items: list[tuple[str, EnergyShares]], seed: int) -> pd.DataFrame:
    blocks = [(label, kind, np.asarray(getattr(e, f"{kind}_samples"), np.float64).reshape(-1, len(SHARES)))
              for label, e in items for kind in ("raw", "refined")]
    values = np.concatenate([b for *_, b in blocks]) if blocks else np.zeros((0, len(SHARES)))
    frame = pd.DataFrame({"seed": np.full(len(values), seed, np.int64),
                          "range": pd.Series([label for label, _, b in blocks for _ in range(len(b))], dtype="str"),
                          "spectrum": pd.Series([kind for _, kind, b in blocks for _ in range(len(b))], dtype="str"),
                          "draw": np.concatenate([np.arange(len(b)) for *_, b in blocks]).astype(np.int64)
                          if blocks else np.zeros(0, np.int64)})
    for j, name in enumerate(SHARES):
        frame[name] = values[:, j]
    return frame


def read_study_parts(directory: str | Path) -> dict[str, Any]:
    """The fields of a :class:`~headspex.records.study_result.StudyResult` (config, clean, ranges, seconds) read
    from ``directory``."""
    return read_seed(directory, KIND, lambda record, t, masks: _read_study(Path(directory), record, t, masks))


def _read_study(d: Path, record: dict, t: dict, masks: dict) -> dict[str, Any]:
    ranges = [_read_range(info, t, masks) for info in record["ranges"]]
    clean = parts.read_clean(record["clean"], t["clean_per_question.csv"])
    return {"config": build_config(KIND, record["config"], d / "record.json"), "clean": clean, "ranges": ranges,
            "seconds": record["seconds"]}


def _read_range(info: dict, t: dict[str, pd.DataFrame], masks: dict[str, np.ndarray]) -> RangeRun:
    label = info["range"]
    mine = {name: table[table["range"] == label].reset_index(drop=True) for name, table in t.items()
            if "range" in table.columns}
    run = RangeRun(tuple(info["layers"]), [tuple(p) for p in info["players"]],
                   {float(keep): int(k) for keep, k in info["keep_k"]}, tuples(info["proxy_summary"]),
                   _frame(mine["heads.csv"]))
    chosen = parts.read_selections(mine["selections.csv"], masks)
    run.selections = {(keep, m): s for (_, keep, _, m), s in chosen.items()}
    metrics = parts.metric_columns(mine["scores.csv"], "question")
    run.test = {(keep, m): v for (keep, m), v in per_question(mine["scores.csv"], ["level", "method"], metrics,
                                                               "question").items()}
    draws = parts.metric_columns(mine["random.csv"], "draw")
    run.random = {keep: v for (keep,), v in per_question(mine["random.csv"], ["level"], draws, "draw").items()}
    run.train = {(keep, m): v for (keep, _, m), v in parts.read_train(mine["train.csv"]).items()}
    run.heldout = _read_heldout(info["heldout_r2"], mine["heldout.csv"])
    costs = mine["costs.csv"]
    run.evaluations = dict(zip(costs["method"].tolist(), costs["evaluations"].tolist()))
    if info["energy"] is not None:
        run.energy = _read_energy(mine["energy.csv"], mine["energy_samples.csv"], info["energy"]["n_boot"])
    if info["interactions"] is not None:
        run.top_interactions = _frame(mine["interactions.csv"])
    return run


def _frame(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["range"], errors="ignore").reset_index(drop=True)


def _read_heldout(r2: list, table: pd.DataFrame) -> dict:
    arrays = per_question(table, ["set"], ["predicted", "true"], "i")
    out = {}
    for key, value in r2:
        a = arrays.get((_heldout_label(key),), {"predicted": np.zeros(0), "true": np.zeros(0)})
        out[key] = {"r2": value, "predicted": a["predicted"], "true": a["true"]}
    return out


def _read_energy(table: pd.DataFrame, samples: pd.DataFrame, n_boot: int) -> EnergyShares:
    shares: dict[str, dict[str, Interval]] = {"raw": {}, "refined": {}}
    for row in table.itertuples(index=False):
        shares[row.spectrum][row.share] = Interval(row.estimate, row.low, row.high, row.level, int(row.n))
    blocks = {kind: samples.loc[samples["spectrum"] == kind, list(SHARES)].to_numpy(np.float64)
              for kind in ("raw", "refined")}
    return EnergyShares(shares["raw"], shares["refined"], int(n_boot), blocks["raw"], blocks["refined"])


__all__ = ["KIND", "read_study_parts", "write_study_record"]
