"""Summarise a full study (one folder per task, as written by scripts/full_study.sh) into one Markdown page.

    python scripts/summarise_study.py results/smollm2-study > results/smollm2-study/summary.md
    python scripts/summarise_study.py /tmp/margin --reference proxyspex-margin   # another method against the rest

Reads only stored results (``<task>/seed-*/record.json``): no model. Prints, per task: the test accuracy
table with 95% CIs, the significance counts of ProxySPEX against each baseline, the proxy's fit, and the
energy shares beside the paper's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from headspex.records import read_study_seed
from headspex.records.summary import SeedSummary, accuracy_pivot
from headspex.reporting.labels import label_methods, method_label

METHODS = ["proxyspex", "proxyspex-margin", "proxyspex-robust", "proxyspex-anchored", "proxyspex-milp", "lasso",
           "best-of-n", "single-head", "random"]  # those present in a study are shown
PAPER = {"initial": (80, 8, 12), "middle": (67, 23, 10), "final": (51, 39, 10)}


def task_summary(folder: Path, reference: str = "proxyspex") -> tuple[str, pd.DataFrame]:
    results = [read_study_seed(p) for p in sorted(folder.glob("seed-*")) if (p / "record.json").is_file()]
    summary = SeedSummary(results)
    rule = getattr(results[0].config, "proxyspex_rule", None)  # the rule `proxyspex` ran: tables name it
    sig = summary.significance(reference=reference)
    methods = METHODS if reference in METHODS else [reference, *METHODS]
    energy = summary.energy()
    lines = [f"## {folder.name}: seeds {summary.seeds}, unpruned test accuracy {summary.clean_test_accuracy:.3f}", "",
             f"Wall time of the seeds: {', '.join(f'{r.seconds:.0f} s' for r in results)}.", "",
             label_methods(accuracy_pivot(summary.accuracy(), methods), rule).to_markdown(index=False), "",
             f"{method_label(reference, rule)} minus each baseline, paired bootstrap 95% CI over test questions "
             "(cells of range x keep):", "",
             label_methods(summary.significance_counts(sig), rule, "baseline").to_markdown(index=False), "",
             summary.fit().to_markdown(index=False, floatfmt=".2f"), "",
             *[line for rule in dict.fromkeys((reference, "proxyspex-margin", "proxyspex-robust"))
               for line in verify_lines(results, summary.accuracy(), rule)]]
    rows = []
    for (label, kind), g in energy.groupby(["layers", "spectrum"], sort=False):
        row = g.iloc[0]
        rows.append({"layers": label, "spectrum": kind, "interval": row["interval"],
                     **{n: f"{row[n]:.0f} [{row[n + '_low']:.0f}, {row[n + '_high']:.0f}]"
                        for n in ("linear", "within_layer", "across_layer")}})
    lines += [pd.DataFrame(rows).to_markdown(index=False), ""]
    return "\n".join(lines), sig.assign(task=folder.name)


def verify_lines(results: list, accuracy: pd.DataFrame, reference: str = "proxyspex") -> list[str]:
    """How often a checking rule (verify, margin, robust) kept LASSO's own top k, and its mean gain over LASSO on the
    training value it checked against its gain on the test split (empty when no pick was checked)."""
    picks = [sel for r in results for run in r.ranges for (keep, m), sel in run.selections.items()
             if m == reference and "is_lasso" in sel.details]
    if not picks:
        return []
    wide = accuracy.pivot_table(index=["layers", "keep"], columns="method", values=["train_value", "test_accuracy"])
    train_gain = (wide["train_value"][reference] - wide["train_value"]["lasso"]).mean()
    test_gain = (wide["test_accuracy"][reference] - wide["test_accuracy"]["lasso"]).mean()
    rule = "Verify rule" if reference == "proxyspex" else reference
    return [f"{rule}: LASSO's own top k was kept in {sum(p.details['is_lasso'] for p in picks)} of {len(picks)} "
            f"picks (seeds x ranges x levels); mean gain over LASSO {train_gain:+.4f} in the training value it was "
            f"chosen on, {test_gain:+.4f} in test accuracy.", ""]


def main(study: Path, reference: str = "proxyspex") -> None:
    parts, sigs = [], []
    for folder in sorted(p for p in study.iterdir() if (p / "seed-0" / "record.json").is_file()):
        text, sig = task_summary(folder, reference)
        parts.append(text)
        sigs.append(sig)
    print(f"# SmolLM2 layer-range study: {', '.join(p.name for p in sorted(study.iterdir()) if p.is_dir())}\n")
    print("Paper (Llama-3.1-8B, accuracy value) energy shares linear/within/across: layers 1-3 80/8/12 %, "
          "14-16 67/23/10 %, 30-32 51/39/10 %.\n")
    if sigs:
        allsig = pd.concat(sigs)
        counts = allsig.groupby(["baseline", "metric"], sort=False)["sign"].agg(
            better=lambda s: int((s > 0).sum()), worse=lambda s: int((s < 0).sum()),
            within_noise=lambda s: int((s == 0).sum())).reset_index()
        first = next(p for p in sorted(study.iterdir()) if (p / "seed-0" / "record.json").is_file())
        rule = getattr(read_study_seed(first / "seed-0").config, "proxyspex_rule", None)
        print(f"All tasks together, {method_label(reference, rule)} minus each baseline "
              "(cells significantly better / worse / within noise):\n")
        print(label_methods(counts, rule, "baseline").to_markdown(index=False) + "\n")
    print("\n".join(parts))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path, help="a folder with one study run per task")
    parser.add_argument("--reference", default="proxyspex", help="the method compared with every other")
    args = parser.parse_args()
    main(args.study, args.reference)
