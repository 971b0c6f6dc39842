"""The two things ``python -m headspex.prune`` runs: per-range studies, or one game over a level sweep.

Both check the ``--out`` against the settings it was made with before writing anything, record
``config.json`` (arguments, every default, versions, commit, command, settings), run every seed, write the
reports, and export one method's kept set when ``--export`` asks for it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from headspex._cli import commit, versions
from headspex._io import atomic_write_text
from headspex.errors import InputError

# set on args by the run, recorded under their own keys
NOT_ARGUMENTS = {"dtype_choice", "validation_ids", "roles_record"}
PER_MODE = ("keep", "budget", "n_random", "methods", "milp_time_limit")  # defaults: StudyConfig's or CurveConfig's


def is_one_game(layers: str) -> bool:
    """``--layers all`` or a ``+`` union: every head of those layers is a player of one game."""
    return layers.strip() == "all" or "+" in layers


def config_for(args: argparse.Namespace, whole: bool, *, ranges: Any, seed: int) -> Any:
    """The StudyConfig (ranges) or CurveConfig (one game) the options describe; defaults are the config's."""
    from headspex.records.config import CurveConfig, StudyConfig

    cls = CurveConfig if whole else StudyConfig
    given = {name: getattr(args, name) for name in PER_MODE if getattr(args, name) is not None}
    if "keep" in given:
        given.update(_levels(given.pop("keep"), whole))
    if "methods" in given:
        given["methods"] = tuple(m.strip() for m in given["methods"].split(",") if m.strip())
    common = dict(budget=given.pop("budget", cls.__dataclass_fields__["budget"].default), sampling=args.sampling,
                  refine=args.refine, best_of_n=args.best_of_n, metric=args.metric, ablation=args.ablation,
                  seed=seed, max_terms=args.max_terms, iterative_fraction=args.iterative_fraction,
                  proxyspex_rule=args.proxyspex_rule,
                  test_dtype=args.test_dtype, **given)
    if whole:
        return CurveConfig(layers=tuple(ranges[0]), **common)
    return StudyConfig(ranges=tuple(tuple(r) for r in ranges), n_heldout=args.n_heldout,
                       energy_boot=args.energy_boot, **common)


def _levels(text: str, whole: bool) -> dict:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"--keep expects fractions (or, for one game, head counts) separated by commas; got "
                         f"{text!r}") from None
    if whole and values and all(v >= 1 and v == int(v) for v in values):
        return {"head_counts": tuple(int(v) for v in values)}
    return {"keep": values}


def run_ranges(args: argparse.Namespace, model: Any, task: Any, ranges: list, t0: float) -> int:
    """Each range analysed on its own, every seed; the study's reports; an export if asked for."""
    from headspex.engine.executors import make_executor
    from headspex.experiments.ranges import run_study, test_model_for
    from headspex.experiments.run_roles import write_roles
    from headspex.records import write_study_seed
    from headspex.reporting.study_report import write_outputs

    out, config = Path(args.out), config_for(args, False, ranges=ranges, seed=args.seed)
    settings = _checked_settings(config, model, task, out)
    executor = make_executor("ray" if args.ray else None, n_workers=args.workers,
                             ray_address=None if args.ray in (None, "local") else args.ray)
    print(f"{model!r}\n{task!r}; {len(ranges)} range(s); seeds {args.seed}..{args.seed + args.seeds - 1}; output in {out}/")
    results, test_model = [], test_model_for(model, args.test_dtype)
    for seed in range(args.seed, args.seed + args.seeds):
        config = config_for(args, False, ranges=ranges, seed=seed)
        write_config(out / "config.json", "study", config, model, task, args, settings, time.perf_counter() - t0)
        result = run_study(model, task, config, out=out, progress=not args.no_progress, executor=executor,
                           test_model=test_model, repair=args.repair)
        write_study_seed(result, out / f"seed-{seed}")
        results.append(result)
    write_roles(args, model, out)  # --roles: roles.csv, which the reports read
    write_outputs(results, out, model_name=model.name, task_name=task.name)
    _print_trust(results)
    if args.export:
        _export(args, results[0], test_model, task, out)
    write_config(out / "config.json", "study", config, model, task, args, settings, time.perf_counter() - t0)
    print(f"\nwrote {out}/ ({time.perf_counter() - t0:.0f} s)\n")
    print((out / "accuracy.md").read_text())
    return 0


def run_whole(args: argparse.Namespace, model: Any, task: Any, ranges: list, t0: float) -> int:
    """One game over a sweep of levels (the whole-model curves), every seed; their reports; an export."""
    from headspex.engine.executors import make_executor
    from headspex.experiments.ranges import test_model_for
    from headspex.experiments.run_roles import write_roles
    from headspex.experiments.whole_model import run_curves
    from headspex.records import write_curve_seed
    from headspex.reporting.curve_report import title_of, write_outputs

    if len(ranges) != 1:
        raise InputError(f"--layers must name one game (join ranges with '+', e.g. 1-10+21-30); got {args.layers!r}")
    out, config = Path(args.out), config_for(args, True, ranges=ranges, seed=args.seed)
    settings = _checked_settings(config, model, task, out)
    executor = make_executor("ray" if args.ray else None, n_workers=args.workers,
                             ray_address=None if args.ray in (None, "local") else args.ray)
    test_model, results = test_model_for(model, args.test_dtype), []
    for seed in range(args.seed, args.seed + args.seeds):
        config = config_for(args, True, ranges=ranges, seed=seed)
        write_config(out / "config.json", "curve", config, model, task, args, settings, time.perf_counter() - t0)
        result = run_curves(model, task, config, out=out, test_model=test_model, progress=not args.no_progress,
                            repair=args.repair, executor=executor)
        write_curve_seed(result, out / f"seed-{seed}")
        results.append(result)
    write_roles(args, model, out)  # --roles: roles.csv (the curve reports do not show it)
    tables = write_outputs(results, out, title=title_of(results[0]))
    _print_trust(results)
    if args.export:
        _export(args, results[0], test_model, task, out)
    write_config(out / "config.json", "curve", config, model, task, args, settings, time.perf_counter() - t0)
    print(f"\nwrote {out}/ ({time.perf_counter() - t0:.0f} s)\n")
    for name in ("auc", "prunable", "cost"):
        print(tables[name].to_markdown(index=False, floatfmt=".3f"), "\n")
    return 0


def run_sweep(args: argparse.Namespace, model: Any, task: Any, ranges: list, t0: float) -> int:
    """Every method at every budget of ``--budget-sweep``, each range, every seed: sample-efficiency tables."""
    import pandas as pd

    from headspex.experiments import sweep
    from headspex.experiments.core import Games
    from headspex.experiments.ranges import RangeSetup, test_model_for
    from headspex.experiments.run_roles import write_roles
    from headspex.players import format_layer_range, layer_players

    out = Path(args.out)
    budgets = {format_layer_range(r): sweep.parse_budgets(args.budget_sweep, len(layer_players(r, model.n_heads)))
               for r in ranges}
    config = config_for(args, False, ranges=ranges, seed=args.seed)
    config = replace(config, budget=max(max(b) for b in budgets.values()))
    settings = _checked_settings(config, model, task, out, budget_sweep=args.budget_sweep)
    test_model, tables = test_model_for(model, args.test_dtype), []
    fixed = int(task.info.get("seed") or 0)
    val_task = validation_task(args, model, task) if args.validation else None
    args.validation_ids = None if val_task is None else [q.id for q in val_task.test]  # recorded in config.json
    for seed in range(args.seed, args.seed + args.seeds):
        config = replace(config, seed=seed)
        write_config(out / "config.json", "study", config, model, task, args, settings, time.perf_counter() - t0)
        for layers in ranges:
            label = format_layer_range(layers)
            setup = RangeSetup(model, test_model, task, config, tuple(layers), out / f"layers-{label}",
                               not args.no_progress, print, None, args.repair)
            with contextlib.ExitStack() as stack:
                train, test, test_fast = (stack.enter_context(setup.game(split, m)) for split, m in
                                          (("train", model), ("test", test_model), ("test", model)))
                val = None if val_task is None else stack.enter_context(
                    setup.game("test", test_model, task=val_task, name="validation"))
                keep_k = {keep: int(round(keep * train.n_players)) for keep in config.keep}
                tables.append(sweep.sweep_range(Games(train, test, test_fast, val), keep_k, config, budgets[label],
                                                label=label, baseline_seed=fixed, grad_model=test_model, task=task,
                                                log=print))
    written = sweep.write_tables(pd.concat(tables, ignore_index=True), out)
    write_roles(args, model, out)  # --roles: roles.csv beside the sweep's tables
    write_config(out / "config.json", "study", config, model, task, args, settings, time.perf_counter() - t0)
    print(f"\nwrote {out}/ ({time.perf_counter() - t0:.0f} s)\n")
    print(written["overview"].to_markdown(index=False, floatfmt=".3f"))
    if len(written["choice"]):
        print("\nchosen on the validation split (never the test split):\n"
              + written["choice"].to_markdown(index=False, floatfmt=".3f"))
    return 0


def validation_task(args: argparse.Namespace, model: Any, task: Any) -> Any:
    """A task whose test split is ``--validation`` training-role questions after the ``--n-train`` the proxy
    trains on (training-role questions in seeded order: never a test question of any run on this task and
    seed, whatever its --n-test), and whose train split is the study's (head means)."""
    import tasks

    n_train = len(task.train)
    wider = tasks.load(args.task, seed=args.seed, tokenizer=model.tokenizer, n_train=n_train + args.validation,
                       n_test=args.n_test or None, n_shots=args.n_shots, exemplars=args.exemplars,
                       max_tokens=getattr(model, "context_length", None), duplicates=args.duplicates)
    held_out = tuple(wider.train[n_train:])
    if [q.id for q in wider.train[:n_train]] != [q.id for q in task.train] or len(held_out) < args.validation:
        raise InputError(f"--validation {args.validation}: the task {task.name!r} has only {len(held_out)} training-"
                         f"split questions beyond the {n_train} used for training; ask for fewer")
    check_disjoint(validation=held_out, test=task.test)
    return tasks.Task(f"{task.name}:validation", tuple(task.train), held_out, dict(task.info))


def check_disjoint(**splits: Any) -> None:
    """Refuse (InputError) when two of the named question splits share a question (by id or by prompt)."""
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ids = {q.id for q in splits[a]} & {q.id for q in splits[b]}
            prompts = {q.prompt for q in splits[a]} & {q.prompt for q in splits[b]}
            if ids or prompts:
                shared = sorted(ids) or sorted(prompts)
                raise InputError(f"the {a} and {b} questions overlap ({len(shared)} shared, e.g. {shared[0]!r}): "
                                 f"nothing may be chosen on questions it is then tested on")


def question_ids(task: Any, validation: list[str] | None = None) -> dict[str, list[str]]:
    """Every split's question ids (and the sweep's validation ids), for config.json: what a later run must not
    test on if this one trained, validated or chose on it."""
    ids = {split: [q.id for q in task.split(split)] for split in ("train", "test")}
    return ids if validation is None else {**ids, "validation": list(validation)}


def _print_trust(results: list) -> None:
    """The trust warnings of the report, on the terminal too (to stderr, where they are seen)."""
    from headspex.reporting.trust import warning_lines

    for line in warning_lines(results):
        print(line, file=sys.stderr)


def _checked_settings(config: Any, model: Any, task: Any, out: Path, **more: Any) -> dict:
    """The run's settings, refused before anything is written when ``out`` holds a run made with others."""
    from headspex.rundir import check_settings, run_settings

    settings = run_settings(asdict(config), model, task, config.test_dtype)
    extra = {"proxy_search": _proxy_search(), "device": str(model.device.type), **more}
    settings |= json.loads(json.dumps(extra))  # as stored: tuples become lists
    check_settings(out, settings)
    return settings


def _export(args: argparse.Namespace, result: Any, test_model: Any, task: Any, out: Path) -> None:
    from headspex.export.from_run import export_selection, pick_selection

    players, selection, ablation = pick_selection(result, args.export_method, args.export_keep, args.export_range)
    export_selection(players, selection, test_model, task, args.export, out, ablation=ablation,
                     overwrite=args.overwrite)


def write_config(path: Path, kind: str, config: Any, model: Any, task: Any, args: argparse.Namespace,
                 settings: dict, seconds: float) -> None:
    """``config.json``: the configuration (under ``kind``: "study" or "curve"), every argument, model, task,
    versions, commit, command, and the settings a rerun on the same ``--out`` must match."""
    record = {kind: asdict(config), "arguments": {k: v for k, v in vars(args).items() if k not in NOT_ARGUMENTS}, "model": model.name, "architecture": model.architecture,
              "dtype": str(model.dtype).replace("torch.", ""), "device": str(model.device), "task": task.name,
              "task_info": task.info, "n_train": len(task.train), "n_test": len(task.test), "versions": versions(),
              "commit": commit(), "command": f"{getattr(args, 'prog', 'python -m headspex.prune')} " + " ".join(sys.argv[1:]),
              "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds_so_far": round(seconds, 1),
              "proxy_search": _proxy_search(), "dtype_choice": getattr(args, "dtype_choice", None),
              "question_ids": question_ids(task, getattr(args, "validation_ids", None)), "settings": settings}
    if getattr(args, "roles_record", None) is not None:  # --roles: how roles.csv was made (no setting: never refused)
        record["roles"] = args.roles_record
    atomic_write_text(path, json.dumps(record, indent=2, default=str))


def _proxy_search() -> dict:
    from headspex.spectrum.proxy_search import ProxySearch

    return asdict(ProxySearch())
