"""Were a planned run's test questions ever used before? ``python -m headspex.prune.question_audit``.

A confirmation study may test only on questions that no earlier committed run or sweep used to train, validate or
choose. This audit rebuilds every question each run under ``--results`` used, in every role, from its
``config.json``: the recorded ``question_ids`` where the run wrote them, else the split rule it ran under (before
0.3: the seeded order's first ``n_test`` questions were the test split, the next ``n_train`` the train split and the
next ``--validation`` the sweep's validation split). It compares by prompt text (the zero-shot prompt: the same prompt
with other seeded distractors counts as seen), so a question that reappears under another seed or id is caught too, and reports how many of
the planned run's test questions were seen, and where.
"""

from __future__ import annotations

import argparse
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from headspex.errors import InputError

__all__ = ["AuditResult", "audit", "used_questions"]


@dataclass
class AuditResult:
    """How many of the planned test questions were used before, and by which runs."""

    task: str
    seed: int
    n_test: int
    seen: dict[str, int] = field(default_factory=dict)  # run's config.json -> planned test questions it used
    runs_read: int = 0

    @property
    def n_seen(self) -> int:
        return len(set().union(*self._ids.values())) if self._ids else 0

    _ids: dict[str, set[str]] = field(default_factory=dict, repr=False)

    def line(self) -> str:
        where = "; ".join(f"{k}: {v}" for k, v in sorted(self.seen.items())) or "none"
        verdict = "never used before" if not self.n_seen else f"{self.n_seen} used before"
        return (f"{self.task} seed {self.seed}: {self.n_test} test questions, {verdict} (checked against "
                f"{self.runs_read} committed runs; by run: {where})")


def _key(q: Any) -> str:
    """A question as the model sees it: its zero-shot prompt (the same prompt with other seeded distractors is still
    a question the runs have seen)."""
    return q.prompt


@functools.lru_cache(maxsize=4)
def _tokenizer(model: str) -> Any:
    from headspex.engine.models import load_model

    return load_model(model, dtype="float32").tokenizer


def _run_questions(config: dict, tokenizer: Any) -> set[str]:
    """Every question (as a key) a run used, in any role."""
    import tasks
    from tasks.splits import seeded_order

    args = config["arguments"]
    seed = int(args.get("seed") or 0)
    full = tasks.load(args["task"], seed=seed, tokenizer=tokenizer)  # every question, both roles (zero-shot)
    questions = list(full.train) + list(full.test)
    by_id = {q.id: q for q in questions}
    recorded = config.get("question_ids")
    if isinstance(recorded, dict):
        return {_key(by_id[i]) for ids in recorded.values() for i in ids if i in by_id}
    n_test, n_train = int(config.get("n_test") or 0), int(config.get("n_train") or 0)
    n_val = int(args.get("validation") or 0)
    order = [questions[i] for i in seeded_order([q.id for q in questions], seed)]
    return {_key(q) for q in order[:n_test + n_train + n_val]}  # the pre-0.3 rule: test, then train, validation


def used_questions(results: str | Path, exclude: Sequence[str | Path] = ()) -> dict[str, set[str]]:
    """Per committed run under ``results`` (its config.json path), whatever its task: the prompts it used (a
    ``capitals`` question used by a ``facts`` run counts). Runs under an ``exclude`` folder are skipped: the planned
    study's own directories, so that a resumed study does not count its own test questions as used before."""
    skip = [Path(e).resolve() for e in exclude]
    out = {}
    for path in sorted(Path(results).rglob("config.json")):
        if any(path.resolve().is_relative_to(e) for e in skip):
            continue
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        args = config.get("arguments") if isinstance(config, dict) else None
        if not isinstance(args, dict) or not args.get("task"):
            continue
        out[str(path)] = _run_questions(config, _tokenizer(args.get("model") or "smollm2"))
    return out


def audit(task: Any, results: str | Path, exclude: Sequence[str | Path] = ()) -> AuditResult:
    """Which of ``task``'s test questions any committed run under ``results`` (outside ``exclude``) used, in any
    role and any task."""
    planned = {_key(q): q.id for q in task.test}
    used = used_questions(results, exclude)
    result = AuditResult(task.name, int(task.info.get("seed") or 0), len(planned), runs_read=len(used))
    for run, keys in used.items():
        hit = {planned[k] for k in planned.keys() & keys}
        if hit:
            result.seen[run], result._ids[run] = len(hit), hit
    return result


def main(argv: Sequence[str] | None = None, prog: str = "python -m headspex.prune.question_audit") -> int:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True, help="task name or .jsonl file, as the planned run names it")
    p.add_argument("--seed", type=int, default=0, help="the planned run's --seed (its split seed)")
    p.add_argument("--n-train", type=int, default=32)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--model", default="smollm2", help="the planned run's model (its tokenizer shapes some prompts)")
    p.add_argument("--results", default="results", help="folder of committed runs (default: results)")
    p.add_argument("--exclude", action="append", default=[], metavar="DIR",
                   help="skip the runs under DIR: the planned study's own folder, so a resumed study passes "
                        "(repeatable)")
    a = p.parse_args(argv)
    import tasks

    if not Path(a.results).is_dir():
        raise InputError(f"--results {a.results} is not a directory of committed runs")
    for folder in a.exclude:
        if not Path(folder).is_dir():
            raise InputError(f"--exclude {folder} is not a directory (expected the planned study's own folder)")
    task = tasks.load(a.task, seed=a.seed, tokenizer=_tokenizer(a.model), n_train=a.n_train, n_test=a.n_test)
    result = audit(task, a.results, a.exclude)
    print(result.line())
    return 0 if not result.n_seen else 1


if __name__ == "__main__":
    raise SystemExit(main())
