"""A run's --out on a tiny random Llama saved to disk: a refused rerun changes nothing, settings never mix,
reports refuse mixed seeds, unusable --out and failed runs get one line and leave no debris, and a full disk
at any write point loses nothing already stored and resumes to the same tables."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from headspex.prune.cli import main as prune
from headspex.records import read_study_seed, write_study_seed
from headspex.report import main as report
from tests.conftest import save_tiny_llama
from tests.helpers import write_capitals_jsonl

FAST = ["--layers", "1-2", "--keep", "0.5", "--budget", "24", "--best-of-n", "6", "--n-random", "4", "--n-heldout",
        "3", "--energy-boot", "2", "--dtype", "float32", "--n-train", "4", "--n-test", "4", "--no-progress",
        "--methods", "proxyspex,lasso,random", "--milp-time-limit", "2"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def task_file(tmp_path_factory):
    """Ten capitals questions in the tiny model's vocabulary."""
    return write_capitals_jsonl(tmp_path_factory.mktemp("task") / "capitals.jsonl",
                                ("The capital of", "Which is the capital of"))


def _run(tiny_dir, task_file, out, *extra):
    return prune(["--model", str(tiny_dir), "--task", str(task_file), "--out", str(out), *FAST, *extra])


@pytest.fixture(scope="module")
def finished(tiny_dir, task_file, tmp_path_factory):
    """One finished run (two seeds) and a snapshot of its files."""
    out = tmp_path_factory.mktemp("run") / "out"
    assert _run(tiny_dir, task_file, out, "--seeds", "2") == 0
    return out


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("change, named", [(["--metric", "accuracy"], "metric"), (["--n-shots", "1"], "n_shots"),
                                           (["--budget", "30"], "budget"), (["--n-test", "5"], "n_test")])
def test_a_rerun_with_other_settings_is_refused_and_changes_nothing(finished, tiny_dir, task_file, capsys, change,
                                                                   named):
    before = _snapshot(finished)
    assert _run(tiny_dir, task_file, finished, "--seeds", "2", *change) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and named in err and "Traceback" not in err
    assert _snapshot(finished) == before  # config.json and clean.json untouched


def test_a_rerun_with_the_same_settings_resumes(finished, tiny_dir, task_file):
    before = pd.read_csv(finished / "accuracy.csv")
    assert _run(tiny_dir, task_file, finished, "--seeds", "2") == 0
    pd.testing.assert_frame_equal(pd.read_csv(finished / "accuracy.csv"), before)


def test_changed_weights_are_refused(finished, tiny_dir, task_file, tmp_path, capsys):
    """A local model directory whose weights changed in place: nothing stored under the old weights is reused."""
    import shutil

    from safetensors.torch import load_file, save_file

    moved = tmp_path / "model"
    shutil.copytree(tiny_dir, moved)
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    config = json.loads((out / "config.json").read_text())
    weights = moved / "model.safetensors"
    tensors = load_file(weights)
    assert _run(moved, task_file, out, "--seeds", "2") == 2  # another path is another model
    assert "model" in capsys.readouterr().err
    config["settings"]["model"] = str(moved)
    (out / "config.json").write_text(json.dumps(config))
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 1.0
    save_file(tensors, weights, metadata={"format": "pt"})
    assert _run(moved, task_file, out, "--seeds", "2") == 2
    assert "weights" in capsys.readouterr().err


def test_the_report_refuses_seeds_run_under_other_settings(finished, tmp_path, capsys):
    import dataclasses
    import shutil


    out = tmp_path / "out"
    shutil.copytree(finished, out)
    odd = read_study_seed(out / "seed-1")
    odd.config = dataclasses.replace(odd.config, metric="accuracy")
    write_study_seed(odd, out / "seed-1")
    assert report([str(out)]) == 2
    err = capsys.readouterr().err
    assert "seed-1" in err and "metric" in err and "Traceback" not in err
    shutil.rmtree(out / "seed-1")
    assert report([str(out)]) == 0


def test_report_on_empty_partial_or_missing_directories_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text(json.dumps({"command": "python -m headspex.prune --out partial"}))
    for path, words in ((tmp_path / "empty", "holds no headspex run"), (partial, "stopped before"),
                        (tmp_path / "missing", "no directory")):
        assert report([str(path)]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    with pytest.raises(SystemExit) as done:
        report(["--help"])
    assert done.value.code == 0


def test_an_out_that_is_a_file_or_read_only_gets_one_line(tiny_dir, task_file, tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "out"
    a_file.write_text("mine")
    assert _run(tiny_dir, task_file, a_file) == 2
    assert "is a file" in capsys.readouterr().err and a_file.read_text() == "mine"
    import headspex.rundir

    monkeypatch.setattr(headspex.rundir.os, "access", lambda *a, **k: False)  # as a non-root user would see it
    assert _run(tiny_dir, task_file, tmp_path / "ro" / "out") == 2
    assert "read-only" in capsys.readouterr().err


def test_a_failed_run_removes_the_out_it_created(tiny_dir, task_file, tmp_path, capsys):
    out = tmp_path / "new"
    assert _run(tiny_dir, task_file, out, "--layers", "9-10") == 2  # the tiny model has 4 layers
    assert "layer" in capsys.readouterr().err
    assert not out.exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    assert _run(tiny_dir, task_file, mine, "--layers", "9-10") == 2
    assert mine.is_dir()  # a directory the user had is never removed


def test_a_bug_keeps_its_traceback(tiny_dir, task_file, tmp_path, monkeypatch):
    """Only the project's own errors become one line: torch's RuntimeError is a bug and is raised."""
    import headspex.experiments.ranges

    def broken(*args, **kwargs):
        raise RuntimeError("a torch-like internal error")

    monkeypatch.setattr(headspex.experiments.ranges, "clean_scores", broken)
    with pytest.raises(RuntimeError, match="torch-like"):
        _run(tiny_dir, task_file, tmp_path / "out")


class DiskFull:
    """Counts writes (``os.write`` and ``Figure.savefig``); raises ENOSPC at write number ``fail_at``."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at, self.calls, self.targets = fail_at, 0, []

    def hit(self, target: str) -> None:
        self.calls += 1
        self.targets.append(target)
        if self.calls == self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")

    def install(self, monkeypatch) -> None:
        from matplotlib.figure import Figure

        real_write, real_savefig = os.write, Figure.savefig

        def write(fd, data):
            self.hit(os.readlink(f"/proc/self/fd/{fd}"))
            return real_write(fd, data)

        def savefig(fig, fname, *args, **kwargs):
            self.hit(str(fname))
            return real_savefig(fig, fname, *args, **kwargs)

        monkeypatch.setattr(os, "write", write)
        monkeypatch.setattr(Figure, "savefig", savefig)


def _kind(target: str) -> str:
    """A write point: the file's name with seeds and ranges taken out."""
    name = Path(target).name.replace(".tmp", "")
    return "seed/" + name if "/seed-" in target else name


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(out / name) for name in ("accuracy.csv", "pilot.csv", "fit.csv")}


def _values(out: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(out)): p.read_text().splitlines() for p in out.rglob("values.jsonl")}


def check_full_disk(tiny_dir, task_file, tmp_path, monkeypatch, capsys, *, every_point: bool) -> list[str]:
    """A full disk at a write point (each one, or the first of each file type): exit 2 with one line, no partial
    file, nothing stored lost, and the same command resumes to the reference run's tables. Returns the points."""
    reference = tmp_path / "reference"
    counter = DiskFull()
    with monkeypatch.context() as m:
        counter.install(m)
        assert _run(tiny_dir, task_file, reference) == 0
    first_of_kind = {}
    for i, target in enumerate(counter.targets, start=1):
        if str(reference) in target:
            first_of_kind.setdefault(_kind(target), i)
    assert {"values.jsonl", "clean.json", "config.json", "seed/record.json", "seed/masks.npz", "accuracy.csv",
            "accuracy.md", "report.md", "report.html", "shapley_heatmaps.png", "pilot.csv"} <= \
        set(first_of_kind), sorted(first_of_kind)
    if not every_point:  # the first write of each file type
        by_type = {}
        for kind, n in sorted(first_of_kind.items(), key=lambda kv: kv[1]):
            by_type.setdefault(Path(kind).suffix, (kind, n))
        first_of_kind = dict(by_type.values()) | {k: first_of_kind[k] for k in ("clean.json", "config.json")}
    for kind, n in first_of_kind.items():
        out = tmp_path / f"full-{n}"
        fault = DiskFull(fail_at=n)
        with monkeypatch.context() as m:
            fault.install(m)
            code = _run(tiny_dir, task_file, out)
        err = capsys.readouterr().err
        assert code == 2 and "space" in err and "Traceback" not in err, (kind, err)
        assert not list(out.rglob("*.tmp")) if out.exists() else True, kind
        stored = _values(out) if out.exists() else {}
        assert _run(tiny_dir, task_file, out) == 0, kind
        after = _values(out)
        for store, lines in stored.items():  # nothing already stored was lost
            assert after[store][:len(lines)] == lines, (kind, store)
        for name, table in _tables(reference).items():
            pd.testing.assert_frame_equal(_tables(out)[name], table, obj=f"{kind}: {name}")
    return sorted(first_of_kind)


def test_a_full_disk_at_each_kind_of_write_loses_nothing_and_resumes_to_the_same_tables(tiny_dir, task_file,
                                                                                       tmp_path, monkeypatch, capsys):
    """The fast tier: the first write of each file type (tests/e2e/test_full_disk.py: every write point)."""
    points = check_full_disk(tiny_dir, task_file, tmp_path, monkeypatch, capsys, every_point=False)
    assert {".jsonl", ".json", ".csv", ".npz", ".png", ".md", ".html"} <= {Path(p).suffix for p in points}


def test_a_run_stores_its_seeds_as_tables_and_writes_no_pickle(finished, tmp_path):
    """Results as data: each seed is record.json, tidy CSV tables and masks.npz (no pickle anywhere in the
    --out), and the reports rebuild from config.json and those tables alone."""
    import shutil

    from headspex.records import SCHEMA_VERSION

    assert not list(finished.rglob("*.pkl"))
    copy = tmp_path / "tables-only"
    copy.mkdir()
    shutil.copy2(finished / "config.json", copy / "config.json")
    for seed in (0, 1):
        d = finished / f"seed-{seed}"
        record = json.loads((d / "record.json").read_text())
        assert record["kind"] == "study" and record["schema_version"] == SCHEMA_VERSION
        assert record["config"]["seed"] == seed
        assert {"scores.csv", "random.csv", "train.csv", "selections.csv", "costs.csv", "masks.npz"} <= \
            {p.name for p in d.iterdir()}
        scores = pd.read_csv(d / "scores.csv")
        assert set(scores["method"]) == {"proxyspex", "lasso"} and (scores["seed"] == seed).all()
        assert read_study_seed(d).config.seed == seed
        shutil.copytree(d, copy / d.name)
    assert report([str(copy)]) == 0
    for name in ("accuracy.csv", "pilot.csv", "fit.csv", "significance.csv", "energy.csv", "report.md"):
        assert (copy / name).read_bytes() == (finished / name).read_bytes(), name
