"""``--roles``: each head's attention-pattern scores, computed once per ``--out`` and written to ``OUT/roles.csv``.

The reports read that file (:mod:`headspex.reporting.roles`), so ``python -m headspex.report OUT`` rebuilds the
roles section without a model. Roles never fail a run: the protocol is fitted to the model where it must be (a
shorter random sequence when the tokenizer has fewer ordinary tokens than ``seq_len``; no IOI scores when its
names are not single tokens), each change said in one printed line, and a model ``head_roles`` cannot score gets
one line and no file. A resumed run reuses a readable ``roles.csv`` of the model's heads.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from headspex._io import atomic_write_text
from headspex.errors import HeadspexError
from headspex.reporting.roles import ROLES_FILE, read_roles

__all__ = ["compute_roles", "write_roles"]


def write_roles(args: argparse.Namespace, model: Any, out: Path) -> None:
    """With ``--roles``: reuse ``out/roles.csv`` or compute and write it; records what was done on
    ``args.roles_record`` (config.json's "roles"). Without it: nothing."""
    if not getattr(args, "roles", False):
        return
    path = Path(out) / ROLES_FILE
    if _reusable(path, model):
        print(f"roles: reusing {path}")
        args.roles_record = {"file": ROLES_FILE, "reused": True}
        return
    if path.exists():  # not a roles table of this model's heads: never overwritten or deleted
        print(f"roles: {path} is not a roles table of {model.name}'s heads; it is left as it is and no roles are "
              "computed (move it away to compute them)", file=sys.stderr)
        args.roles_record = {"file": None, "notes": [f"{ROLES_FILE} left as it was"]}
        return
    frame, notes = compute_roles(model)
    if frame is None:
        print(f"roles: not computed ({notes[-1]}); the run goes on without them", file=sys.stderr)
        args.roles_record = {"file": None, "notes": notes}
        return
    from headspex.roles.cli import roles_for_users

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, roles_for_users(frame).to_csv(index=False))
    args.roles_record = {"file": ROLES_FILE, "reused": False, "protocol": frame.attrs["protocol"],
                         "n_ioi_used": frame.attrs["n_ioi_used"], "n_ioi_skipped": frame.attrs["n_ioi_skipped"],
                         "notes": notes}
    print(f"roles: wrote {path}")


def compute_roles(model: Any) -> tuple[Any, list[str]]:
    """(``head_roles`` frame or None, notes): the default protocol, fitted to ``model`` where it must be."""
    from headspex.roles.heads import head_roles
    from headspex.roles.protocol import RoleProtocol

    notes: list[str] = []
    try:
        protocol = _fitted(model, RoleProtocol(), notes)
    except Exception as err:  # noqa: BLE001  (roles never fail a run)
        return None, [*notes, f"{type(err).__name__}: {err}"]
    for attempt in range(2):
        try:
            return head_roles(model, **asdict(protocol)), notes
        except HeadspexError as err:
            if attempt == 0 and protocol.n_ioi and "n_ioi=0" in str(err):
                notes.append(f"no IOI scores: {err}")
                print(f"roles: {model.name}'s tokenizer has no single-token IOI names; scoring with n_ioi=0 "
                      "(the IOI columns are empty)")
                protocol = replace(protocol, n_ioi=0)
                continue
            return None, [*notes, f"{type(err).__name__}: {err}"]
        except Exception as err:  # noqa: BLE001  (roles never fail a run)
            return None, [*notes, f"{type(err).__name__}: {err}"]
    return None, notes  # not reached: the second attempt returns


def _fitted(model: Any, protocol: Any, notes: list[str]) -> Any:
    """``protocol`` with ``seq_len`` cut to the tokenizer's ordinary tokens and the model's context, if needed."""
    from headspex.roles.inputs import prefix_ids, token_pool

    pool = token_pool(model.tokenizer, model.hf_model.get_input_embeddings().num_embeddings).numel()
    context = getattr(model, "context_length", None)
    room = (context - len(prefix_ids(model.tokenizer))) // 2 if context else protocol.seq_len
    seq_len = min(protocol.seq_len, pool, room)
    if seq_len < protocol.seq_len:
        notes.append(f"seq_len {protocol.seq_len} -> {seq_len} ({pool} ordinary tokens, context {context})")
        print(f"roles: random sequences of {seq_len} tokens, not {protocol.seq_len} ({model.name}'s tokenizer has "
              f"{pool} ordinary tokens, its context {context})")
        return replace(protocol, seq_len=seq_len)
    return protocol


def _reusable(path: Path, model: Any) -> bool:
    """Whether ``path`` is a readable roles table with one row per head of ``model``."""
    try:
        frame = read_roles(path.parent)
    except HeadspexError:
        return False
    return frame is not None and len(frame) == model.n_layers * model.n_heads
