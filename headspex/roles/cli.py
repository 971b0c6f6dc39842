"""``python -m headspex.roles --model smollm2 --out DIR``: each head's attention-pattern scores, as a table and a
heatmap.

Writes ``DIR/roles.csv`` (one row per head: label, layer_1based, head, previous_token, induction, duplicate_token,
ioi_io, ioi_subject; labels L{layer}H{head} with 1-based layers, as every report names heads), ``DIR/roles_heatmap.png`` (one panel per score, layer on y, head on x) and
``DIR/protocol.json`` (every setting used, the score definitions, the model, the code's commit and the time).
``--out`` must be new, empty, or an earlier output of this command (its protocol.json says so): anything else is
refused before the model loads. See docs/roles.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Sequence

from headspex._cli import HelpFormatter, add_debug_flag, commit, guarded
from headspex.errors import OutputError
from headspex.players import head_label

__all__ = ["MARKER", "TOOL", "build_parser", "check_out", "main", "plot_roles"]

MARKER = "protocol.json"  # written first: a directory holding it with "tool": TOOL is this command's output
TOOL = "headspex.roles"


def build_parser(prog: str = "python -m headspex.roles") -> argparse.ArgumentParser:
    from headspex.roles.protocol import RoleProtocol

    d = RoleProtocol()
    p = argparse.ArgumentParser(prog=prog, description=__doc__.replace("``", ""),
                                formatter_class=HelpFormatter)
    p.add_argument("--model", default="smollm2", help="alias, Hugging Face id, local checkpoint or random:NAME")
    p.add_argument("--out", dest="out_dir", required=True, metavar="DIR",
                   help="output directory (required, no default)")
    for flag, default, text in (
        ("--n-sequences", d.n_sequences, "random token sequences (each repeated)"),
        ("--seq-len", d.seq_len, "tokens per copy of a random sequence"),
        ("--n-ioi", d.n_ioi, "IOI prompts (0: no IOI scores)"),
        ("--seed", d.seed, "seed of the random tokens and the IOI prompts"),
        ("--batch-size", d.batch_size, "sequences per forward pass"),
    ):
        p.add_argument(flag, type=int, metavar="N", default=default, help=text)
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto (default: float32 on CPU, "
                   "bfloat16 on GPU)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda when available)")
    add_debug_flag(p)
    return p


def check_out(path: str | Path) -> Path:
    """``path`` as a Path when it is new, empty or an earlier output of this command; OutputError otherwise."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; a directory is expected (choose another --out)")
    if out.is_dir() and any(out.iterdir()) and not _is_ours(out):
        raise OutputError(f"--out {out} is a non-empty directory not written by python -m headspex.roles (no "
                          f"{MARKER} of its own); choose a new or empty directory, e.g. --out {out / 'roles'}")
    return out


def _is_ours(out: Path) -> bool:
    try:
        record = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("tool") == TOOL


def plot_roles(frame: Any, *, title: str) -> Any:
    """A matplotlib Figure: one heatmap per score column of ``frame`` (layer on y, head on x, scale 0..1)."""
    from matplotlib.figure import Figure  # no pyplot: a notebook user's backend stays as it is
    from matplotlib.ticker import MaxNLocator

    from headspex.roles.protocol import SCORES

    n_layers, n_heads = int(frame["layer"].max()) + 1, int(frame["head"].max()) + 1
    names = [name for name in SCORES if name in frame]
    fig = Figure(figsize=(1.5 + 2.2 * len(names), 1.8 + 0.2 * n_layers), dpi=120, layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False, sharey=True)[0]
    for ax, name in zip(axes, names):
        grid = frame.pivot(index="layer", columns="head", values=name).reindex(index=range(n_layers),
                                                                               columns=range(n_heads))
        image = ax.imshow(grid.to_numpy(), aspect="auto", origin="lower", vmin=0.0, vmax=1.0, cmap="viridis",
                          interpolation="nearest", extent=(-0.5, n_heads - 0.5, 0.5, n_layers + 0.5))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("head")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel("layer (1-based, as in --layers)")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="attention")
    fig.suptitle(title, fontsize=10)
    return fig


def _run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from headspex._io import atomic_write_text, save_figure
    from headspex.engine.models import load_model
    from headspex.roles.heads import head_roles
    from headspex.roles.protocol import RoleProtocol

    out = check_out(args.out_dir)
    protocol = RoleProtocol(args.n_sequences, args.seq_len, args.n_ioi, args.seed, args.batch_size)
    model = load_model(args.model, dtype=args.dtype, device=args.device)
    start = time.perf_counter()
    frame = head_roles(model, **asdict(protocol))
    record = {
        "tool": TOOL, "format": 1, "model": args.model, "model_repr": repr(model),
        "n_layers": model.n_layers, "n_heads": model.n_heads, "dtype": str(model.dtype).replace("torch.", ""),
        "device": str(model.device), "protocol": frame.attrs["protocol"],
        "prefix_tokens": frame.attrs["prefix_tokens"], "n_ioi_used": frame.attrs["n_ioi_used"],
        "n_ioi_skipped": frame.attrs["n_ioi_skipped"], "commit": commit(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.perf_counter() - start, 3),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / MARKER, json.dumps(record, indent=2) + "\n")
    atomic_write_text(out / "roles.csv", roles_for_users(frame).to_csv(index=False))
    save_figure(plot_roles(frame, title=f"head roles: {args.model}"), out / "roles_heatmap.png")
    _summary(frame)
    print(f"wrote {out / 'roles.csv'}, {out / 'roles_heatmap.png'} and {out / MARKER}")
    return 0


def roles_for_users(frame: Any) -> Any:
    """``roles.csv`` as users read it: ``label`` (L{layer}H{head}, 1-based layers), ``layer_1based``, ``head`` and the
    scores; :func:`~headspex.roles.heads.head_roles` itself keeps the library's 0-based ``layer``."""
    out = frame.copy()
    out.insert(0, "label", [head_label(layer, head) for layer, head in zip(out["layer"], out["head"])])
    out.insert(1, "layer_1based", out.pop("layer").astype(int) + 1)
    return out


def _summary(frame: Any) -> None:
    """The three highest heads of each score, one line per score."""
    from headspex.roles.protocol import SCORES

    for name in SCORES:
        top = frame.dropna(subset=[name]).nlargest(3, name)
        if len(top):
            heads = ", ".join(f"{head_label(r.layer, r.head)} {getattr(r, name):.2f}" for r in top.itertuples())
            print(f"{name}: {heads}")


def main(argv: Sequence[str] | None = None, prog: str = "python -m headspex.roles") -> int:
    args = build_parser(prog).parse_args(argv)
    return guarded(_run, args)
