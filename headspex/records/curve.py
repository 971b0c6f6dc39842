"""One seed of a whole-model curve as tables (``write_curve_seed`` / ``read_curve_seed`` use these).

Tables (``range`` is the label of the analysed layers, ``level`` the kept fraction k / n_players):

* ``scores.csv``: seed, range, level, k, method, question, accuracy, logprob: per-question test scores;
* ``random.csv``: seed, range, level, k, draw, accuracy: the random baseline's masks;
* ``train.csv``: seed, range, level, k, method, value: the true training value of each selected set;
* ``selections.csv``: seed, range, level, k, method, how, objective, optimal, seconds, details (JSON),
  mask_key, mask_row: the kept sets, each mask at ``masks.npz[mask_key][mask_row]``;
* ``costs.csv``: seed, range, method, forward, backward, seconds, notes: what each method spent choosing;
* ``clean_per_question.csv``: seed, question and the unpruned model's per-question test scores.

``record.json`` holds the configuration, players, head counts, unpruned scores, split sizes, seconds and the
model's and task's names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from headspex.players import format_layer_range
from headspex.records import parts
from headspex.records.format import (MASKS_FILE, build_config, config_dict, per_question, read_seed, start_seed,
                                     write_arrays, write_record, write_table)
from headspex.selection.registry import MethodRun

KIND = "curve"
COSTS = {"seed": "int64", "range": "str", "method": "str", "forward": "int64", "backward": "int64",
         "seconds": "float64", "notes": "str"}


def write_curve_record(result: Any, directory: str | Path) -> Path:
    """Write one seed of a curve (a :class:`~headspex.records.curve_result.CurveResult`) into ``directory``."""
    d = start_seed(directory)
    seed, n = int(result.config.seed), len(result.players)
    label = format_layer_range(sorted({int(p[0]) for p in result.players}))
    chosen = [(label, k / n, int(k), m, s) for m, run in result.runs.items() for k, s in run.selections.items()]
    tables = {
        "scores.csv": parts.scores([(label, k / n, int(k), m, s) for m, by_k in result.test.items()
                                    for k, s in by_k.items()], seed),
        "random.csv": parts.random_draws([(label, k / n, int(k), {"accuracy": np.asarray(a)})
                                          for k, a in result.random.items()], seed),
        "train.csv": parts.train([(label, k / n, int(k), m, {"value": v}) for m, run in result.runs.items()
                                  for k, v in run.train_values.items()], seed),
        "selections.csv": parts.selections_frame(parts.selection_rows(chosen, "game"), seed),
        "costs.csv": parts.typed([dict(seed=seed, range=label, method=m, forward=int(r.forward),
                                       backward=int(r.backward), seconds=float(r.seconds), notes=str(r.notes))
                                  for m, r in result.runs.items()], COSTS),
        "clean_per_question.csv": parts.clean_per_question(result.clean, seed),
    }
    schemas = {name: write_table(d, name, table) for name, table in tables.items()}
    write_arrays(d / MASKS_FILE, {"game": parts.stacked_masks([c[-1] for c in chosen], n)})
    write_record(d, {"kind": KIND, "config": config_dict(result.config), "seconds": float(result.seconds),
                     "model_name": result.model_name, "task_name": result.task_name, "n_train": int(result.n_train),
                     "n_test": int(result.n_test), "range": label,
                     "players": [[int(a), int(b)] for a, b in result.players], "ks": [int(k) for k in result.ks],
                     "clean": parts.clean_summary(result.clean), "tables": schemas})
    return d


def read_curve_parts(directory: str | Path) -> dict[str, Any]:
    """The fields of a :class:`~headspex.records.curve_result.CurveResult` read from ``directory``."""
    return read_seed(directory, KIND, lambda record, t, masks: _read_curve(Path(directory), record, t, masks))


def _read_curve(d: Path, record: dict, t: dict, masks: dict) -> dict[str, Any]:
    costs = t["costs.csv"]
    runs = {m: MethodRun({}, int(f), int(b), float(s), str(notes)) for m, f, b, s, notes in
            zip(*(costs[c].tolist() for c in ("method", "forward", "backward", "seconds", "notes")))}
    for (_, _, k, m), selection in parts.read_selections(t["selections.csv"], masks).items():
        runs[m].selections[k] = selection
    for (_, k, m), values in parts.read_train(t["train.csv"]).items():
        runs[m].train_values[k] = values["value"]
    test: dict[str, dict[int, dict]] = {}
    metrics = parts.metric_columns(t["scores.csv"], "question")
    for (m, k), values in per_question(t["scores.csv"], ["method", "k"], metrics, "question").items():
        test.setdefault(m, {})[k] = values
    random = {k: v["accuracy"] for (k,), v in per_question(t["random.csv"], ["k"], ["accuracy"], "draw").items()}
    return {"config": build_config(KIND, record["config"], d / "record.json"),
            "players": [tuple(p) for p in record["players"]], "ks": list(record["ks"]),
            "clean": parts.read_clean(record["clean"], t["clean_per_question.csv"]), "runs": runs, "test": test,
            "random": random, "n_train": record["n_train"], "n_test": record["n_test"], "seconds": record["seconds"],
            "model_name": record["model_name"], "task_name": record["task_name"]}


__all__ = ["KIND", "read_curve_parts", "write_curve_record"]
