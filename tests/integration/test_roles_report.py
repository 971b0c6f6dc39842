"""``python -m headspex.prune --roles`` on a tiny random Llama saved to disk: roles.csv written once and reused on
resume, a "Head roles" section in report.md and report.html, the interaction network coloured by role with a
legend; without --roles no file and no section; ``python -m headspex.report`` rebuilds the section from the file
alone."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from headspex.prune.cli import main as prune
from headspex.report import main as report
from headspex.reporting.roles import ROLE_COLOURS
from tests.integration.test_run_safety import FAST, task_file, tiny_dir  # noqa: F401  (fixtures)

FAST_ONE = [*FAST[:FAST.index("--methods")], "--methods", "proxyspex,random", "--milp-time-limit", "2"]


def _run(tiny_dir, task_file, out, *extra):
    return prune(["--model", str(tiny_dir), "--task", str(task_file), "--out", str(out), *FAST_ONE, *extra])


@pytest.fixture(scope="module")
def with_roles(tiny_dir, task_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("roles") / "out"
    assert _run(tiny_dir, task_file, out, "--roles") == 0
    return out


def test_roles_csv_and_its_sections(with_roles):
    roles = pd.read_csv(with_roles / "roles.csv")
    assert list(roles.columns[:3]) == ["label", "layer_1based", "head"] and len(roles) == 16  # 4 layers x 4 heads
    assert roles["previous_token"].notna().all() and roles["ioi_io"].isna().all()  # no single-token IOI names
    record = json.loads((with_roles / "config.json").read_text())
    assert record["roles"]["file"] == "roles.csv" and record["roles"]["protocol"]["n_ioi"] == 0
    assert "roles" not in json.dumps(record["settings"])  # never part of the settings a resume must match
    md = (with_roles / "report.md").read_text()
    assert "## Head roles" in md and md.index("## Head roles") > md.index("## Largest interactions")
    assert "### Layers 1-2" in md.split("## Head roles")[1] and "Heads per role:" in md
    page = (with_roles / "report.html").read_text()
    assert '<section id="roles">' in page and 'href="#roles"' in page and "role-legend" in page
    assert '"name":"role: none"' in page and ROLE_COLOURS["none"] in page  # network nodes and their legend


def test_a_resumed_run_reuses_roles_csv(with_roles, tiny_dir, task_file, capsys):
    before = (with_roles / "roles.csv").read_bytes()
    stamp = (with_roles / "roles.csv").stat().st_mtime_ns
    assert _run(tiny_dir, task_file, with_roles) == 0  # without --roles: the file is kept and still reported
    assert _run(tiny_dir, task_file, with_roles, "--roles") == 0
    assert "roles: reusing" in capsys.readouterr().out
    assert (with_roles / "roles.csv").stat().st_mtime_ns == stamp and (with_roles / "roles.csv").read_bytes() == before
    assert "## Head roles" in (with_roles / "report.md").read_text()


def test_the_report_rebuilds_the_section_from_the_file_alone(with_roles, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(with_roles, out)
    roles = pd.read_csv(out / "roles.csv")
    roles.loc[(roles["layer_1based"] == 2) & (roles["head"] == 3), "induction"] = 0.9  # L2H3: an induction head
    roles.to_csv(out / "roles.csv", index=False)
    (out / "report.md").unlink()
    assert report([str(out)]) == 0
    section = (out / "report.md").read_text().split("## Head roles")[1]
    assert "| L2H3    | induction |   0.900 |" in section and "induction 1" in section
    page = (out / "report.html").read_text()
    assert '"name":"role: induction"' in page and ROLE_COLOURS["induction"] in page and "L2H3" in page
    (out / "roles.csv").unlink()
    assert report([str(out)]) == 0
    assert "## Head roles" not in (out / "report.md").read_text()
    assert 'id="roles"' not in (out / "report.html").read_text()


def test_without_roles_no_file_and_no_section(tiny_dir, task_file, tmp_path):
    out = tmp_path / "out"
    assert _run(tiny_dir, task_file, out) == 0
    assert not (out / "roles.csv").exists() and "roles" not in json.loads((out / "config.json").read_text())
    assert "## Head roles" not in (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    assert 'id="roles"' not in page and "role: " not in page and "role-legend" not in page


def test_a_roles_file_headspex_did_not_write_is_never_overwritten_or_deleted(tiny_dir, task_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(tiny_dir, task_file, out) == 0
    mine = "my notes, not a roles table\n"
    (out / "roles.csv").write_text(mine)
    code = _run(tiny_dir, task_file, out, "--roles")
    assert (out / "roles.csv").read_text() == mine
    err = capsys.readouterr().err
    assert "is left as it is" in err
    assert code == 2 and "lacks the columns of a roles table" in err and "move it away" in err  # one clear error
