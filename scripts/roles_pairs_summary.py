"""The measured pair-interaction study's summary (results/roles/pairs/PLAN.md), from the runs' stored tables alone.

    python scripts/roles_pairs_summary.py            # writes results/roles/pairs/README.md

Per run it reads ``scores.csv`` (each method's top pairs against the measured interactions), ``measured.csv`` and
``pairs_spectrum.csv`` / ``pairs_shapiq.csv``, and recomputes the role enrichment of each method's top 20 pairs (the
plan's text; the first runs computed it on the top 15, the ``--pairs`` of their commands) from the stored pair values
and the committed roles table of the run's model: no model, no new evaluation.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from headspex.players import layer_players, parse_layer_ranges  # noqa: E402
from headspex.roles.enrichment import role_enrichment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "results" / "roles" / "pairs"


@dataclass(frozen=True)
class Run:
    """One committed run of ``scripts/roles_study.py`` (``PLAN.md`` gives its command)."""

    folder: str
    model: str
    task: str
    layers: str  # 1-based, as --layers
    n_layers: int
    n_heads: int
    pairs: int  # --pairs: each method's own top pairs, and random pairs

    @property
    def roles(self) -> Path:
        return ROOT / "results" / "roles" / self.model / "roles.csv"


# the plan's runs, newest design first: the top 20 (issue 33's floor) on SmolLM2, Gemma 3 270M's whole model, and the
# first runs (top 15), which stay as they ran
RUNS = (Run("induction-top20", "smollm2", "induction", "12-19", 30, 9, 20),
        Run("ioi-top20", "smollm2", "ioi", "21-27", 30, 9, 20),
        Run("gemma-ioi", "gemma3-270m", "ioi", "1-18", 18, 4, 20),
        Run("induction", "smollm2", "induction", "12-19", 30, 9, 15),
        Run("ioi", "smollm2", "ioi", "21-27", 30, 9, 15))


def top_pairs(run: Run, n: int = 3) -> pd.DataFrame:
    """The spectrum's ``n`` strongest pairs with their measured interaction and its interval."""
    measured = pd.read_csv(PAIRS / run.folder / "measured.csv")
    top = measured[measured["spectrum_top"]].copy()
    return top.reindex(top["spectrum_value"].abs().sort_values(ascending=False).index).head(n)


def enrichment(run: Run, method: str = "spectrum", top: int = 20) -> pd.DataFrame:
    """Role enrichment of ``method``'s top ``top`` pairs, recomputed from its stored pair values and the roles table
    (no model evaluation; for a run with ``--pairs top`` it equals the run's own ``enrichment.csv``)."""
    players = layer_players(parse_layer_ranges(run.layers, run.n_layers, run.n_heads)[0], run.n_heads)
    pairs = pd.read_csv(PAIRS / run.folder / f"pairs_{method}.csv")
    table = role_enrichment(pairs[["i", "j", "value"]], pd.read_csv(run.roles), players, top=top, n_perm=999, seed=0)
    return table[table["observed"] > 0]


def _facts(run: Run) -> str:
    """The run's proxy fit, evaluations and time, as its ``summary.md`` records them."""
    text = (PAIRS / run.folder / "summary.md").read_text()
    fit = re.search(r"cv R\^2 (-?[\d.]+)", text)
    took = re.search(r"took (\d+) s", text)
    spent = re.search(r"measured: .*?(\d+) evaluations in all", text)
    return (f"Proxy CV R^2 {fit.group(1) if fit else '?'} on 200 uniform masks; {spent.group(1) if spent else '?'} "
            f"evaluations to measure the pairs; the run took {took.group(1) if took else '?'} s.")


def _scores(run: Run) -> list[str]:
    scores = pd.read_csv(PAIRS / run.folder / "scores.csv")
    own = scores[((scores["pair_set"] == "spectrum_top") & (scores["predictor"] == "spectrum"))
                 | ((scores["pair_set"] == "shapiq_top") & (scores["predictor"] == "shapiq"))
                 | (scores["pair_set"] == "random")]
    return [f"Each method's own top {run.pairs} pairs and {run.pairs} random pairs, against the measured interaction "
            "(mean second difference over 8 backgrounds):", "",
            "| pairs | predictor | sign agreement | Spearman | mean abs measured | interval excludes 0 |",
            "|:---|:---|---:|---:|---:|---:|",
            *[f"| {r.pair_set} | {r.predictor} | {r.sign_agreement:.2f} | {r.spearman:.2f} | "
              f"{r.mean_abs_measured:.3f} | {r.ci_excludes_zero:.2f} |" for r in own.itertuples()], ""]


def _enrichment(run: Run) -> list[str]:
    spectrum = enrichment(run, "spectrum").set_index("kind")
    if run.pairs < 20:  # the first runs: the plan's top 20, the spectrum only (as committed before)
        return ["Role enrichment among the spectrum's top 20 pairs (within-layer permutation null, 999 "
                "permutations, one-sided p, uncorrected across kinds):", "",
                "| kind | observed (+/-) | null mean | p |", "|:---|:---|---:|---:|",
                *[f"| {k} | {r.observed} ({r.positive}/{r.negative}) | {r.null_mean:.2f} | {r.p_value:.3f} |"
                  for k, r in spectrum.iterrows()], ""]
    peer = enrichment(run, "shapiq").set_index("kind")
    kinds = list(dict.fromkeys([*spectrum.index, *peer.index]))

    def cell(table: pd.DataFrame, kind: str) -> str:
        if kind not in table.index:
            return "0 | | "
        r = table.loc[kind]
        return f"{r.observed} ({r.positive}/{r.negative}) | {r.null_mean:.2f} | {r.p_value:.3f}"

    return ["Role enrichment among each method's top 20 pairs (within-layer permutation null, 999 permutations, "
            "one-sided p, uncorrected across kinds; 200 evaluations each):", "",
            "| kind | spectrum: observed (+/-) | null mean | p | shapiq: observed (+/-) | null mean | p |",
            "|:---|:---|---:|---:|:---|---:|---:|",
            *[f"| {k} | {cell(spectrum, k)} | {cell(peer, k)} |" for k in kinds], ""]


def markdown() -> str:
    lines = ["# Measured pair interactions on SmolLM2 and Gemma 3 270M", "",
             "Generated by `python scripts/roles_pairs_summary.py` from the runs below (their `summary.md` holds the "
             "command, commit and time); the design is [PLAN.md](PLAN.md), written before the runs, with its dated "
             "amendments. Each method spends 200 game evaluations; labels have 1-based layers.", ""]
    for run in RUNS:
        title = f"{run.model}, {run.task}, layers {run.layers}, top {run.pairs}"
        if not (PAIRS / run.folder / "scores.csv").is_file():
            lines += [f"## {title}: not run", ""]
            continue
        lines += [f"## {title}: [summary](./{run.folder}/summary.md)", "", _facts(run), "", *_scores(run),
                  "The spectrum's three strongest pairs:", "", "| pair | spectrum | measured [95% interval] |",
                  "|:---|---:|:---|",
                  *[f"| {r.label} | {r.spectrum_value:+.3f} | {r.measured:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] |"
                    for r in top_pairs(run).itertuples()], "", *_enrichment(run)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true")
    args = parser.parse_args(argv)
    text = markdown()
    if args.print:
        print(text)
    else:
        (PAIRS / "README.md").write_text(text)
        print(f"wrote {PAIRS / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
