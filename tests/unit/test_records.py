"""Results as data: a seed written as tables reads back exactly (every field, every array, every float), a
second write is byte-identical, the reports rebuilt from the tables equal the originals, and bad or old
seed directories get one clear error."""

from __future__ import annotations

import json
import math
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from headspex.errors import StoredDataError
from headspex.records.config import CurveConfig, StudyConfig
from headspex.records.curve_result import CurveResult
from headspex.records.energy import EnergyShares
from headspex.records.range_run import RangeRun
from headspex.records.stats import Interval
from headspex.records.study_result import StudyResult
from headspex.records import (SCHEMA_VERSION, read_curve_seed, read_study_seed, record_kind, write_curve_seed,
                              write_study_seed)
from headspex.selection.registry import MethodRun
from headspex.selection.select import Selection

TRICKY = np.array([0.1, 1 / 3, -0.0, 5e-324, 1e308, -2.5e-17, np.nan, np.inf, 0.30000000000000004, -1.0])


def assert_same(a: Any, b: Any, where: str = "result") -> None:
    """Equal field by field: dataclasses, dicts (same key order), sequences (same type), numpy arrays (same
    dtype and values, NaN equal to NaN), DataFrames (exact, dtypes included), floats (NaN equal to NaN)."""
    if is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
        assert (np.signbit(a) == np.signbit(b)).all() if a.dtype.kind == "f" else True, where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (where, list(a), list(b))
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert isinstance(b, float) and (a == b or (math.isnan(a) and math.isnan(b))), (where, a, b)
        assert math.copysign(1, a) == math.copysign(1, b), (where, a, b)
    else:
        assert a == b and type(a) is type(b), (where, a, b)


def _selection(rng: np.random.Generator, n: int, k: int, how: str, **details: Any) -> Selection:
    mask = np.zeros(n, np.uint8)
    mask[rng.choice(n, size=k, replace=False)] = 1
    return Selection(mask, k, how, objective=float(rng.normal()) if how != "top-k" else float("nan"),
                     optimal=how == "milp-optimal", seconds=float(rng.random()), details=details)


def _energy(rng: np.random.Generator, n_boot: int) -> EnergyShares:
    def table() -> dict:
        return {name: Interval(float(rng.normal(30, 5)), float("nan") if n_boot < 2 else 1 / 3, 70.25, 0.95, n_boot)
                for name in ("linear", "within_layer", "across_layer")}

    return EnergyShares(table(), table(), n_boot, rng.random((n_boot, 3)) * 100, rng.random((n_boot, 3)))


def _range(layers: tuple, rng: np.random.Generator, config: StudyConfig, *, diagnostics: bool) -> RangeRun:
    players = [(layer, head) for layer in layers for head in range(3)]
    n = len(players)
    heads = pd.DataFrame({"player": np.arange(n), "label": [f"L{a}H{b}" for a, b in players],
                          "layer": [a for a, _ in players], "head": [b for _, b in players],
                          "shapley": rng.normal(size=n), "banzhaf": TRICKY[:n], "interaction_involvement": rng.random(n)})
    keep_k = {keep: max(1, round(keep * n)) for keep in config.keep}
    summary = {"params": {"depth": 3, "learning_rate": 0.2}, "cv_r2": float("nan"), "search": {"depths": (3, 5)},
               "refinement": None, "max_train_value": -0.1}
    run = RangeRun(tuple(layers), players, keep_k, summary, heads,
                   evaluations={"proxyspex": 24, "lasso": 24, "random": 0, "selection_total": 48})
    for keep, k in keep_k.items():
        run.random[keep] = {"accuracy": rng.integers(0, 2, 5) / 1.0, "logprob": rng.normal(size=5)}
        for method, how in (("proxyspex", "milp-optimal"), ("lasso", "top-k")):
            run.selections[(keep, method)] = _selection(rng, n, k, how, solver="HiGHS", gap=0.0, nested={"a": [1, 2]})
            run.test[(keep, method)] = {"accuracy": (rng.random(7) < 0.5).astype(float), "logprob": rng.normal(size=7)}
            run.train[(keep, method)] = {"accuracy": 0.75, "logprob": float(rng.normal()), "margin": float("nan")}
    run.heldout = {key: {"r2": float(rng.normal()), "predicted": rng.normal(size=4), "true": TRICKY[:4].copy()}
                   for key in ("uniform", *config.keep)}
    if diagnostics:
        run.energy = _energy(rng, 3)
        run.top_interactions = pd.DataFrame({"members": ["L0H0 L0H1", "L0H2 L1H0 L1H1"], "order": [2, 3],
                                             "value": [0.25, -1e-9], "within_layer": [True, False]})
    return run


def study_result(seed: int = 3) -> StudyResult:
    """A hand-made seed of a study: two ranges (the second without energy or interactions), tricky floats."""
    config = StudyConfig(ranges=((0, 1), (2, 3)), keep=(0.5, 0.83), budget=24, seed=seed,
                         methods=("proxyspex", "lasso", "random"))
    rng = np.random.default_rng(seed)
    ranges = [_range((0, 1), rng, config, diagnostics=True), _range((2, 3), rng, config, diagnostics=False)]
    per_q = {"accuracy": [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], "logprob": rng.normal(size=7).tolist(),
             "margin": TRICKY[:7].tolist()}
    clean = {"train": {"accuracy": 0.8, "logprob": -0.5, "margin": 1.5}, "test": {"accuracy": 5 / 7, "logprob": -0.7},
             "test_model_dtype": {"accuracy": 5 / 7, "logprob": -0.70001}, "test_per_question": per_q}
    return StudyResult(config, clean, ranges, seconds=12.345678901234567)


def curve_result(seed: int = 1) -> CurveResult:
    """A hand-made seed of a curve: two layers x four heads, two methods, two levels."""
    config = CurveConfig(layers=(0, 1), keep=(0.5, 0.25), budget=24, n_random=5, seed=seed,
                         methods=("proxyspex", "lasso", "best-of-n"))
    rng = np.random.default_rng(seed)
    players = [(layer, head) for layer in (0, 1) for head in range(4)]
    ks = config.ks(len(players))
    runs = {"proxyspex": MethodRun({k: _selection(rng, 8, k, "milp-optimal", status=0) for k in ks}, 768, 0, 1.5,
                                   "CV R2 0.7", {k: float(rng.normal()) for k in ks}),
            "best-of-n": MethodRun({k: _selection(rng, 8, k, "best-of-n", index=3) for k in ks}, 768, 0, 0.25, ""),
            "lasso": MethodRun({k: _selection(rng, 8, k, "top-k") for k in ks}, 768, 32, 0.0, "the proxy's masks",
                               {k: TRICKY[i] for i, k in enumerate(ks)})}
    test = {m: {k: {"accuracy": (rng.random(6) < 0.5).astype(float), "logprob": rng.normal(size=6)} for k in ks}
            for m in runs}
    clean = {"train": {"accuracy": 0.5}, "test": {"accuracy": 0.5, "logprob": -1.0},
             "test_per_question": {"accuracy": [1.0, 0.0] * 3, "logprob": rng.normal(size=6).tolist()}}
    return CurveResult(config, players, ks, clean, runs, test, {k: rng.random(5) for k in ks}, n_train=32, n_test=6,
                       seconds=3.25, model_name="tiny", task_name="capitals")


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.parametrize("kind", ["study", "curve"])
def test_a_seed_reads_back_exactly_and_writes_byte_identical_files(tmp_path, kind):
    original = study_result() if kind == "study" else curve_result()
    write, read = (write_study_seed, read_study_seed) if kind == "study" else (write_curve_seed, read_curve_seed)
    write(original, tmp_path / "a")
    back = read(tmp_path / "a")
    assert_same(original, back)
    write(back, tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.tmp"))
    record = json.loads((tmp_path / "a" / "record.json").read_text())
    assert record["schema_version"] == SCHEMA_VERSION and record["kind"] == kind
    assert record_kind(tmp_path / "a" / "record.json") == kind


def test_the_methods_save_and_load_through_the_records(tmp_path):
    study, curve = study_result(), curve_result()
    write_study_seed(study, tmp_path / "study")
    write_curve_seed(curve, tmp_path / "curve")
    assert_same(study, read_study_seed(tmp_path / "study"))
    assert_same(curve, read_curve_seed(tmp_path / "curve"))
    assert type(read_study_seed(tmp_path / "study").config.ranges[0]) is tuple


def test_the_tables_are_tidy_and_plain(tmp_path):
    write_study_seed(study_result(), tmp_path)
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores.columns) == ["seed", "range", "level", "k", "method", "question", "accuracy", "logprob"]
    assert len(scores) == 2 * 2 * 2 * 7 and set(scores["range"]) == {"1-2", "3-4"} and (scores["seed"] == 3).all()
    selections = pd.read_csv(tmp_path / "selections.csv")
    with np.load(tmp_path / "masks.npz", allow_pickle=False) as masks:
        for row in selections.itertuples():
            assert masks[row.mask_key][row.mask_row].sum() == row.k and masks[row.mask_key].dtype == np.uint8
    assert json.loads(selections["details"][0]) == {"solver": "HiGHS", "gap": 0.0, "nested": {"a": [1, 2]}}
    heldout = pd.read_csv(tmp_path / "heldout.csv")
    assert set(heldout["set"]) == {"uniform", "0.5", "0.83"}
    assert set(pd.read_csv(tmp_path / "interactions.csv")["range"]) == {"1-2"}  # the second range has none


def _report_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.suffix in (".csv", ".md", ".html")}


def test_reports_rebuilt_from_the_tables_equal_the_reports_of_the_objects(tmp_path):
    from headspex.reporting.curve_report import write_outputs as write_curves
    from headspex.reporting.study_report import write_outputs as write_study

    studies = [study_result(3), study_result(4)]
    curves = [curve_result(1), curve_result(2)]
    for i, (s, c) in enumerate(zip(studies, curves)):
        write_study_seed(s, tmp_path / "study" / f"seed-{i}")
        write_curve_seed(c, tmp_path / "curve" / f"seed-{i}")
    write_study(studies, tmp_path / "study-before", model_name="m", task_name="t")
    write_study([read_study_seed(tmp_path / "study" / f"seed-{i}") for i in range(2)], tmp_path / "study-after",
                model_name="m", task_name="t")
    (tmp_path / "curve-before").mkdir()
    (tmp_path / "curve-after").mkdir()
    write_curves(curves, tmp_path / "curve-before", title="t")
    write_curves([read_curve_seed(tmp_path / "curve" / f"seed-{i}") for i in range(2)], tmp_path / "curve-after",
                 title="t")
    for kind in ("study", "curve"):
        before, after = _report_files(tmp_path / f"{kind}-before"), _report_files(tmp_path / f"{kind}-after")
        assert len(before) >= (8 if kind == "study" else 5) and before.keys() == after.keys()
        assert [n for n in before if before[n] != after[n]] == []


def test_python_m_headspex_report_rebuilds_from_the_tables(tmp_path):
    from headspex.report import main, run_kind

    for i, seed in enumerate((1, 2)):
        write_curve_seed(curve_result(seed), tmp_path / "curve" / f"seed-{i}")
        write_study_seed(study_result(seed), tmp_path / "study" / f"seed-{i}")
    assert run_kind(tmp_path / "curve") == "curves" and run_kind(tmp_path / "study") == "study"
    assert main([str(tmp_path / "curve")]) == 0 and (tmp_path / "curve" / "auc.csv").is_file()
    assert main([str(tmp_path / "study")]) == 0 and (tmp_path / "study" / "report.md").is_file()


def test_bad_or_old_seeds_get_one_clear_error(tmp_path, capsys):
    from headspex.report import main

    seed = tmp_path / "run" / "seed-0"
    write_study_seed(study_result(), seed)
    with pytest.raises(StoredDataError, match="not 'curve'"):
        read_curve_seed(seed)
    record = json.loads((seed / "record.json").read_text())
    (seed / "record.json").write_text(json.dumps({**record, "schema_version": 99}))
    with pytest.raises(StoredDataError, match="schema version 99"):
        read_study_seed(seed)
    (seed / "record.json").write_text(json.dumps({**record, "config": {**record["config"], "invented": 1}}))
    with pytest.raises(StoredDataError, match="invented"):
        read_study_seed(seed)
    (seed / "record.json").write_text(json.dumps(record))
    (seed / "scores.csv").write_text("seed,range\n0,1-2\n")
    with pytest.raises(StoredDataError, match="scores.csv"):
        read_study_seed(seed)
    (seed / "masks.npz").write_bytes(b"not a zip")
    (seed / "record.json").unlink()
    (seed / "results.pkl").write_bytes(b"old")
    with pytest.raises(StoredDataError, match="convert_results"):
        read_study_seed(seed)
    assert main([str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "convert_results" in err and "Traceback" not in err


def test_a_configuration_reads_back_as_its_class_with_tuples(tmp_path):
    result = study_result()
    result = replace(result, config=replace(result.config, ranges=((0, 1), (2, 3)), best_of_n=7))
    write_study_seed(result, tmp_path)
    config = read_study_seed(tmp_path).config
    assert config == result.config and isinstance(config, StudyConfig)
    assert config.ranges == ((0, 1), (2, 3)) and config.keep == (0.5, 0.83) and config.methods[-1] == "random"


def test_every_field_of_the_result_classes_is_stored():
    """A field added to a result class must be added to headspex.records too (else it would be lost on save)."""
    stored = {StudyResult: {"config", "clean", "ranges", "seconds"},
              RangeRun: {"layers", "players", "keep_k", "proxy_summary", "heads", "selections", "random", "test",
                         "train", "heldout", "evaluations", "energy", "top_interactions"},
              EnergyShares: {"raw", "refined", "n_boot", "raw_samples", "refined_samples"},
              Interval: {"estimate", "low", "high", "level", "n"},
              Selection: {"mask", "k", "method", "objective", "optimal", "seconds", "details"},
              CurveResult: {"config", "players", "ks", "clean", "runs", "test", "random", "n_train", "n_test", "seconds",
                            "model_name", "task_name"},
              MethodRun: {"selections", "forward", "backward", "seconds", "notes", "train_values"}}
    for cls, names in stored.items():
        assert {f.name for f in fields(cls)} == names, f"{cls.__name__}: store its new fields in headspex/records"


def test_the_auc_difference_test_agrees_with_the_auc_table_and_has_a_p_value():
    from headspex.records.curve_result import auc_difference_test, auc_table

    results = [curve_result(1), curve_result(2)]
    estimate, low, high, p = auc_difference_test(results, "lasso", "proxyspex")
    row = auc_table(results).set_index("method").loc["lasso"]
    assert (estimate, low, high) == pytest.approx((row["diff_vs_ref"], row["diff_low"], row["diff_high"]))
    assert 0 < p <= 1
    same = auc_difference_test(results, "lasso", "lasso")
    assert same[:3] == (0.0, 0.0, 0.0) and same[3] == 1.0
