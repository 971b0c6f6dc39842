"""Clean accuracy of a model on every shipped task family, and the time of one clean pass over each train split.

    .venv/bin/python scripts/clean_accuracy.py [--model smollm2] [--dtype float32]
"""

from __future__ import annotations

import argparse
import time

import tasks
from headspex import evaluate_clean, load_model

TASKS = ("capitals", "capitals:europe", "capitals:asia", "capitals:africa", "capitals:america",
         "us-state-capitals", "elements", "mmlu:high_school_us_history", "mmlu")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--tasks", default=",".join(TASKS))
    a = p.parse_args()
    t0 = time.perf_counter()
    model = load_model(a.model, dtype=a.dtype)
    print(f"{model!r}: load {time.perf_counter() - t0:.2f} s")
    print("| task | n_train | n_test | train accuracy | test accuracy | test logprob | clean train pass (s) |")
    print("|---|---|---|---|---|---|---|")
    for name in a.tasks.split(","):
        task = tasks.load(name, tokenizer=model.tokenizer)
        t0 = time.perf_counter()
        train = evaluate_clean(model, task, split="train")
        seconds = time.perf_counter() - t0
        test = evaluate_clean(model, task, split="test")
        print(f"| {name} | {len(task.train)} | {len(task.test)} | {train['accuracy']:.3f} | {test['accuracy']:.3f} "
              f"| {test['logprob']:.3f} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
