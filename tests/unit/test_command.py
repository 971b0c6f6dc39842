"""The ``headspex`` command: its usage lists every tool, each tool runs with its own options, bad tools get one
clear error, and the console script is declared."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from headspex import __version__
from headspex.command import TOOLS, main

ROOT = Path(__file__).resolve().parents[2]


def test_usage_lists_every_tool(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name}" in out for name in TOOLS)


def test_version_and_listings(capsys):
    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"headspex {__version__}"
    assert main(["models"]) == 0 and "smollm2" in capsys.readouterr().out
    assert main(["tasks"]) == 0 and "ioi" in capsys.readouterr().out


@pytest.mark.parametrize("tool", ["prune", "curves", "report", "audit", "roles"])
def test_a_tool_takes_its_own_options_and_names_itself(tool, capsys):
    with pytest.raises(SystemExit) as done:
        main([tool, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: headspex {tool}")


def test_an_unknown_tool_is_one_error(capsys):
    assert main(["prunes"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown tool 'prunes'; expected one of prune, curves")


def test_the_console_script_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["headspex"] == "headspex.command:main" and project["version"] == __version__
