"""One-off: convert pickled seeds (``seed-*/results.pkl``, ``seed-*/curve.pkl``) to the stored tables of
:mod:`headspex.records`, checking that every report rebuilds identically.

    python scripts/convert_results.py                 # every run under results/
    python scripts/convert_results.py DIR [DIR ...]   # runs (their --out directories) or seed directories

Per run directory: the old pickles are read with an unpickler that maps moved classes to their new homes
(``headspex.prune.select.Selection`` -> ``headspex.selection.select``, ``headspex.curves.methods.MethodRun``
-> ``headspex.selection.registry``) and old configurations onto today's classes (new fields at the values the
old code effectively used: curves sampled "matched" masks, refined, Best-of-N at the budget; studies capped
the MILP at 5000 Moebius terms; iterative ProxySPEX removed 10% per round). Then:

1. "before": today's report writers on the unpickled objects, into a temporary directory;
2. each seed is written as tables beside its pickle (``write_study_seed`` / ``write_curve_seed``);
3. "after": ``python -m headspex.report`` (its ``main``, in this process) on a temporary copy holding only
   ``config.json`` and the tables;
4. every CSV, Markdown and HTML file of "before" and "after" is compared; only when all are identical are
   the pickles removed (``--keep-pickles`` keeps them anyway). Differences are listed.

Trusted files only: this unpickles the repository's own committed results. ``methods/*.pkl`` (resume caches
of the curves, under names today's cache never looks up) are left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MOVED = {("headspex.prune.select", "Selection"): ("headspex.selection.select", "Selection"),
         ("headspex.curves.methods", "MethodRun"): ("headspex.selection.registry", "MethodRun")}
OLD_CONFIGS = {("headspex.experiments.ranges", "StudyConfig"): "study", ("headspex.experiments.whole_model", "CurveConfig"): "curve"}
# fields today's configurations have that the old ones lacked, at the values the old code effectively used
NEW_FIELDS = {"study": {"head_counts": None, "max_terms": 5000, "iterative_fraction": 0.1},
              "curve": {"head_counts": None, "sampling": "matched", "refine": True, "best_of_n": None}}
PICKLES = {"results.pkl": "study", "curve.pkl": "curve"}
COMPARED = (".csv", ".md", ".html")


class OldConfig:
    """An old StudyConfig / CurveConfig as pickled: its field values, nothing else."""

    kind = ""

    def __setstate__(self, state: dict) -> None:
        self.state = dict(state)


class LegacyUnpickler(pickle.Unpickler):
    """Reads pickles of headspex before the stored tables: moved classes mapped, old configs captured."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in OLD_CONFIGS:
            return type(name, (OldConfig,), {"kind": OLD_CONFIGS[(module, name)]})
        module, name = MOVED.get((module, name), (module, name))
        return super().find_class(module, name)


def new_config(old: OldConfig, log: list[str]) -> Any:
    """Today's configuration for an old one: old values kept, new fields at the old code's values."""
    from headspex.records.format import config_class

    cls, values = config_class(old.kind), dict(old.state)
    if old.kind == "curve" and values.get("keep") and all(float(v) >= 1 for v in values["keep"]):
        values["head_counts"] = tuple(int(v) for v in values.pop("keep"))  # old curves took counts in keep
    for name, value in NEW_FIELDS[old.kind].items():
        values.setdefault(name, value)
    unknown = sorted(set(values) - {f.name for f in fields(cls)})
    if unknown:
        raise SystemExit(f"old {old.kind} configuration has fields today's class lacks: {unknown}")
    missing = sorted({f.name for f in fields(cls)} - set(values))
    if missing:
        log.append(f"fields missing from the pickle, at {cls.__name__}'s defaults: {', '.join(missing)}")
    return cls(**values)


def load_legacy(path: Path, log: list[str]) -> Any:
    """The result pickled at ``path`` with today's classes and configuration."""
    with open(path, "rb") as f:
        result = LegacyUnpickler(f).load()
    result.config = new_config(result.config, log)
    return result


def write_reports(kind: str, results: list, run: Path, out: Path) -> None:
    """Today's report writers on ``results``, as ``python -m headspex.report`` calls them, into ``out``."""
    from headspex.report import check_seeds_agree

    out.mkdir(parents=True)
    if (run / "config.json").is_file():
        shutil.copy2(run / "config.json", out / "config.json")
    check_seeds_agree(results, [f"seed-{r.config.seed}" for r in results])
    if kind == "study":
        from headspex.reporting.study_report import write_outputs

        meta = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
        write_outputs(results, out, model_name=meta.get("model", ""), task_name=meta.get("task", ""))
    else:
        from headspex.reporting.curve_report import title_of, write_outputs

        write_outputs(results, out, title=title_of(results[0]))


def rebuild_copy(run: Path, seeds: list[Path], out: Path) -> None:
    """``python -m headspex.report`` on a copy of ``run`` holding only config.json and the seeds' tables (run in
    this process, so "before" and "after" are written by the same, already imported, report code)."""
    from headspex.records.format import SEED_FILES

    out.mkdir(parents=True)
    if (run / "config.json").is_file():
        shutil.copy2(run / "config.json", out / "config.json")
    for seed in seeds:
        (out / seed.name).mkdir()
        for name in SEED_FILES:
            if (seed / name).is_file():
                shutil.copy2(seed / name, out / seed.name / name)
    from headspex.report import main as report  # python -m headspex.report, in this process: the same code as "before"

    if report([str(out)]) != 0:
        raise SystemExit(f"python -m headspex.report {out} failed (its error is above)")


def compare(before: Path, after: Path) -> list[str]:
    """Files (CSV, Markdown, HTML) that differ between the two report directories, or exist in one only."""
    names = {p.name for d in (before, after) for p in d.iterdir() if p.is_file() and p.suffix in COMPARED}
    return sorted(n for n in names
                  if not (before / n).is_file() or not (after / n).is_file()
                  or (before / n).read_bytes() != (after / n).read_bytes())


def convert_run(run: Path, seeds: list[Path], keep_pickles: bool, work: Path) -> dict:
    """Convert the pickled seeds of one run directory; returns what happened."""
    log: list[str] = []
    pickles = [next(s / n for n in PICKLES if (s / n).is_file()) for s in seeds]
    kinds = {PICKLES[p.name] for p in pickles}
    if len(kinds) != 1:
        raise SystemExit(f"{run} mixes study and curve seeds")
    kind = kinds.pop()
    results = [load_legacy(p, log) for p in pickles]
    tag = str(run.relative_to(ROOT) if run.is_relative_to(ROOT) else run).replace(os.sep, "_")
    write_reports(kind, results, run, work / tag / "before")
    from headspex.records import write_curve_seed, write_study_seed

    write_seed = write_study_seed if kind == "study" else write_curve_seed
    for result, seed in zip(results, seeds):
        write_seed(result, seed)
    rebuild_copy(run, seeds, work / tag / "after")
    differ = compare(work / tag / "before", work / tag / "after")
    if not differ and not keep_pickles:
        for p in pickles:
            p.unlink()
    compared = sorted(p.name for p in (work / tag / "before").iterdir() if p.suffix in COMPARED)
    return {"run": str(run), "kind": kind, "seeds": [s.name for s in seeds], "compared": compared, "differ": differ,
            "pickles_removed": not differ and not keep_pickles, "notes": sorted(set(log))}


def pickled_seeds(paths: list[Path]) -> dict[Path, list[Path]]:
    """``{run directory: [seed directories holding a pickle]}`` under ``paths``."""
    found: dict[Path, list[Path]] = {}
    for base in paths:
        for name in PICKLES:
            hits = [base / name] if (base / name).is_file() else sorted(base.rglob(f"seed-*/{name}"))
            for pkl in hits:
                found.setdefault(pkl.parent.parent, []).append(pkl.parent)
    return {run: sorted(set(seeds)) for run, seeds in sorted(found.items())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", type=Path, default=[ROOT / "results"])
    p.add_argument("--keep-pickles", action="store_true", help="keep the pickles even when the reports agree")
    p.add_argument("--work", type=Path, default=None, help="where before/after reports go (default: a temp dir)")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="convert-results-"))
    reports = [convert_run(run.resolve(), [s.resolve() for s in seeds], args.keep_pickles, work)
               for run, seeds in pickled_seeds(args.paths).items()]
    print(json.dumps(reports, indent=1))
    print(f"before/after reports in {work}")
    return 1 if any(r["differ"] for r in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
