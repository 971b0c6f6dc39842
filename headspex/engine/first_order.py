"""First-order head importance from one forward and one backward pass: gradient and attribution patching.

Both read the gradient of the task loss at the hook site ``blocks.{l}.attn.hook_z`` (the per-head input
of the output projection), where the engine ablates heads. A gate ``g_h`` interpolates head ``h``'s output
between its ablated value ``a_h`` (0 for zero ablation, the head's mean for mean ablation) and itself::

    z'_h = a_h + g_h * (z_h - a_h),   g_h = 1 (intact)  ->  dL/dg_h = sum_pos (z_h - a_h) . dL/dz_h

* ``gradient`` (Michel et al. 2019, "Are Sixteen Heads Really Better than One?"): importance
  ``I_h = sum_questions |dL_q / dg_h|`` with ``L_q`` the question's loss (minus the log-probability of
  the correct choice, log-softmax over the choices), then normalised per layer by the layer's L2 norm,
  as Michel et al. do. For zero ablation the gate multiplies the head output, exactly their gate.
* ``attribution-patching`` (Nanda 2023; Syed et al. 2023): the first-order estimate of the change in the
  mean correct-choice log-probability when head ``h`` alone is ablated,
  ``(a_h - z_h) . d metric / d z_h`` summed over positions and averaged over questions, i.e. ``-dM/dg_h``.
  Signed: a head whose removal is predicted to help gets a positive estimate.

A ``keep`` mask applies an ablation first (gates of removed heads are 0), so the estimates are taken
around a pruned model, as the iterative methods need. Costs: one forward and one backward pass per
question (the pass starts at layer 0; the final layer runs at the last position only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from headspex.engine.fast_paths import fast_module
from hooks import tokenize_left_padded

Player = tuple[int, int]


@dataclass(frozen=True)
class FirstOrder:
    """Per-player first-order estimates around one keep mask.

    gate_grad: [n_questions, n_players] float64: dL_q/dg_h per question (L_q = -log p(correct choice)).
    """

    gate_grad: np.ndarray
    players: tuple[Player, ...]

    @property
    def n_questions(self) -> int:
        return int(self.gate_grad.shape[0])

    def michel_importance(self) -> np.ndarray:
        """[n_players]: sum over questions of |dL_q/dg_h|, divided by the L2 norm of its layer's values."""
        raw = np.abs(self.gate_grad).sum(axis=0)
        layers = np.array([layer for layer, _ in self.players])
        out = raw.copy()
        for layer in np.unique(layers):
            sel = layers == layer
            norm = float(np.linalg.norm(raw[sel]))
            out[sel] = raw[sel] / norm if norm > 0 else raw[sel]
        return out

    def attribution_patching(self) -> np.ndarray:
        """[n_players]: estimated change of the mean correct-choice log-prob when the head alone is ablated."""
        return self.gate_grad.mean(axis=0)  # metric = -L, and ablating moves g from 1 to 0: -(-dL/dg)


def first_order(model: Any, task: Any, players: Sequence[Player], *, split: str = "train", ablation: str = "zero",
                means: torch.Tensor | None = None, keep: np.ndarray | None = None,
                batch_size: int = 16) -> FirstOrder:
    """Gate gradients of every player on ``split`` (one forward and backward pass per question).

    Args:
        model: a :class:`headspex.LoadedModel` on the fast or the generic path (the gates sit at the same
            site on both); use float32 for gradients.
        players: (layer, head) pairs; their gates are read. keep: [n_players] 0/1, heads with 0 ablated.
        means: [n_layers, n_heads, d_head] for ``ablation="mean"``.
    """
    if model.weights is None and getattr(model, "generic", None) is None:
        raise ValueError(f"gradient methods need a model on the fast or generic path; {model.architecture} is on "
                         f"the {getattr(model, 'forward_path', 'none')} path")
    if ablation not in ("zero", "mean"):
        raise ValueError(f"ablation must be 'zero' or 'mean'; got {ablation!r}")
    if ablation == "mean" and means is None:
        raise ValueError("ablation='mean' needs means [n_layers, n_heads, d_head] (e.g. MaskGame(...).head_means)")
    players = [tuple(map(int, p)) for p in players]
    keep_full = _keep_grid(model, players, keep)
    questions = task.split(split)
    choice_ids = task.choice_token_ids(model.tokenizer, split)
    answers = task.answers(split)
    grads = []
    for start in range(0, len(questions), batch_size):
        sel = slice(start, start + batch_size)
        prompts = [q.prompt for q in questions[sel]]
        grads.append(_batch_gate_grad(model, prompts, choice_ids[sel], answers[sel], keep_full, ablation, means))
    grid = torch.cat(grads)  # [n_q, n_layers, n_heads]
    idx = torch.tensor(players)
    return FirstOrder(grid[:, idx[:, 0], idx[:, 1]].double().numpy(), tuple(players))


def _keep_grid(model: Any, players: list[Player], keep: np.ndarray | None) -> torch.Tensor:
    grid = torch.ones(model.n_layers, model.n_heads)
    if keep is None:
        return grid
    keep = np.asarray(keep)
    if keep.shape != (len(players),) or not np.isin(keep, (0, 1)).all():
        raise ValueError(f"keep must be a 0/1 vector of length n_players={len(players)}; got shape {keep.shape}")
    for (layer, head), k in zip(players, keep):
        grid[layer, head] = float(k)
    return grid


def _batch_gate_grad(model: Any, prompts: list[str], choice_ids: torch.Tensor, answers: torch.Tensor,
                     keep: torch.Tensor, ablation: str, means: torch.Tensor | None) -> torch.Tensor:
    """dL_q/dg [n_q, n_layers, n_heads] for one batch of questions (per-question gates, so one backward)."""
    gates = keep.to(model.device, model.dtype)[None].repeat(len(prompts), 1, 1).requires_grad_(True)
    with torch.enable_grad():
        logprob = gated_logprob(model, prompts, choice_ids, answers, gates, means if ablation == "mean" else None)
        (grad,) = torch.autograd.grad(-logprob.sum(), gates)
    return grad.detach().float().cpu()


def gated_logprob(model: Any, prompts: list[str], choice_ids: torch.Tensor, answers: torch.Tensor,
                  gates: torch.Tensor, means: torch.Tensor | None = None) -> torch.Tensor:
    """Correct-choice log-probability [n_q] with head outputs gated: z' = a + g (z - a).

    gates: [n_q, n_layers, n_heads] (1 = intact, 0 = ablated); a = 0, or ``means`` [n_layers, n_heads, d_head].
    Differentiable in ``gates``.
    """
    ids, am = tokenize_left_padded(model.tokenizer, prompts, model.device)
    mean = None if means is None else means.to(model.device, model.dtype)

    def gate(z: torch.Tensor, layer: int) -> torch.Tensor:  # z [b, pos, n_heads, d_head]
        g = gates[:, layer][:, None, :, None]
        return g * z if mean is None else mean[layer] + g * (z - mean[layer])

    w = model.weights
    if w is None:  # the generic path: the model's own forward, gates at its output projections' inputs
        logits = model.generic.answer_logits(ids, am, choice_ids.to(model.device), head_fn=gate)
    else:
        fwd = fast_module(w)
        prep = fwd.prepare(w, am, model.dtype)
        h = fwd.run_layers(w, fwd.embed(w, ids), prep, 0, w.n_layers, head_fn=gate, last_only_final=True)
        logits = fwd.answer_logits(w, h[:, -1], choice_ids.to(model.device))[0]  # [n_q, n_choices]
    return torch.log_softmax(logits, -1).gather(-1, answers.to(model.device)[:, None]).squeeze(-1)
