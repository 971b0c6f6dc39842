"""One-off repair: Gemma 3 runs made before commit "Gemma 3's weights fingerprint names its own files" recorded
the embedded SmolLM2 GGUF as their weights (the fingerprint of any ``embedded`` source named it). The values
are Gemma's (the model, its name and geometry are recorded correctly); only the weights' identity is wrong,
so a rerun would refuse the stores. This rewrites that identity, in place, in every JSON file of the given
run directories (value stores' config.json, the run's config.json and clean.json), to Gemma's fingerprint.

    .venv/bin/python scripts/refingerprint_gemma.py results/gemma-study/facts results/gemma-study/ioi

It refuses a directory whose recorded model is not ``gemma3-270m``. Rebuild the reports afterwards with
``python -m headspex.report DIR``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from headspex._io import atomic_write_text
from headspex.engine.fingerprint import weights_fingerprint
from headspex.engine.models import load_model

OLD_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _replace(obj: Any, new: dict) -> tuple[Any, int]:
    """obj with every SmolLM2-files fingerprint replaced by ``new``; and how many were replaced."""
    if isinstance(obj, dict):
        if obj.get("kind") == "files" and set(obj.get("files", {})) == {OLD_FILE}:
            return new, 1
        out, n = {}, 0
        for key, value in obj.items():
            out[key], k = _replace(value, new)
            n += k
        return out, n
    if isinstance(obj, list):
        pairs = [_replace(v, new) for v in obj]
        return [v for v, _ in pairs], sum(k for _, k in pairs)
    return obj, 0


def main(dirs: list[str]) -> None:
    new = weights_fingerprint(load_model("gemma3-270m", dtype="bfloat16"))
    for d in map(Path, dirs):
        run = json.loads((d / "config.json").read_text())
        if run.get("model") != "gemma3-270m":
            raise SystemExit(f"{d}: recorded model is {run.get('model')!r}, not gemma3-270m; nothing changed")
        for path in sorted(d.rglob("*.json")):
            fixed, n = _replace(json.loads(path.read_text()), new)
            if n:
                atomic_write_text(path, json.dumps(fixed, indent=1) + "\n")
                print(f"{path}: {n} fingerprint(s) rewritten")


if __name__ == "__main__":
    main(sys.argv[1:])
