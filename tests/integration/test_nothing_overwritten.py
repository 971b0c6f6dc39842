"""Nothing overwritten, nothing duplicated, nothing tampered: each case of the careful user's list, with the message
the user sees. --out writes only into a new or empty directory or a headspex run (a symlink judged by its target);
a task's repeated questions are refused or, when asked, collapsed; a store line that fails its checksum or holds
an impossible value is refused (and --repair recomputes it); a killed export's temporaries are cleaned; a report
names the seeds that never finished; report.md escapes user input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tasks
from headspex.engine.store import ValueStore, load_store
from headspex.errors import InputError, StoredDataError
from headspex.prune.cli import main as prune
from headspex.report import main as report
from tests.conftest import save_tiny_llama
from tests.helpers import write_capitals_jsonl

FAST = ["--layers", "1-2", "--keep", "0.5", "--budget", "24", "--best-of-n", "6", "--n-random", "4", "--n-heldout",
        "3", "--energy-boot", "2", "--dtype", "float32", "--n-train", "4", "--n-test", "4", "--no-progress",
        "--methods", "proxyspex,lasso,random", "--milp-time-limit", "2"]
USERS = {"report.md": b"# my notes\n", "accuracy.csv": b"mine,1\n", "accuracy_vs_sparsity.png": b"\x89PNG mine",
         "values.jsonl": b'{"mine": 1}\n', "config.json.bak": b"{}", "seed-0": None}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("nothing-overwritten")
    save_tiny_llama(root / "model")
    return root, write_capitals_jsonl(root / "capitals.jsonl", ("The capital of", "Which is the capital of"))


def _run(setup, out, *extra):
    root, task = setup
    return prune(["--model", str(root / "model"), "--task", str(task), "--out", str(out), *FAST, *extra])


def _users_dir(path: Path) -> dict[str, bytes]:
    path.mkdir(parents=True)
    for name, data in USERS.items():
        (path / name).mkdir() if data is None else (path / name).write_bytes(data)
    return _tree(path)


def _tree(path: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


@pytest.mark.parametrize("via_link", [False, True], ids=["directory", "symlink"])
def test_out_into_a_users_directory_is_refused_and_touches_nothing(setup, tmp_path, capsys, via_link):
    before = _users_dir(tmp_path / "mine")
    out = tmp_path / "mine"
    if via_link:
        (tmp_path / "link").symlink_to(out)
        out = tmp_path / "link"
    assert _run(setup, out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --out {out}") and "holds files headspex did not write" in err, err
    assert "accuracy.csv" in err and f"--out {out / 'run'}" in err and len(err.splitlines()) == 1
    assert _tree(tmp_path / "mine") == before  # reports, tables, figures, stores: unchanged; no lock written


def test_out_into_an_empty_directory_or_through_a_link_to_one_runs(setup, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "empty")
    assert _run(setup, tmp_path / "link") == 0
    assert (tmp_path / "empty" / "report.md").is_file() and (tmp_path / "link").is_symlink()
    assert _run(setup, tmp_path / "link") == 0  # its own run directory: resumed


def test_repeated_questions_in_a_task_file_are_refused_naming_both_lines(tmp_path):
    path = write_capitals_jsonl(tmp_path / "dups.jsonl", n=6)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1], lines[1]]) + "\n")
    with pytest.raises(InputError,
                       match=r"dups\.jsonl line 7: the same question \(prompt, choices and answer\) as line 2 "
                             r"\(2 repeated questions in all\)"):
        tasks.load(str(path))
    with pytest.warns(UserWarning, match=r"2 repeated questions collapsed .* lines 7, 8 dropped"):
        task = tasks.load(str(path), duplicates="collapse", n_train=3, n_test=3)
    prompts = [q.prompt for q in task.train + task.test]
    assert len(prompts) == len(set(prompts)) == 6


def test_the_cli_refuses_a_task_file_with_repeats_in_one_line(setup, tmp_path, capsys):
    path = write_capitals_jsonl(tmp_path / "dups.jsonl", n=10)
    path.write_text(path.read_text() + path.read_text().splitlines()[0] + "\n")
    root, _ = setup
    assert prune(["--model", str(root / "model"), "--task", str(path), "--out", str(tmp_path / "o"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "line 11: the same question" in err and "line 1" in err and "--duplicates collapse" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.needs_mmlu
def test_mmlus_own_repeats_are_collapsed_and_counted():
    task = tasks.load("mmlu:college_physics")
    keys = [(q.prompt, q.choices, q.answer) for q in task.train + task.test]
    assert len(keys) == len(set(keys)) and task.info["duplicates_collapsed"] == 11


def _store(tmp_path: Path) -> Path:
    store = ValueStore.open(tmp_path / "store", identity={"players": [[0, 0], [0, 1]]})
    store.append(np.array([[1, 0], [0, 1]], np.uint8), {"accuracy": np.array([0.75, 0.5]),
                                                       "logprob": np.array([-0.5, -1.0]), "margin": np.array([1.0, -1.0])})
    store.close()
    return tmp_path / "store" / "values.jsonl"


@pytest.mark.parametrize("field, value, why", [
    ("logprob", -0.25, "fails its checksum"), ("accuracy", 0.0, "fails its checksum"),
    ("logprob", 0.5, "logprob=0.5 is above 0"), ("accuracy", 1.5, "accuracy=1.5 is outside")])
def test_an_edited_or_impossible_stored_value_is_refused_and_repair_recomputes_it(tmp_path, field, value, why):
    path = _store(tmp_path)
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record[field] = value
    if why.startswith(field):  # an impossible value under a valid checksum: refused by its range
        from headspex.engine.store_lines import line_checksum

        record["sum"] = line_checksum(record)
    path.write_text("\n".join([lines[0], json.dumps(record)]) + "\n")
    with pytest.raises(StoredDataError, match=rf"values\.jsonl: line 2 .*{why}.*--repair"):
        load_store(path.parent)
    repaired = ValueStore.open(path.parent, identity={"players": [[0, 0], [0, 1]]}, repair=True)
    assert len(repaired) == 1  # the bad line moved to values.rejected.jsonl; its mask is recomputed by the game
    repaired.close()


def test_an_old_store_without_checksums_loads_with_one_note(tmp_path, capsys):
    path = _store(tmp_path)
    path.write_text("".join(json.dumps({k: v for k, v in json.loads(line).items() if k != "sum"}) + "\n"
                            for line in path.read_text().splitlines()))
    assert len(load_store(path.parent)) == 2
    notes = [line for line in capsys.readouterr().err.splitlines() if "without checksums" in line]
    assert len(notes) == 1 and "2 lines" in notes[0]


def test_a_killed_exports_temporaries_are_cleaned_and_nothing_else(tmp_path):
    from headspex._io import remove_stale_temporaries

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    target = tmp_path / "pruned"
    stale = tmp_path / f".pruned.tmp-{pid}-0123abcd"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"x" * 1000)
    live = tmp_path / f".pruned.tmp-{os.getpid()}-0123abcd"
    live.mkdir()
    keep = [tmp_path / ".pruned.tmp-notes", tmp_path / "pruned.tmp-1-0123abcd", tmp_path / ".other.tmp-1-0123abcd"]
    for k in keep:
        k.write_text("user's")
    moved = tmp_path / f".pruned.old-{pid}-89abcdef"
    moved.mkdir()
    (moved / "config.json").write_text("previous checkpoint")
    assert set(remove_stale_temporaries(target)) == {stale, moved}
    assert not stale.exists() and live.is_dir() and all(k.read_text() == "user's" for k in keep)
    assert (target / "config.json").read_text() == "previous checkpoint"  # put back, not deleted


def test_a_report_says_which_seeds_never_finished(setup, tmp_path, capsys):
    out = tmp_path / "two-seeds"
    assert _run(setup, out, "--seeds", "2", "--seed", "4") == 0
    shutil.rmtree(out / "seed-5")
    capsys.readouterr()
    assert report([str(out)]) == 0
    note = "2 seeds asked, 1 finished (seed 5 has no results: rerun the command to finish it)"
    assert note in (out / "report.md").read_text() and note in (out / "report.html").read_text()


def test_report_md_escapes_a_task_name_with_markup(setup, tmp_path):
    root, task = setup
    odd = tmp_path / "<b>caps&_[x](y).jsonl"
    shutil.copy(task, odd)
    out = tmp_path / "escaped"
    assert prune(["--model", str(root / "model"), "--task", str(odd), "--out", str(out), *FAST]) == 0
    title = (out / "report.md").read_text().splitlines()[0]
    assert "<b>" not in title and "&lt;b&gt;caps&amp;\\_\\[x\\]\\(y\\)" in title, title
