"""The documentation site builds with ``mkdocs build --strict`` (no broken link, no missing page or image), and its
CLI reference, generated from the parser at build time, holds every flag of ``build_parser()``."""

from __future__ import annotations

import html
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_jupyter")


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True


MISSING = [m for m in NEEDED if _missing(m)]

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"the docs extra is not installed (pip install -e '.[docs]'; "
                                                      f"missing {', '.join(MISSING)})")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-6000:]}"
    return out


def test_the_site_builds_strictly(site):
    for page in ("index.html", "usage/index.html", "results/index.html", "reference/cli/index.html",
                 "reference/api/index.html", "glossary/index.html"):
        assert (site / page).is_file(), page
    assert (site / "results" / "screenshots" / "study_report_top.png").is_file()


def test_the_cli_reference_holds_every_flag(site):
    from headspex.prune.cli import build_parser
    from headspex.report import build_parser as report_parser

    text = html.unescape((site / "reference" / "cli" / "index.html").read_text())
    for parser in (build_parser(), report_parser()):
        flags = {s for a in parser._actions for s in a.option_strings if s.startswith("--")}
        missing = sorted(f for f in flags if f not in text)
        assert not missing, f"the CLI reference lacks {missing}"


def test_the_api_reference_documents_the_public_api(site):
    import headspex

    text = (site / "reference" / "api" / "index.html").read_text()
    missing = [name for name in headspex.__all__ if f'id="{headspex._EXPORTS[name]}.{name}"' not in text]
    assert not missing, f"the API reference lacks {missing}"


def test_the_notebooks_are_rendered_from_their_outputs(site):
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        page = site / "notebooks" / nb.stem / "index.html"
        assert page.is_file(), page
        assert "data:image/png;base64" in page.read_text(), f"{nb.name}: no figure on its page"
