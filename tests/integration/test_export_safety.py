"""Exports lose nothing and mix nothing: never delete what they did not write, never write into run data,
refuse masks that keep no head and players that are not integers, and export a layer range's selection
without touching the heads outside it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from headspex.engine.loaded_model import PRUNED_MARKER
from headspex.errors import InputError, OutputError
from headspex.export.checkpoint import export_pruned
from headspex.export.keep import check_head_layout
from headspex.export.safety import TargetExistsError, check_export_target, holds_run_data

N_LAYERS, N_HEADS = 4, 4  # tests/conftest.py's tiny Llama: 2 KV heads, query heads (0, 1) and (2, 3) share one


def full() -> np.ndarray:
    return np.ones((N_LAYERS, N_HEADS), dtype=np.uint8)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every entry under ``root`` -> its bytes (None for a directory)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def user_dir(root: Path) -> Path:
    d = root / "mine"
    (d / "sub").mkdir(parents=True)
    (d / "notes.txt").write_text("my thesis draft")
    (d / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return d


@pytest.mark.parametrize("overwrite", [False, True])
def test_non_empty_user_directory_is_refused_and_kept(tiny_llama, tmp_path, overwrite):
    """Cases 1 and 3: the user's directory is never replaced, with or without overwrite."""
    d = user_dir(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(TargetExistsError, match="not a headspex checkpoint") as info:
        export_pruned(tiny_llama, full(), d, overwrite=overwrite)
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, OutputError)
    assert snapshot(tmp_path) == before  # the files survive, no temporary directory is left


def run_dir(root: Path, kind: str) -> Path:
    """A directory holding one kind of headspex run data."""
    d = root / f"run-{kind.strip('.').replace('/', '')}"
    d.mkdir()
    if kind == "value-store":
        from headspex.engine.store import ValueStore

        ValueStore.open(d, identity={"players": [[0, 0], [0, 1]], "task": "t"}).close()
    elif kind == "curve-config":
        (d / "config.json").write_text(json.dumps({"curve": {"layers": [0]}, "model": "m"}))
    elif kind.endswith("/"):
        (d / kind).mkdir()
        (d / kind / "curve.pkl").write_bytes(b"results")
    else:
        (d / kind).write_text("x")
    return d


@pytest.mark.parametrize("kind", ["value-store", "curve-config", "seed-0/", "methods/", "layers-1-2/",
                                  "train-float32/", "test-bfloat16/", ".lock", "values.jsonl", "accuracy.csv",
                                  "report.html"])
def test_run_data_is_refused_even_with_overwrite(tiny_llama, tmp_path, kind):
    """Case 2: a run's value stores, results and tables are never replaced by a checkpoint."""
    d = run_dir(tmp_path, kind)
    assert holds_run_data(d) is not None
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match="holds headspex run data"):
        export_pruned(tiny_llama, full(), d, overwrite=True)
    assert snapshot(tmp_path) == before


def test_run_data_inside_an_old_checkpoint_is_refused(tiny_llama, tmp_path):
    target = tmp_path / "ck"
    export_pruned(tiny_llama, full(), target)
    (target / "seed-0").mkdir()
    with pytest.raises(OutputError, match="run data"):
        export_pruned(tiny_llama, full(), target, overwrite=True)
    assert (target / "seed-0").is_dir() and (target / PRUNED_MARKER).is_file()


def test_overwrite_replaces_only_a_previous_checkpoint(tiny_llama, tmp_path):
    target = tmp_path / "ck"
    keep = full()
    keep[1, 0] = 0
    export_pruned(tiny_llama, keep, target)
    marker = json.loads((target / PRUNED_MARKER).read_text())
    assert set(marker["files"]) == {p.name for p in target.iterdir()}
    with pytest.raises(TargetExistsError, match="overwrite=True"):
        export_pruned(tiny_llama, full(), target)
    summary = export_pruned(tiny_llama, full(), target, overwrite=True)
    assert summary.n_heads_after == N_LAYERS * N_HEADS
    assert json.loads((target / PRUNED_MARKER).read_text())["kept_heads"][1] == list(range(N_HEADS))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # nothing beside it
    (target / "my-notes.txt").write_text("keep me")  # a file the export did not write
    with pytest.raises(TargetExistsError, match="did not write"):
        export_pruned(tiny_llama, keep, target, overwrite=True)
    assert (target / "my-notes.txt").read_text() == "keep me"


def test_empty_directory_is_used(tiny_llama, tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    export_pruned(tiny_llama, full(), target)
    assert (target / PRUNED_MARKER).is_file()


def test_a_file_or_symlink_is_refused(tiny_llama, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TargetExistsError, match="not a directory"):
        export_pruned(tiny_llama, full(), tmp_path / "file", overwrite=True)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(TargetExistsError, match="symbolic link"):
        export_pruned(tiny_llama, full(), tmp_path / "link", overwrite=True)
    with pytest.raises(OutputError, match="cannot be created"):
        export_pruned(tiny_llama, full(), tmp_path / "file" / "ck")
    assert (tmp_path / "file").read_text() == "x" and (tmp_path / "link").is_symlink()


@pytest.mark.parametrize("keep", [np.zeros((N_LAYERS, N_HEADS)), [], "players"])
def test_a_mask_that_keeps_no_head_is_refused(tiny_llama, tmp_path, keep):
    """Case 9: an all-zero keep matrix used to write a model with no heads at all."""
    kw = {}
    if isinstance(keep, str):
        kw["players"] = [(layer, h) for layer in range(N_LAYERS) for h in range(N_HEADS)]
        keep = np.zeros(N_LAYERS * N_HEADS, dtype=np.uint8)
    with pytest.raises(InputError, match="keeps no head"):
        export_pruned(tiny_llama, keep, tmp_path / "none", **kw)
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("pair", [(1.7, 2), ("3", "1"), (2.0, 1), (True, 0)])
def test_non_integer_pairs_are_refused_by_the_export(tiny_llama, tmp_path, pair):
    """Case 9 (export side; hooks and the spectrum checks: tests/unit/test_players_strict.py)."""
    pattern = r"\(layer, head\) pair of integers.*" + re.escape(repr(pair))
    with pytest.raises(InputError, match=pattern):
        export_pruned(tiny_llama, [(0, 0), pair], tmp_path / "bad")
    with pytest.raises(InputError, match=pattern):
        export_pruned(tiny_llama, np.ones(2), tmp_path / "bad", players=[(0, 0), pair])
    assert not (tmp_path / "bad").exists()


def test_range_players_keep_every_head_outside_the_range(tiny_llama, tmp_path):
    """A layer range's mask with players=...: heads outside the range stay; the bare pairs delete them."""
    players = [(layer, h) for layer in (1, 2) for h in range(N_HEADS)]
    mask = np.array([1, 0, 0, 1, 0, 0, 1, 1], dtype=np.uint8)
    summary = export_pruned(tiny_llama, mask, tmp_path / "range", players=players)
    assert summary.kept_heads == ((0, 1, 2, 3), (0, 3), (2, 3), (0, 1, 2, 3))
    assert summary.kept_kv_heads == ((0, 1), (0, 1), (1,), (0, 1))
    pairs = [p for p, kept in zip(players, mask) if kept]
    bare = export_pruned(tiny_llama, pairs, tmp_path / "pairs")  # documented: the kept heads of the WHOLE model
    assert bare.kept_heads == ((), (0, 3), (2, 3), ())
    grid = full()
    grid[1], grid[2] = mask[:4], mask[4:]
    same = export_pruned(tiny_llama, torch.as_tensor(mask).bool(), tmp_path / "torch", players=players)
    assert same.kept_heads == export_pruned(tiny_llama, grid, tmp_path / "grid").kept_heads == summary.kept_heads


@pytest.mark.parametrize("keep, players, message", [
    (np.ones((1, 2)), [(0, 0), (0, 1)], "1-D 0/1 mask"),
    (np.ones(3), [(0, 0), (0, 1)], "one entry per player"),
    (np.array([1, 2]), [(0, 0), (0, 1)], "binary"),
    (np.ones(2), [(0, 0), (0, 0)], "distinct"),
    (np.ones(2), [(0, 0), (9, 0)], "outside the model"),
    (np.ones(1), "L0H0", "list of"),
])
def test_range_players_bad_inputs(tiny_llama, tmp_path, keep, players, message):
    with pytest.raises(InputError, match=message):
        export_pruned(tiny_llama, keep, tmp_path / "bad", players=players)


@pytest.mark.parametrize("kept, kept_kv, message", [
    ([[1]], [[0, 1]], "cannot keep more KV heads than query heads"),
    ([[0, 1]], [[0, 1]], "KV head must be kept exactly when"),
    ([[2, 3]], [[]], "KV head must be kept exactly when"),
    ([[0, 0]], [[0]], "distinct"),
    ([[0], [1]], [[0]], "every layer"),
])
def test_head_layout_invariants(kept, kept_kv, message):
    """Per layer: no more KV heads than query heads, and a KV head kept iff one of its query heads is."""
    with pytest.raises(InputError, match=message):
        check_head_layout(kept, kept_kv, n_heads=N_HEADS, n_kv_heads=2)
    check_head_layout([[0, 3], [], [2]], [[0, 1], [], [1]], n_heads=N_HEADS, n_kv_heads=2)


def curve_run(root: Path) -> Path:
    """A curve run's --out as python -m headspex.curves leaves it."""
    out = root / "runs" / "curves"
    (out / "seed-0").mkdir(parents=True)
    (out / "seed-0" / "curve.pkl").write_bytes(b"pickled curve")
    (out / "methods").mkdir()
    (out / "config.json").write_text(json.dumps({"curve": {"layers": [0, 1]}}))
    (out / "curve.csv").write_text("method,k\n")
    return out


@pytest.mark.parametrize("where", ["out", "parent", "seed-0", "methods/new", "curve.csv"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_export_selection_refuses_the_run_directory_before_any_work(tmp_path, where, overwrite):
    """Case 2: ``--export`` equal to (or around, or inside at a run name of) ``--out`` is refused first."""
    from headspex.export.from_run import export_selection

    out = curve_run(tmp_path)
    path = {"out": out, "parent": out.parent, "seed-0": out / "seed-0", "methods/new": out / "methods" / "new",
            "curve.csv": out / "curve.csv"}[where]
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match="run's (own )?output directory"):
        extra = {"overwrite": True} if overwrite else {}  # nothing but path and out is read
        export_selection([], None, None, None, path, out, **extra)
    assert snapshot(tmp_path) == before


def test_a_new_directory_inside_the_run_is_allowed(tmp_path):
    out = curve_run(tmp_path)
    assert check_export_target(out / "pruned", out=out) == out / "pruned"
    with pytest.raises(OutputError, match="holds headspex run data"):
        check_export_target(out, overwrite=True)


def test_export_selection_of_a_layer_range_into_the_run(tiny_llama, tmp_path):
    """The real path: a curve over layers 2-3 exported inside its --out; heads of layers 1-2 stay; a second
    export needs overwrite, and the run's files survive both."""
    from headspex.experiments.whole_model import run_curves
    from headspex.export.from_run import export_selection, pick_selection
    from headspex.records.config import CurveConfig
    from tests.helpers import tiny_task

    task, out = tiny_task(), tmp_path / "run"
    config = CurveConfig(layers=(2, 3), keep=(0.5,), budget=8, n_random=2, methods=("gradient",), milp_time_limit=5.0)
    result = run_curves(tiny_llama, task, config, out=out, test_model=tiny_llama, log=lambda _: None)
    run_files = snapshot(out)
    players, selection, ablation = pick_selection(result, "gradient", 0.5)
    report = export_selection(players, selection, tiny_llama, task, out / "pruned", out, repeats=1)
    assert report["max_abs_logit_diff"] < 1e-4 and report["kv_heads"][0] == 2 * N_LAYERS
    kept = json.loads((out / "pruned" / PRUNED_MARKER).read_text())["kept_heads"]
    assert kept[0] == kept[1] == list(range(N_HEADS)) and sum(map(len, kept[2:])) == 4
    with pytest.raises(TargetExistsError, match="overwrite"):
        export_selection(players, selection, tiny_llama, task, out / "pruned", out, repeats=1)
    export_selection(players, selection, tiny_llama, task, out / "pruned", out, repeats=1, overwrite=True)
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in run_files and k != "export.json"} == \
        {k: v for k, v in run_files.items() if k != "export.json"}
