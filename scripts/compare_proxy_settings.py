"""Which training-mask sampling and refinement make the proxy pick best, at a matched budget?

For each task of a finished full study (``bash scripts/full_study.sh``), re-runs seed 0 of the study with
every combination of ``--sampling`` (uniform, matched, mixture) and ``--refine`` (off, on), for the
methods that depend on the training masks (ProxySPEX and LASSO). Each variant reads and writes the
study's own value stores, so masks already evaluated (pilot, held-out, Best-of-N, the mixture masks) are
not evaluated again. Writes ``proxy_settings.csv`` and ``proxy_settings.md`` into the study folder.

    python scripts/compare_proxy_settings.py results/smollm2-study --tasks ioi induction facts [--layers 10-20]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd

VARIANTS = [(s, r) for r in (False, True) for s in ("uniform", "matched", "mixture")]


def _study_config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def run_variants(study: Path, task_name: str, model, test_model, layers: list[str] | None = None) -> pd.DataFrame:
    """Seed 0 of the task's study once per (sampling, refine); rows per (variant, layers, keep, method)."""
    import tasks
    from headspex.experiments.ranges import run_study
    from headspex.players import format_layer_range
    from headspex.records import read_study_seed

    folder = study / task_name
    record = _study_config(folder)
    base = read_study_seed(folder / "seed-0").config
    args = record["arguments"]
    task = tasks.load(args["task"], seed=args["seed"], tokenizer=model.tokenizer, n_train=args["n_train"] or None,
                      n_test=args["n_test"] or None)
    rows = []
    for sampling, refine in VARIANTS:
        ranges = tuple(r for r in base.ranges if layers is None or format_layer_range(r) in layers)
        config = replace(base, ranges=ranges, sampling=sampling, refine=refine, methods=("proxyspex", "lasso"))
        with tempfile.TemporaryDirectory() as tmp:
            for store in folder.glob("layers-*"):  # share the stores: no mask is evaluated twice
                os.symlink(store.resolve(), Path(tmp) / store.name)
            (Path(tmp) / "clean.json").write_text((folder / "clean.json").read_text())
            result = run_study(model, task, config, out=tmp, progress=False, log=lambda _: None, test_model=test_model)
        table = result.accuracy_table()
        table = table[table["method"].isin(["proxyspex", "lasso"])]
        fit = result.fit_table().set_index("layers")
        for row in table.itertuples():
            rows.append(dict(task=task_name, sampling=sampling, refine=refine, layers=row.layers, keep=row.keep,
                             method=row.method, test_accuracy=row.test_accuracy, test_logprob=row.test_logprob,
                             train_value=row.train_value, heldout_r2_at_k=fit.loc[row.layers, f"heldout_r2_{row.keep:.0%}"]))
        print(f"{task_name}: sampling={sampling} refine={refine}: mean ProxySPEX test accuracy "
              f"{table[table['method'] == 'proxyspex']['test_accuracy'].mean():.3f}", flush=True)
    return pd.DataFrame(rows)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean over ranges and keep levels of ProxySPEX's test accuracy, log-prob, training value and held-out R^2."""
    proxy = rows[rows["method"] == "proxyspex"]
    return (proxy.groupby(["task", "sampling", "refine"], sort=False)
            [["test_accuracy", "test_logprob", "train_value", "heldout_r2_at_k"]].mean().reset_index())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--tasks", nargs="+", default=["ioi", "induction", "facts"])
    parser.add_argument("--layers", nargs="+", default=None, help="range labels to compare (default: all), e.g. 10-20")
    args = parser.parse_args()
    import headspex

    model = headspex.load_model("smollm2", dtype="bfloat16")
    test_model = headspex.load_model("smollm2", dtype="float32")
    rows = pd.concat([run_variants(args.study, t, model, test_model, args.layers) for t in args.tasks])
    rows.to_csv(args.study / "proxy_settings_cells.csv", index=False)
    summary = summarise(rows)
    summary.to_csv(args.study / "proxy_settings.csv", index=False)
    overall = summary.groupby(["sampling", "refine"], sort=False)[["test_accuracy", "test_logprob"]].mean()
    text = (summary.to_markdown(index=False, floatfmt=".3f") + "\n\nMean over tasks:\n\n"
            + overall.reset_index().to_markdown(index=False, floatfmt=".3f") + "\n")
    (args.study / "proxy_settings.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
