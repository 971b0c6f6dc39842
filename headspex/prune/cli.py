"""``python -m headspex.prune``: which heads to keep at each sparsity level, per layer range or for the whole model.

With no options it runs the layer-range study on the embedded SmolLM2 and the IOI task, with the fair
protocol (a pilot of random masks that is also the random baseline, matched budgets, float32 test scores,
paired bootstrap intervals), sized to finish in about 17 minutes on a 2-core CPU without bf16 units (float32), 6 with them (bfloat16):
results/dtype-auto and results/smollm2-default/TIME.md. ``--layers all`` (or a union
such as ``1-10+21-30``) makes every head of those layers a player of one game and draws the whole-model
pruning curves over a sweep of keep levels instead (``python -m headspex.curves`` is the same with
``--layers all`` as its default). A rerun with the same ``--out`` resumes from the stored values;
``python -m headspex.report OUT`` rebuilds its reports.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Sequence

from headspex._cli import HelpFormatter, add_debug_flag, guarded
from headspex.errors import InputError



def build_parser(prog: str = "python -m headspex.prune", layers: str = "initial,middle,final") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.replace("``", ""), formatter_class=HelpFormatter)
    _model_args(p.add_argument_group("model and task"))
    _protocol_args(p.add_argument_group("protocol"), layers)
    _run_args(p.add_argument_group("running"))
    _export_args(p.add_argument_group("export (a pruned checkpoint of one method's kept set at one level)"))
    return p


def _model_args(g: Any) -> None:
    g.add_argument("--model", default="smollm2",
                   help="model alias (smollm2, gemma3-270m, ...: headspex.list_models()), Hugging Face id, local "
                        "directory or .gguf file; any Hugging Face causal LM")
    g.add_argument("--task", default="ioi",
                   help="task name (ioi, induction, facts, capitals, mmlu, mmlu:<subject>, ...) or a .jsonl file "
                        "of your own questions")
    g.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto",
                   help="model dtype for the training masks. auto (the default) measures this machine: bfloat16 on GPUs "
                        "and on CPUs with bf16 units (about 4x faster there), float32 on CPUs without them (AVX2 only, "
                        "where bfloat16 is 5-50x slower); a resumed --out keeps the dtype it was made in. The choice is "
                        "printed and recorded in config.json")
    g.add_argument("--test-dtype", choices=["float32", "bfloat16"], default="float32",
                   help="dtype of the test-split evaluation of every selected mask (the random baseline runs in --dtype, with "
                        "float32 answer logits)")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    g.add_argument("--n-train", type=int, default=32,
                   help="training questions (default: 32, sized for a 2-core CPU; 0 = the task's whole split)")
    g.add_argument("--n-test", type=int, default=80,
                   help="test questions (default: 80, sized for a 2-core CPU; 0 = the task's whole split)")
    g.add_argument("--n-shots", type=int, default=0, help="few-shot exemplars per prompt, from the train split (default: 0)")
    g.add_argument("--duplicates", choices=["refuse", "collapse"], default="refuse",
                   help="a task file's repeated questions (the same prompt, choices and answer): refuse them, naming "
                        "both lines, or collapse them to their first copy with a warning (default: refuse)")
    g.add_argument("--exemplars", choices=["per-question", "shared"], default="per-question",
                   help="per-question: each prompt its own exemplars; shared: one set before every prompt (the "
                        "original MMLU protocol; the engine then computes the shared block once per mask)")


def load_task(args: argparse.Namespace, tokenizer: Any, max_tokens: int | None = None) -> Any:
    """The task the model-and-task options name, split with --seed; prompts over ``max_tokens`` are refused."""
    import tasks

    return tasks.load(args.task, seed=args.seed, tokenizer=tokenizer, n_train=args.n_train or None,
                      n_test=args.n_test or None, n_shots=args.n_shots, exemplars=args.exemplars, max_tokens=max_tokens,
                      duplicates=args.duplicates)


def _protocol_args(g: Any, layers: str) -> None:
    from headspex.records.config import CurveConfig, StudyConfig
    from headspex.selection.context import DEFAULT_RULE
    from headspex.selection.methods import proxyspex_rules

    study, curve = StudyConfig.__dataclass_fields__, CurveConfig.__dataclass_fields__

    def both(name: str) -> str:
        show = (lambda v: ",".join(map(str, v)) if isinstance(v, tuple) else v)
        return f"(default: {show(study[name].default)} per range; {show(curve[name].default)} for one game)"

    g.add_argument("--layers", default=layers,
                   help="layer ranges, 1-based and inclusive as in the paper (e.g. 1-3,14-16,30-32), or the presets "
                        "initial, middle, final (ceil(96 / heads per layer) layers each: the paper's 96 heads, 99 on "
                        "SmolLM2), each analysed on its own; or all / a union such as 1-10+21-30: one game, the "
                        f"whole-model curves (default: {layers})")
    g.add_argument("--keep", default=None, help="keep levels: fractions of the players in (0, 1] (one game: in (0, 1), "
                                                "or head counts) " + both("keep"))
    g.add_argument("--budget", type=int, default=None, help="training masks per range (or game) for the proxy "
                                                             + both("budget"))
    g.add_argument("--sampling", choices=["uniform", "matched", "mixture"], default="matched",
                   help="training masks: uniform (keep 1/2, the paper's), matched (keep-probability at the keep "
                        "levels) or mixture (uniform and matched); matched + --refine gave the best mean test "
                        "accuracy over ioi, induction and facts at a matched budget (one seed, within noise)")
    g.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                   help="select on the ridge-refined spectrum (95%% of the energy) instead of the exact one")
    g.add_argument("--best-of-n", type=int, default=None,
                   help="Best-of-N candidates in total over the keep levels (default: --budget, a matched budget)")
    g.add_argument("--n-random", type=int, default=None, help="random k-head masks per keep level (pilot and "
                                                               "baseline) " + both("n_random"))
    g.add_argument("--n-heldout", type=int, default=study["n_heldout"].default,
                   help="unseen masks per keep level for held-out R^2 (ranges)")
    g.add_argument("--energy-boot", type=int, default=study["energy_boot"].default,
                   help="proxy refits for the energy shares' intervals (ranges)")
    g.add_argument("--methods", default=None, help="selection methods to compare (headspex.selection.method_names()) "
                                                   + both("methods"))
    rules = proxyspex_rules()
    g.add_argument("--proxyspex-rule", choices=list(rules), default=DEFAULT_RULE,
                   help="how the method proxyspex selects (default: %(default)s): " + "; ".join(
                       f"{rule}: {text}".replace("%", "%%") for rule, text in rules.items())
                   + "; each is also a method, proxyspex-<rule>")
    g.add_argument("--ablation", choices=["zero", "mean"], default="zero", help="how a removed head is replaced")
    g.add_argument("--metric", choices=["logprob", "accuracy", "margin"], default="logprob",
                   help="training value f(m): mean correct-choice log-probability (smooth), accuracy (the paper's) "
                        "or margin; the test split reports accuracy and log-probability")
    g.add_argument("--milp-time-limit", type=float, default=None,
                   help="a wall-clock cap in seconds on each exact selection (default: none; the MILP stops after "
                        "a fixed number of branch-and-bound nodes and the swap search after a fixed number of "
                        "rounds, so the same command gives the same selections on an idle or a loaded machine; a "
                        "cap makes them depend on the machine's load)")
    g.add_argument("--max-terms", type=int, default=study["max_terms"].default,
                   help="Moebius terms above which the greedy + swap heuristic replaces the exact MILP")
    g.add_argument("--budget-sweep", default=None, metavar="BUDGETS",
                   help="sample-efficiency curves instead of one budget: every method at each budget, e.g. 1n,2n,4n,8n "
                        "(multiples of a range's heads) or 100,200,400; writes sweep_*.csv and sweep.png (ranges; "
                        "default: off)")
    g.add_argument("--validation", type=int, default=0, metavar="N",
                   help="with --budget-sweep: also score every selection on N training-split questions the proxy "
                        "never saw (a validation split), and choose the ProxySPEX rule on them, not on the test "
                        "split (writes sweep_choice.csv; default: 0, off)")
    g.add_argument("--iterative-fraction", type=float, default=study["iterative_fraction"].default,
                   help="share of the kept heads removed per round by the iterative methods")


def _export_args(g: Any) -> None:
    g.add_argument("--export", default=None, metavar="DIR",
                   help="write a pruned checkpoint here: a new or empty directory, or a previous headspex checkpoint "
                        "with --overwrite; never the run's --out (default: none)")
    g.add_argument("--export-method", default="proxyspex", help="the method whose kept set is exported")
    g.add_argument("--export-keep", type=float, default=0.5,
                   help="the keep level exported: one of --keep (a fraction, or a head count for one game)")
    g.add_argument("--export-range", default=None,
                   help="the range whose selection is exported, 1-based as in --layers (default: the only or first "
                        "range); heads outside it are kept")
    g.add_argument("--overwrite", action="store_true",
                   help="let --export replace a checkpoint headspex wrote before (never any other directory)")


def _run_args(g: Any) -> None:
    g.add_argument("--seed", type=int, default=0, help="seed of the task split and of the first study seed")
    g.add_argument("--seeds", type=int, default=1,
                   help="study seeds --seed .. --seed+N-1 (masks, folds and baselines resampled; the split fixed); "
                        "tables give the mean and a 95%% CI over seeds")
    g.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="evaluate masks on Ray actors: --ray starts a local cluster, --ray ADDRESS joins one "
                        "(needs pip install 'headspex[ray]'; default: off)")
    g.add_argument("--workers", type=int, default=None,
                   help="Ray actors (default: one per GPU, else one per 2 CPUs of the cluster)")
    g.add_argument("--out", default="runs/prune", help="output directory (a rerun with the same one resumes)")
    g.add_argument("--wait", action="store_true",
                   help="if another run holds --out, wait for it to finish instead of stopping (default: stop)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.add_argument("--roles", action=argparse.BooleanOptionalAction, default=False,
                   help="also score each head's attention pattern once (headspex.head_roles: previous-token, "
                        "induction, duplicate-token, IOI names; reused when --out holds it) into roles.csv; the "
                        "study's reports then list each range's heads by their top role and colour the interaction "
                        "network by role. Never part of the run's settings (default: off)")
    g.add_argument("--repair", action="store_true",
                   help="move corrupt lines of the value stores to values.rejected.jsonl and recompute their masks")
    add_debug_flag(g)


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m headspex.prune",
         layers: str = "initial,middle,final", one_game: bool = False) -> int:
    """The CLI; ``one_game``: ``--layers`` always names one game (``python -m headspex.curves``)."""
    args = build_parser(prog, layers).parse_args(argv)
    args.one_game, args.prog = one_game, prog
    return guarded(_run, args)


def _run(args: argparse.Namespace) -> int:
    from headspex.engine.lock import DirectoryLock

    for name in ("seeds", "n_heldout", "budget", "n_random", "best_of_n", "energy_boot"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if args.export:  # before any model loads: an export never writes over a user's or a run's files
        from headspex.export.safety import check_export_target

        check_export_target(args.export, overwrite=args.overwrite, out=args.out)
    with DirectoryLock(args.out, wait=args.wait):
        return _run_locked(args)


def _run_locked(args: argparse.Namespace) -> int:
    import tasks
    from headspex.engine.models import load_model
    from headspex.experiments import runs
    from headspex.experiments.run_dtype import confirm_agreement, resolve_run_dtype
    from headspex.players import parse_layer_ranges

    t0 = time.perf_counter()
    whole = args.one_game or runs.is_one_game(args.layers)
    runs.config_for(args, whole, ranges=[[0]], seed=args.seed)  # validates the options before the model loads
    if args.task not in tasks.list_tasks() and not args.task.endswith(".jsonl"):
        tasks.describe(args.task)  # raises the "unknown task ... did you mean" error
    choice = resolve_run_dtype(args)
    model = load_model(args.model, dtype=choice.dtype, device=args.device)
    ranges = parse_layer_ranges(args.layers, model.n_layers, model.n_heads)
    task = load_task(args, model.tokenizer, max_tokens=getattr(model, "context_length", None))
    choice, model = confirm_agreement(choice, model, task)
    args.dtype_choice = choice.to_dict()  # recorded in config.json
    model.dtype_choice = choice
    if choice.requested == "auto":
        print(choice.line(), file=sys.stderr)
    if args.budget_sweep:  # one game (--layers all, or a '+' union) is swept as one range of all its heads
        return runs.run_sweep(args, model, task, ranges, t0)
    if args.validation:
        raise InputError("--validation N scores selections on a validation split within --budget-sweep over layer "
                         "ranges; add --budget-sweep (e.g. 1n,2n,4n)")
    return (runs.run_whole if whole else runs.run_ranges)(args, model, task, ranges, t0)
