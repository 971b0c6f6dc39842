"""Helpers shared by test modules: a tiny task in the tiny models' word vocabulary."""

from __future__ import annotations

import tasks

COUNTRIES = [("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
             ("Portugal", "Lisbon")]


def tiny_task(name: str = "tiny-capitals") -> tasks.Task:
    """Capitals questions in the tiny models' word vocabulary (their answers are random: no training)."""
    cities = [c for _, c in COUNTRIES]
    qs = []
    for i, (country, city) in enumerate(COUNTRIES):
        others = [c for c in cities if c != city][:3]
        choices = tuple(" " + c for c in sorted([city, *others]))
        prompt = "The capital of " + country + " is" if i % 2 else "Which is the capital of " + country + " ? Answer :"
        qs.append(tasks.Question(prompt, choices, choices.index(" " + city), f"tiny:{country}"))
    return tasks.Task(name, tuple(qs[:3]), tuple(qs[3:]), {"seed": 0})


def write_capitals_jsonl(path, prefixes: tuple[str, ...] = ("The capital of",), n: int = 10):
    """``n`` capitals questions in the tiny models' vocabulary as a task file (JSONL) at ``path``, the prompts
    split evenly over ``prefixes`` in order; returns the path."""
    import json

    cities = [c for _, c in COUNTRIES]
    lines = []
    for i in range(n):
        country, city = COUNTRIES[i % len(COUNTRIES)]
        choices = [" " + c for c in cities[:4]] if city in cities[:4] else [" " + city] + [" " + c for c in cities[:3]]
        prefix = prefixes[i * len(prefixes) // n]
        ending = ("is", "is ,", "is :", "is ?")[(i // len(COUNTRIES)) % 4]  # each question once (up to 20)
        lines.append(json.dumps({"prompt": f"{prefix} {country} {ending}", "choices": choices,
                                 "answer": choices.index(" " + city)}))
    path.write_text("\n".join(lines) + "\n")
    return path


def players_of(layers, n_heads):
    return [(layer, h) for layer in layers for h in range(n_heads)]
