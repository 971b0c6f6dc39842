"""Which few-shot exemplars each question gets: per question, or one shared set.

Two policies (``tasks.load(..., exemplars=...)``):

* ``"per-question"`` (default): each question draws its own ``n_shots`` exemplars from the train split,
  seeded by the question's id (:func:`tasks.splits.pick_exemplars`). Prompts then share only the
  header, so the engine's shared-prefix cache has little to reuse.
* ``"shared"``: one seeded set of ``n_shots`` train questions is the exemplar block of *every* question
  (of every question in the same group, e.g. MMLU subject, when the loader groups) -- the original
  MMLU protocol, where each subject's five dev questions precede every test question. The exemplar
  questions leave the train split (a question must not see its own answer), so train is ``n_shots``
  smaller per group. All prompts of a group then start with the same exemplar block, which the engine
  computes once per mask (:mod:`headspex.engine.prefix_cache`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from headspex.errors import InputError

from .splits import pick_exemplars

__all__ = ["EXEMPLAR_POLICIES", "ExemplarPlan", "check_exemplars", "plan_exemplars"]

EXEMPLAR_POLICIES = ("per-question", "shared")


def check_exemplars(policy: object) -> str:
    """Return ``policy`` if it is one of EXEMPLAR_POLICIES, else raise InputError naming the choices."""
    if policy not in EXEMPLAR_POLICIES:
        raise InputError(f"exemplars must be one of {', '.join(map(repr, EXEMPLAR_POLICIES))}; got {policy!r}")
    return str(policy)


@dataclass(frozen=True)
class ExemplarPlan:
    """The exemplars of every question and the train questions that remain questions.

    policy:    one of EXEMPLAR_POLICIES
    shots_of:  question id -> exemplar ids (in prompt order)
    train_idx: the train split's indices that stay train questions (all of them, per question; all but the
               shared exemplars, shared)
    shared:    group -> its shared exemplar ids ("" is the group when the loader has none); empty per question
    """

    policy: str
    shots_of: Callable[[str], list[str]]
    train_idx: list[int]
    shared: dict[str, list[str]] = field(default_factory=dict)

    def info(self) -> dict[str, object]:
        """What ``task.info`` records about the exemplars."""
        if self.policy == "shared":
            return {"exemplar_policy": "shared: one seeded set per group, removed from the train split",
                    "shared_exemplars": self.shared}
        return {"exemplar_policy": "seeded per question from the train split"}


def plan_exemplars(ids: Sequence[str], train_idx: Sequence[int], n_shots: int, seed: int, *,
                   policy: str = "per-question", group_of: Callable[[str], str] | None = None) -> ExemplarPlan:
    """The exemplar plan for a task whose items are ``ids`` (train and test), ``train_idx`` indexing its
    train split.

    With ``group_of``, exemplars of a question's own group come first (others fill in only if the group
    has too few train questions); shared sets are drawn once per group.
    """
    check_exemplars(policy)
    train = [ids[i] for i in train_idx]
    if not n_shots:
        return ExemplarPlan(policy, lambda _qid: [], list(train_idx))
    if policy == "per-question":
        return ExemplarPlan(policy, lambda qid: pick_exemplars(qid, train, n_shots, seed, group_of=group_of),
                            list(train_idx))
    key: Callable[[str], str] = group_of or (lambda _qid: "")
    shared = {g: _shared_set(train, n_shots, seed, g, key) for g in sorted({key(q) for q in ids})}
    used = {s for shots in shared.values() for s in shots}
    kept = [i for i in train_idx if ids[i] not in used]
    if not kept:
        raise InputError(f"exemplars='shared' with n_shots={n_shots} uses all {len(train)} train questions as "
                         "exemplars and leaves none to train on (raise n_train or lower n_shots)")
    return ExemplarPlan(policy, lambda qid: list(shared[key(qid)]), kept, shared)


def _shared_set(train: list[str], n_shots: int, seed: int, group: str, key: Callable[[str], str]) -> list[str]:
    """``n_shots`` train ids for ``group``, its own first, seeded by (seed, group)."""
    if len(train) < n_shots:
        raise InputError(f"n_shots={n_shots} needs at least {n_shots} train questions; the train split offers "
                         f"{len(train)} (raise n_train or lower n_shots)")
    rng = random.Random(f"{seed}|shared-shots|{group}")
    same = sorted(t for t in train if key(t) == group)
    other = sorted(t for t in train if key(t) != group)
    chosen = rng.sample(same, min(n_shots, len(same)))
    return chosen + rng.sample(other, n_shots - len(chosen))
