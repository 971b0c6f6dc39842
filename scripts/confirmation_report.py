"""The confirmation study's analysis, exactly as ``results/confirmation/PLAN.md`` states it, written before any of
its results existed (git history shows the order).

    python scripts/confirmation_report.py                     # writes results/confirmation/REPORT.md
    python scripts/confirmation_report.py --study DIR --print # any study laid out the same way

H1-H4 (ranges): per cell (task x range x keep level), the per-question test accuracy of ``proxyspex`` (the robust
rule, the default) and of the other method, averaged over the seeds; the paired bootstrap of their difference (2,000
resamples of the test questions, seed 0) gives a 95% interval and a two-sided p-value; Holm at family-wise 5% over
the cells of each hypothesis. H5 (whole model): the area under the test-accuracy curve, robust minus LASSO, per
task, the bootstrap over test questions (the curves' own draws) for its interval and p-value; Holm over the tasks.
The verdict sentences follow the plan's wording rules; a study with a task missing says it is incomplete and gives
no verdict. No model: it reads ``ranges-*/seed-*/scores.csv`` and ``whole-*/seed-*`` records.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from headspex.records.stats import holm_signs, paired_bootstrap_test  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "results" / "confirmation"
RANGE_TASKS = ("ioi", "induction", "mmlu-miscellaneous")
WHOLE_TASKS = ("ioi", "induction")
REFERENCE = "proxyspex"
HYPOTHESES = {"H1": "lasso", "H2": "lasso-verify", "H3": "proxyspex-additive", "H4": "best-of-n"}
N_BOOT, SEED, ALPHA, LEVEL, N_CELLS = 2000, 0, 0.05, 0.95, 27
RANGE_SEEDS, WHOLE_SEEDS = (100, 101, 102, 103, 104), (100, 101, 102)  # the plan's seeds: all of them, or no verdict


def seeds_short(study: Path) -> list[str]:
    """The runs whose finished seeds are not exactly the plan's, one phrase each ("ranges-ioi: 100, 101 of
    100-104"); empty when every run has all its seeds. A seed counts as finished when its table was written."""
    short = []
    for prefix, tasks, planned, table in (("ranges", RANGE_TASKS, RANGE_SEEDS, "scores.csv"),
                                          ("whole", WHOLE_TASKS, WHOLE_SEEDS, "record.json")):
        for task in tasks:
            found = sorted(int(p.parent.name.removeprefix("seed-")) for p in (study / f"{prefix}-{task}").glob(
                f"seed-*/{table}"))
            if found != list(planned):
                short.append(f"{prefix}-{task}: {', '.join(map(str, found)) or 'none'} of {planned[0]}-{planned[-1]}")
    return short


def range_cells(study: Path, tasks: tuple[str, ...] = RANGE_TASKS) -> pd.DataFrame:
    """One row per (hypothesis, task, range, keep level): estimate, interval, p, seeds agreeing; Holm per hypothesis."""
    rows = []
    for task in tasks:
        files = sorted((study / f"ranges-{task}").glob("seed-*/scores.csv"))
        if not files:
            continue
        scores = pd.concat(pd.read_csv(f) for f in files)
        n_seeds = scores["seed"].nunique()
        mean = scores.groupby(["range", "level", "method", "question"], sort=False)["accuracy"].mean()
        per_seed = scores.groupby(["range", "level", "method", "seed"])["accuracy"].mean()
        for (rng, level), _ in scores.groupby(["range", "level"], sort=False):
            ref = mean.loc[(rng, level, REFERENCE)].to_numpy()
            for name, other in HYPOTHESES.items():
                iv, p = paired_bootstrap_test(ref, mean.loc[(rng, level, other)].to_numpy(), n_boot=N_BOOT, seed=SEED,
                                              level=LEVEL)
                seed_diff = per_seed.loc[(rng, level, REFERENCE)] - per_seed.loc[(rng, level, other)]
                rows.append(dict(hypothesis=name, other=other, task=task, layers=rng, keep=level,
                                 estimate=iv.estimate, low=iv.low, high=iv.high, p=p,
                                 sign=1 if iv.low > 0 else -1 if iv.high < 0 else 0, n_seeds=n_seeds,
                                 seeds_better=int((seed_diff > 0).sum()), seeds_worse=int((seed_diff < 0).sum())))
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["holm_sign"] = 0
    for _, g in table.groupby("hypothesis", sort=False):
        table.loc[g.index, "holm_sign"] = holm_signs(g["estimate"].to_numpy(), g["p"].to_numpy(), alpha=ALPHA)
    return table


def whole_model(study: Path, tasks: tuple[str, ...] = WHOLE_TASKS) -> pd.DataFrame:
    """H5: per task, the AUC of robust minus LASSO with its bootstrap interval and p-value; Holm over the tasks."""
    from headspex.records import read_curve_seed
    from headspex.records.curve_result import auc_difference_test

    rows = []
    for task in tasks:
        seeds = sorted(p.parent for p in (study / f"whole-{task}").glob("seed-*/record.json"))
        if not seeds:
            continue
        results = [read_curve_seed(p) for p in seeds]
        estimate, low, high, p = auc_difference_test(results, REFERENCE, "lasso")
        rows.append(dict(hypothesis="H5", task=task, estimate=estimate, low=low, high=high, p=p, n_seeds=len(results),
                         sign=1 if low > 0 else -1 if high < 0 else 0))
    table = pd.DataFrame(rows)
    if len(table):
        table["holm_sign"] = holm_signs(table["estimate"].to_numpy(), table["p"].to_numpy(), alpha=ALPHA)
    return table


def counts(signs: pd.Series) -> tuple[int, int]:
    return int((signs > 0).sum()), int((signs < 0).sum())


def verdict(cells: pd.DataFrame, whole: pd.DataFrame) -> list[str]:
    """The README's verdict sentences by the plan's wording rules (fixed before the study ran)."""
    b = {h: counts(g["holm_sign"]) for h, g in cells.groupby("hypothesis")} if len(cells) else {}
    lines = []
    b1, w1 = b.get("H1", (0, 0))
    lines.append(f"robust ProxySPEX beats LASSO in {b1} of {N_CELLS} cells and loses in {w1} (Holm)" if b1 > w1 else
                 f"robust ProxySPEX does not beat LASSO on SmolLM2 (Holm: {b1} better, {w1} worse of {N_CELLS})")
    beats = {h: b.get(h, (0, 0))[0] > b.get(h, (0, 0))[1] for h in ("H2", "H3")}
    if beats["H2"] and beats["H3"]:
        lines.append("the trees' interactions do the work")
    elif beats["H3"]:
        lines.append("checking candidates on true values does the work; the interactions add nothing measurable over "
                     "LASSO's own candidates")
    elif beats["H2"]:
        lines.append("the trees help, but not through their interactions")
    else:
        lines.append("neither the interactions nor the trees add anything measurable over checked LASSO candidates")
    b4, w4 = b.get("H4", (0, 0))
    lines.append(f"robust ProxySPEX beats Best-of-N in {b4} of {N_CELLS} cells and loses in {w4} (Holm)" if b4 > w4 else
                 f"robust ProxySPEX does not beat Best-of-N on SmolLM2 (Holm: {b4} better, {w4} worse of {N_CELLS})")
    if len(whole):
        b5, w5 = counts(whole["holm_sign"])
        n5 = len(whole)
        lines.append(f"on the whole model its AUC beats LASSO's on {b5} of {n5} tasks and loses on {w5} (Holm)"
                     if b5 > w5 else f"on the whole model its AUC does not beat LASSO's (Holm: {b5} better, {w5} worse "
                                     f"of {n5} tasks)")
    return lines


def default_rule(cells: pd.DataFrame) -> str:
    """The plan's rule for the default: robust stays if H1 holds, else the best control by its Holm counts."""
    b1, w1 = counts(cells.loc[cells["hypothesis"] == "H1", "holm_sign"]) if len(cells) else (0, 0)
    if b1 > w1:
        return "proxyspex keeps running the robust rule"
    return ("ProxySPEX's default rule did not confirm; the README recommends the best control by its Holm counts against "
            "LASSO (a further preregistered test decides the CLI default)")


def _count_text(signs: pd.Series) -> str:
    better, worse = counts(signs)
    return f"{better} / {worse} / {int((signs == 0).sum())}"


def markdown(study: Path, cells: pd.DataFrame, whole: pd.DataFrame) -> str:
    present = sorted(cells["task"].unique()) if len(cells) else []
    missing = [t for t in RANGE_TASKS if t not in present]
    missing_whole = [t for t in WHOLE_TASKS if t not in (list(whole["task"]) if len(whole) else [])]
    short = seeds_short(study)
    complete = not missing and not missing_whole and not short and len(cells) == N_CELLS * len(HYPOTHESES)
    lines = [f"# Confirmation study: {'result' if complete else 'INCOMPLETE, no verdict'}", "",
             f"Generated by `python scripts/confirmation_report.py` from `{study.relative_to(ROOT) if study.is_relative_to(ROOT) else study}`; "
             "the analysis and its wording rules were fixed in `results/confirmation/PLAN.md` before the study ran.", ""]
    if not complete:
        lines += [f"Missing: ranges for {', '.join(missing) or 'none'}; whole model for {', '.join(missing_whole) or 'none'}"
                  f"; {len(cells)} of {N_CELLS * len(HYPOTHESES)} range comparisons present. The counts below are "
                  "partial and are not the study's verdict.", ""]
        if short:
            lines += [f"Seeds finished, short of the plan: {'; '.join(short)}.", ""]
    else:
        lines += ["## Verdict (the plan's wording)", ""] + [f"- {s}." for s in verdict(cells, whole)] + \
                 [f"- Default rule: {default_rule(cells)}.", ""]
    lines += ["## Counts (better / worse / within noise)", "",
              "| hypothesis | robust minus | Holm | uncorrected | better in every seed | worse in every seed |",
              "|:---|:---|:---|:---|---:|---:|"]
    for name, g in (cells.groupby("hypothesis", sort=False) if len(cells) else []):
        lines.append(f"| {name} | `{g['other'].iloc[0]}` | {_count_text(g['holm_sign'])} | {_count_text(g['sign'])} | "
                     f"{int((g['seeds_better'] == g['n_seeds']).sum())} | {int((g['seeds_worse'] == g['n_seeds']).sum())} |")
    if len(whole):
        lines += ["", "H5, whole model, AUC robust minus LASSO:", "", "| task | estimate | 95% interval | p | Holm |",
                  "|:---|---:|:---|---:|---:|"]
        lines += [f"| {r.task} | {r.estimate:+.3f} | [{r.low:+.3f}, {r.high:+.3f}] | {r.p:.4f} | {r.holm_sign:+d} |"
                  for r in whole.itertuples()]
    if len(cells):
        lines += ["", "Per cell (accuracy, robust minus the other method):", "",
                  "| hypothesis | task | layers | keep | estimate | 95% interval | p | uncorrected | Holm | seeds better / worse |",
                  "|:---|:---|:---|---:|---:|:---|---:|---:|---:|:---|"]
        lines += [f"| {r.hypothesis} | {r.task} | {r.layers} | {r.keep:g} | {r.estimate:+.3f} | [{r.low:+.3f}, "
                  f"{r.high:+.3f}] | {r.p:.4f} | {r.sign:+d} | {r.holm_sign:+d} | {r.seeds_better} / {r.seeds_worse} |"
                  for r in cells.itertuples()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=STUDY)
    parser.add_argument("--print", action="store_true", help="print the report instead of writing REPORT.md")
    args = parser.parse_args(argv)
    text = markdown(args.study, range_cells(args.study), whole_model(args.study))
    if args.print:
        print(text, end="")
    else:
        (args.study / "REPORT.md").write_text(text)
        print(f"wrote {args.study / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
