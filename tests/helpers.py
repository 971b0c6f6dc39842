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


def players_of(layers, n_heads):
    return [(layer, h) for layer in layers for h in range(n_heads)]
