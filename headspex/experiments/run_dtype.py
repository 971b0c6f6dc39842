"""The dtype of a CLI run's training masks: ``--dtype auto`` (the default) measured on this machine, an explicit
``--dtype`` obeyed, and a resumed ``--out`` kept in the dtype its stores were made in.

- :func:`resolve_run_dtype` runs before the model loads: the dtype to load in, and the
  :class:`~headspex.engine.dtype_choice.DtypeChoice` that says why.
- :func:`confirm_agreement` runs once the task is loaded: a low-precision choice is kept only when the clean
  model's answers on the training questions agree with float32's (else the run trains in float32).

The choice is printed as one line and recorded in ``config.json`` (``dtype_choice``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from headspex.engine.dtype_choice import DtypeChoice, choose_dtype, explicit, slowdown_line, with_agreement
from headspex.engine.game import MaskGame

__all__ = ["answers_agree", "confirm_agreement", "recorded_dtype", "resolve_run_dtype"]


def recorded_dtype(out: str | Path) -> str | None:
    """The training dtype recorded in ``out/config.json`` by an earlier run on this ``--out``, if any."""
    path = Path(out) / "config.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    dtype = record.get("dtype") if isinstance(record, dict) else None
    return dtype if isinstance(dtype, str) else None


def resolve_run_dtype(args: argparse.Namespace) -> DtypeChoice:
    """The run's training dtype. An explicit ``--dtype`` is obeyed (a resume under another one is then refused by
    the settings check); ``auto`` resumes in the recorded dtype, saying so when it is much slower here, and else
    measures this machine."""
    device = args.device or _default_device()
    if args.dtype not in (None, "auto"):
        return explicit(args.dtype, device)
    stored = recorded_dtype(args.out)
    measured = choose_dtype(device)
    if stored is None or stored == measured.dtype:
        return measured
    slower = slowdown_line(stored, measured)
    if slower:
        print(f"note: resuming in {stored}, the dtype this --out's stores were made in; {slower}. A new --out "
              f"with --dtype {measured.dtype} would be faster.", file=sys.stderr)
    return replace(measured, dtype=stored, reason=f"the dtype this --out's stores were made in (resumed); {measured.reason}")


def confirm_agreement(choice: DtypeChoice, model: Any, task: Any) -> tuple[DtypeChoice, Any]:
    """(choice, model) after checking that a low-precision ``auto`` choice answers the training questions as float32
    does: the float32 model replaces ``model`` when under AGREEMENT_FLOOR of the answers agree. A resumed run keeps
    its dtype whatever the check says (its stores are keyed by it)."""
    if choice.requested != "auto" or choice.dtype == "float32" or "(resumed)" in choice.reason:
        return choice, model
    from headspex.experiments.ranges import test_model_for

    reference = test_model_for(model, "float32")
    checked = with_agreement(choice, answers_agree(model, reference, task))
    return checked, (reference if checked.dtype == "float32" else model)


def answers_agree(model: Any, reference: Any, task: Any, *, split: str = "train") -> float:
    """Share of ``split``'s questions whose clean-model answer (argmax over the choices) is the same under ``model``
    as under ``reference`` (the float32 model)."""
    full = np.ones((1, 1), np.uint8)
    picks = []
    for m in (model, reference):
        with MaskGame(m, task, [(0, 0)], split=split) as game:
            picks.append(game.choice_logits(full)[0].float().argmax(-1))
    return float((picks[0] == picks[1]).float().mean())


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
