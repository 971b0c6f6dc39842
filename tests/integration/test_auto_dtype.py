"""--dtype auto end to end on a tiny checkpoint: the resolved dtype and its measurement land in config.json, a
resume keeps the recorded dtype whatever this machine would choose now (the stores are keyed by it), and the
library's load_model(dtype="auto") and MaskGame follow the same choice. The probe is mocked where the answer
must not depend on this machine's CPU."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from headspex.engine import dtype_choice as dc
from headspex.prune.cli import main as prune
from tests.conftest import save_tiny_llama
from tests.helpers import tiny_task, write_capitals_jsonl

FAST = ["--keep", "0.5", "--budget", "24", "--best-of-n", "4", "--n-random", "3", "--n-heldout", "2",
        "--energy-boot", "2", "--n-train", "4", "--n-test", "4", "--no-progress", "--layers", "1-2",
        "--methods", "proxyspex,lasso,random", "--milp-time-limit", "2"]


REAL_CHOOSE = dc.choose_dtype


def fake_choice(dtype: str, ratio: float, units: bool):
    def choose(device="cpu", **_):
        return REAL_CHOOSE("cpu", probe=lambda d: 0.01 * (ratio if d == "bfloat16" else 1), capability="FAKE",
                               units=units)
    return choose


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("auto-dtype")
    save_tiny_llama(root / "model")
    return root, write_capitals_jsonl(root / "capitals.jsonl")


def test_the_default_records_its_measured_choice_and_a_resume_keeps_it(checkpoint, monkeypatch, capsys):
    root, task = checkpoint
    out = root / "run"
    base = ["--model", str(root / "model"), "--task", str(task), *FAST, "--out", str(out)]
    monkeypatch.setattr("headspex.experiments.run_dtype.choose_dtype", fake_choice("float32", 8.5, units=False))
    assert prune(base) == 0
    assert "training masks in float32: bfloat16 is 8.5x slower on this CPU (FAKE, no bf16 units)" in capsys.readouterr().err
    record = json.loads((out / "config.json").read_text())
    assert record["dtype"] == "float32" and record["settings"]["dtype"] == "float32"
    assert record["dtype_choice"]["requested"] == "auto" and record["dtype_choice"]["bf16_slowdown"] == pytest.approx(8.5)
    assert (out / "layers-1-2" / "train-float32").is_dir()

    # the same --out on a machine where bfloat16 would win: resumed in float32, nothing recomputed, nothing mixed
    monkeypatch.setattr("headspex.experiments.run_dtype.choose_dtype", fake_choice("bfloat16", 0.25, units=True))
    assert prune(base) == 0
    err = capsys.readouterr().err
    assert "training masks in float32: the dtype this --out's stores were made in (resumed)" in err
    assert not (out / "layers-1-2" / "train-bfloat16").exists()
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"


def test_a_resume_in_a_much_slower_dtype_says_so_in_one_line(checkpoint, monkeypatch, capsys):
    root, task = checkpoint
    out = root / "bf16-run"
    base = ["--model", str(root / "model"), "--task", str(task), *FAST, "--out", str(out)]
    monkeypatch.setattr("headspex.experiments.run_dtype.choose_dtype", fake_choice("bfloat16", 0.25, units=True))
    monkeypatch.setattr("headspex.experiments.run_dtype.answers_agree", lambda *a, **k: 1.0)
    assert prune(base) == 0
    assert json.loads((out / "config.json").read_text())["dtype_choice"]["agreement"] == 1.0
    capsys.readouterr()
    monkeypatch.setattr("headspex.experiments.run_dtype.choose_dtype", fake_choice("float32", 8.5, units=False))
    assert prune(base) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: resuming")]
    assert len(notes) == 1 and "bfloat16 is 8.5x slower than float32" in notes[0], notes
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"


def test_an_auto_choice_whose_answers_disagree_trains_in_float32(checkpoint, monkeypatch, capsys):
    root, task = checkpoint
    out = root / "vetoed"
    monkeypatch.setattr("headspex.experiments.run_dtype.choose_dtype", fake_choice("bfloat16", 0.25, units=True))
    monkeypatch.setattr("headspex.experiments.run_dtype.answers_agree", lambda *a, **k: 0.5)
    assert prune(["--model", str(root / "model"), "--task", str(task), *FAST, "--out", str(out)]) == 0
    assert "agree with float32's on only 50%" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"


def test_load_model_auto_takes_the_choice_and_records_it(checkpoint, monkeypatch):
    from headspex.engine.models import load_model

    root, _ = checkpoint
    monkeypatch.setattr(dc, "choose_dtype", fake_choice("bfloat16", 0.25, units=True))
    model = load_model(str(root / "model"), dtype="auto")
    assert model.dtype == torch.bfloat16 and model.dtype_choice.dtype == "bfloat16"
    assert load_model(str(root / "model")).dtype == torch.float32  # the library's default stays exact on CPU


def test_answers_agree_is_one_for_the_same_model(tiny_llama):
    from headspex.experiments.run_dtype import answers_agree

    assert answers_agree(tiny_llama, tiny_llama, tiny_task()) == 1.0


def test_mask_game_warns_once_about_a_slow_dtype(monkeypatch):
    from headspex.engine.game import MaskGame
    from tests.conftest import tiny_llama_model

    dc._warn_once.cache_clear()
    monkeypatch.setattr(dc, "choose_dtype", fake_choice("float32", 8.5, units=False))
    model = tiny_llama_model(dtype=torch.bfloat16)
    with pytest.warns(RuntimeWarning, match=r"bfloat16 is 8\.5x slower than float32 .* dtype='auto'"):
        MaskGame(model, tiny_task(), [(0, 0)]).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MaskGame(model, tiny_task(), [(0, 0)]).close()  # once per process
    dc._warn_once.cache_clear()
