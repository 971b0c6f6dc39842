"""Execute the notebooks under ``notebooks/`` with nbclient: refresh their committed outputs, or check them.

    python scripts/run_notebooks.py                       # every notebook, full settings, outputs saved in place
    python scripts/run_notebooks.py notebooks/01_walkthrough.ipynb --threads 2
    python scripts/run_notebooks.py --small --out /tmp/nb # CI settings, executed copies written to /tmp/nb

Each notebook reads ``HEADSPEX_NOTEBOOK_SMALL``: ``1`` (``--small``) runs small settings in seconds to minutes,
``0`` (the default here, and what a user gets) the settings its committed outputs show. The kernel runs with
the notebook's folder as working directory and ``HF_HUB_OFFLINE=1``; ``--threads N`` sets torch's CPU threads
(``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``). Without ``--out`` the executed notebook replaces the file, with
its wall time and settings in the notebook's metadata (``headspex``); a notebook that fails is left as it was.

Checks, after each run (exit status 1 when any fails): no cell raised; every code cell tagged ``figure`` shows
an image (``image/png``, ``image/svg+xml`` or ``text/html``); no cell shows a bare ``<Figure size ...>`` text
instead of its picture; no single output is larger than ``--max-output-kb``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SMALL_ENV = "HEADSPEX_NOTEBOOK_SMALL"
FIGURE_TAG = "figure"
IMAGE_TYPES = ("image/png", "image/svg+xml", "text/html")
BARE_FIGURE = re.compile(r"^<(matplotlib\.figure\.)?Figure size [^>]*>$")


def notebook_paths(names: Sequence[str] = ()) -> list[Path]:
    """The notebooks named (paths), or every ``notebooks/*.ipynb`` in name order."""
    if not names:
        return sorted(NOTEBOOKS.glob("*.ipynb"))
    paths = [Path(n).resolve() for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"error: no such notebook: {', '.join(missing)}")
    return paths


def execute(path: Path, *, small: bool, timeout: int = 1800, threads: int | None = None) -> tuple[Any, float]:
    """Run ``path`` top to bottom in a fresh kernel, in memory; returns (the executed notebook, wall seconds).
    The file is not touched. Raises nbclient's ``CellExecutionError`` when a cell fails."""
    import nbformat
    from nbclient import NotebookClient

    env = {SMALL_ENV: "1" if small else "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
           "TQDM_DISABLE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        t0 = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - t0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nb.metadata["headspex"] = {"small": small, "wall_seconds": round(seconds, 1),
                               "threads": threads or os.environ.get("OMP_NUM_THREADS") or "default"}
    return nb, seconds


def _text(output: Any) -> str:
    if output.get("output_type") == "stream":
        return "".join(output.get("text", ""))
    data = output.get("data", {})
    return "".join(data.get("text/plain", "")) if isinstance(data, dict) else ""


def problems(nb: Any, *, max_output_kb: float = 400.0) -> list[str]:
    """What is wrong with an executed notebook: errors, figure cells without a picture, bare Figure reprs,
    outputs over ``max_output_kb``. Empty when all is well."""
    import json

    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        where = f"cell {i} ({cell.source.strip().splitlines()[0][:60] if cell.source.strip() else 'empty'})"
        for o in outputs:
            if o.get("output_type") == "error":
                out.append(f"{where}: {o.get('ename')}: {o.get('evalue')}")
            has_image = any(t in o.get("data", {}) for t in IMAGE_TYPES)
            if not has_image and any(BARE_FIGURE.match(line.strip()) for line in _text(o).splitlines()):
                out.append(f"{where}: shows {_text(o).strip()!r} instead of the picture")
            size = len(json.dumps(o)) / 1024
            if size > max_output_kb:
                out.append(f"{where}: an output of {size:.0f} KB (limit {max_output_kb:.0f} KB)")
        if FIGURE_TAG in cell.get("metadata", {}).get("tags", []):
            if not any(t in o.get("data", {}) for o in outputs for t in IMAGE_TYPES):
                out.append(f"{where}: tagged {FIGURE_TAG!r} but shows no image")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/run_notebooks.py", description=__doc__.split("\n")[0])
    p.add_argument("notebooks", nargs="*", help="notebook files (default: every notebooks/*.ipynb)")
    p.add_argument("--small", action="store_true", help=f"small settings ({SMALL_ENV}=1), as the CI test runs them")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write the executed notebooks here instead of replacing the files (default: in place)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads in the kernel (default: as set)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default: 1800)")
    p.add_argument("--max-output-kb", type=float, default=400.0, help="largest single output allowed (default: 400)")
    a = p.parse_args(argv)
    import nbformat

    failed = 0
    for path in notebook_paths(a.notebooks):
        print(f"{path.name}: running ({'small' if a.small else 'full'} settings)...", flush=True)
        try:
            nb, seconds = execute(path, small=a.small, timeout=a.timeout, threads=a.threads)
        except Exception as err:  # noqa: BLE001 - a failing cell: report it, keep the committed file
            print(f"{path.name}: FAILED, file left as it was\n{err}", file=sys.stderr)
            failed += 1
            continue
        found = problems(nb, max_output_kb=a.max_output_kb)
        target = Path(a.out) / path.name if a.out else path
        if a.out:
            target.parent.mkdir(parents=True, exist_ok=True)
        if not found or a.out:
            nbformat.write(nb, target)
        status = "ok" if not found else "PROBLEMS" + ("" if a.out else " (file left as it was)")
        print(f"{path.name}: {status} in {seconds:.0f} s -> {target}", flush=True)
        for line in found:
            print(f"  {line}", file=sys.stderr)
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
