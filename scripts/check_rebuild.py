"""Rebuild every committed run directory's reports into a scratch copy, to show a refactor changed no output.

    python scripts/check_rebuild.py OUT            # rebuild each run under results/ into OUT/<run>
    python scripts/check_rebuild.py OUT --against BEFORE   # ... and compare every file byte for byte

Each run directory (one holding ``seed-*/record.json``) is copied with its tracked files to ``OUT/<run>`` and
rebuilt there with ``headspex.report.rebuild``; the committed files are never touched. ``report.html`` carries no
timestamp, so it is compared too. Exit status 1 when any file differs or a rebuild fails.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_directories() -> list[Path]:
    """Every committed run directory under results/ (relative to the repository root)."""
    listed = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True, check=True)
    records = [Path(line) for line in listed.stdout.splitlines() if line.endswith("/record.json")]
    return sorted({p.parent.parent for p in records if p.parent.name.startswith("seed-")})


def rebuild_copy(run: Path, out: Path) -> Path:
    """Copy ``run``'s tracked files into ``out/run`` and rebuild its outputs there."""
    from headspex.report import rebuild

    target = out / run
    if target.exists():
        shutil.rmtree(target)
    listed = subprocess.run(["git", "ls-files", str(run)], cwd=ROOT, capture_output=True, text=True, check=True)
    for line in listed.stdout.splitlines():
        dest = target / Path(line).relative_to(run)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / line, dest)
    rebuild(target)
    return target


def differing(a: Path, b: Path) -> list[str]:
    """Relative paths of files that differ between two trees, or exist in only one."""
    names_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    out = [f"only in {a}: {n}" for n in sorted(names_a - names_b)] + [f"only in {b}: {n}" for n in sorted(names_b - names_a)]
    out += [f"differs: {n}" for n in sorted(names_a & names_b) if not filecmp.cmp(a / n, b / n, shallow=False)]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--against", type=Path, help="an earlier OUT to compare with, file by file")
    args = parser.parse_args()
    failed = False
    for run in run_directories():
        try:
            rebuild_copy(run, args.out)
        except Exception as error:  # report every run, then fail
            print(f"{run}: rebuild failed: {type(error).__name__}: {error}")
            failed = True
            continue
        if args.against is not None:
            diff = differing(args.against / run, args.out / run)
            failed |= bool(diff)
            print(f"{run}: " + ("identical" if not diff else "; ".join(diff[:8])))
        else:
            print(f"{run}: rebuilt")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
