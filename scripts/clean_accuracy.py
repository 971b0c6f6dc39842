"""Clean accuracy of a model on every shipped task family, and the time of one clean pass over each train split.

    .venv/bin/python scripts/clean_accuracy.py [--model smollm2] [--dtype float32[,bfloat16]] [--out FILE.md]

One table per dtype (the model's repr and load time above it), printed and, with --out, written to a
Markdown file (results/benchmarks/clean_accuracy.md holds the shipped numbers).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import tasks
from headspex.engine import evaluate_clean, load_model

TASKS = ("capitals", "capitals:europe", "capitals:asia", "capitals:africa", "capitals:america",
         "us-state-capitals", "elements", "facts", "ioi", "induction", "mmlu:high_school_us_history", "mmlu")


def table(model_name: str, dtype: str, names: list[str], emit) -> None:
    """Load the model in `dtype` and emit one Markdown table row per task (plus the header lines)."""
    t0 = time.perf_counter()
    model = load_model(model_name, dtype=dtype)
    emit(f"{model!r}: load {time.perf_counter() - t0:.2f} s")
    emit("| task | n_train | n_test | train accuracy | test accuracy | test logprob | clean train pass (s) |")
    emit("|---|---|---|---|---|---|---|")
    for name in names:
        task = tasks.load(name, tokenizer=model.tokenizer)
        t0 = time.perf_counter()
        train = evaluate_clean(model, task, split="train")
        seconds = time.perf_counter() - t0
        test = evaluate_clean(model, task, split="test")
        emit(f"| {name} | {len(task.train)} | {len(task.test)} | {train['accuracy']:.3f} | {test['accuracy']:.3f} "
             f"| {test['logprob']:.3f} | {seconds:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2")
    p.add_argument("--dtype", default="float32", help="one dtype or several, comma-separated (one table each)")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--out", default=None, help="also write the tables to this Markdown file")
    a = p.parse_args()
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    for i, dtype in enumerate(a.dtype.split(",")):
        if i:
            emit("")
        table(a.model, dtype, a.tasks.split(","), emit)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
