"""``python -m headspex.report DIR``: rebuild the reports of a finished run from its stored results, no model.

DIR is the ``--out`` of ``python -m headspex.prune`` (a layer-range study: ``seed-*/results.pkl``) or of
``python -m headspex.curves`` (whole-model curves: ``seed-*/curve.pkl``). Seeds are merged only when they
were run under the same settings; otherwise the report is refused, naming the seeds and the differences.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from headspex._cli import HelpFormatter, add_debug_flag, guarded
from headspex.errors import InputError, StoredDataError

KINDS = {"study": "seed-*/results.pkl", "curves": "seed-*/curve.pkl"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m headspex.report", description=__doc__.replace("``", ""),
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
    found = [kind for kind, pattern in KINDS.items() if any(d.glob(pattern))]
    if len(found) == 1:
        return found[0]
    if found:
        raise StoredDataError(f"{d} holds both study and curves results; keep each run in its own --out")
    config = d / "config.json"
    if config.is_file():
        command = _command(config)
        raise StoredDataError(f"{d} holds a run that was stopped before its first seed finished (no seed-*/results.pkl "
                              f"or seed-*/curve.pkl yet); rerun its command to resume it{command}")
    raise InputError(f"{d} holds no headspex run (no config.json, seed-*/results.pkl or seed-*/curve.pkl); give the "
                     "--out of a python -m headspex.prune or headspex.curves run")


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
    paths = sorted(d.glob(KINDS[kind]))
    if kind == "study":
        from headspex.prune.report import write_outputs
        from headspex.prune.results import StudyResult

        results = [StudyResult.load(p.parent) for p in paths]
        check_seeds_agree(results, [p.parent.name for p in paths])
        meta = _meta(d)
        return write_outputs(results, d, model_name=meta.get("model", ""), task_name=meta.get("task", ""))
    from headspex.curves.report import title_of, write_outputs as write_curves
    from headspex.curves.results import CurveResult

    results = [CurveResult.load(p) for p in paths]
    check_seeds_agree(results, [p.parent.name for p in paths])
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(_run, args)


if __name__ == "__main__":
    raise SystemExit(main())
