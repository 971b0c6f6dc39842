"""``python -m headspex.report DIR``: rebuild the reports of a finished run from its stored results, no model.

DIR is the ``--out`` of ``python -m headspex.prune`` (a layer-range study) or of ``python -m headspex.curves``
(whole-model curves): each seed's tables in ``seed-*/`` (``record.json`` of kind "study" or "curve", CSVs,
``masks.npz``). Seeds are merged only when they were run under the same settings; otherwise the report is
refused, naming the seeds and the differences.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from headspex._cli import HelpFormatter, add_debug_flag, guarded
from headspex.errors import InputError, StoredDataError

KINDS = {"study": ("seed-*/record.json", "study"), "curves": ("seed-*/record.json", "curve")}  # (files, record kind)
LEGACY = ("seed-*/results.pkl", "seed-*/curve.pkl")  # pickled seeds of headspex before the stored tables


def build_parser(prog: str = "python -m headspex.report") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.replace("``", ""),
                                formatter_class=HelpFormatter)
    p.add_argument("directory", metavar="DIR", help="the --out of a finished (or resumed) run")
    add_debug_flag(p)
    return p


def run_kind(directory: str | Path) -> str:
    """"study" or "curves": what ``directory`` holds; one clear error when it holds neither."""
    d = Path(directory)
    if not d.exists():
        raise InputError(f"no directory {d}: give the --out of a python -m headspex.prune or headspex.curves run")
    if not d.is_dir():
        raise InputError(f"{d} is a file; the --out directory of a run is expected")
    seeds = seed_records(d)
    found = [kind for kind, paths in seeds.items() if paths]
    if len(found) == 1:
        return found[0]
    if found:
        raise StoredDataError(f"{d} holds both study and curves results; keep each run in its own --out")
    if any(any(d.glob(pattern)) for pattern in LEGACY):
        raise StoredDataError(f"{d} holds seeds pickled by an older headspex (seed-*/results.pkl or curve.pkl); "
                              f"convert them to tables with python scripts/convert_results.py {d}")
    config = d / "config.json"
    if config.is_file():
        command = _command(config)
        raise StoredDataError(f"{d} holds a run that was stopped before its first seed finished (no "
                              f"seed-*/record.json yet); rerun its command to resume it{command}")
    raise InputError(f"{d} holds no headspex run (no config.json or seed-*/record.json); give the --out of a "
                     "python -m headspex.prune or headspex.curves run")


def seed_records(directory: Path) -> dict[str, list[Path]]:
    """``{kind: [seed directories]}`` of ``directory`` by the kind each ``seed-*/record.json`` names."""
    from headspex.records.format import record_kind

    records = {path: record_kind(path) for path in sorted(directory.glob(KINDS["study"][0]))}
    return {kind: [p.parent for p, k in records.items() if k == wanted] for kind, (_, wanted) in KINDS.items()}


def check_seeds_agree(results: Sequence[Any], names: Sequence[str]) -> None:
    """Refuse to merge seeds run under different settings (configuration without the seed, unpruned scores)."""
    def settings(result: Any) -> dict:
        config = {k: v for k, v in asdict(result.config).items() if k != "seed"}
        return json.loads(json.dumps({"config": config, "unpruned": result.clean.get("test")}, default=str))

    first = settings(results[0])
    for result, name in zip(results[1:], names[1:]):
        from headspex.rundir import settings_diff

        diff = settings_diff(first, settings(result))
        if diff:
            raise StoredDataError(f"{name} was run with other settings than {names[0]} ({'; '.join(diff[:4])}); "
                                  "a report merges only seeds of one setting: move the odd seed directories away")


def rebuild(directory: str | Path) -> dict[str, Any]:
    """Rebuild every output of the run in ``directory``; returns what was written."""
    d = Path(directory)
    kind = run_kind(d)
    seeds = seed_records(d)[kind]
    if kind == "study":
        from headspex.records import read_study_seed
        from headspex.reporting.study_report import write_outputs

        results = [read_study_seed(p) for p in seeds]
        check_seeds_agree(results, [p.name for p in seeds])
        meta = _meta(d)
        return write_outputs(results, d, model_name=meta.get("model", ""), task_name=meta.get("task", ""))
    from headspex.records import read_curve_seed
    from headspex.reporting.curve_report import title_of, write_outputs as write_curves

    results = [read_curve_seed(p) for p in seeds]
    check_seeds_agree(results, [p.name for p in seeds])
    return write_curves(results, d, title=title_of(results[0]))


def _run(args: argparse.Namespace) -> int:
    written = rebuild(args.directory)
    print(f"rebuilt {args.directory}: " + ", ".join(str(k) for k in written))
    return 0


def _meta(directory: Path) -> dict:
    try:
        return json.loads((directory / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def _command(config: Path) -> str:
    command = _meta(config.parent).get("command")
    return f": {command}" if command else ""


def main(argv: Sequence[str] | None = None, prog: str = "python -m headspex.report") -> int:
    args = build_parser(prog).parse_args(argv)
    return guarded(_run, args)


if __name__ == "__main__":
    raise SystemExit(main())
