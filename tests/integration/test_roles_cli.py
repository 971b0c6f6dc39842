"""python -m headspex.roles on a tiny local checkpoint: its three files, a rerun into its own --out, and a
foreign non-empty --out refused in one line with exit status 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from headspex.roles.cli import main
from tests.conftest import tiny_llama_hf
from tests.integration.test_roles import COLUMNS, ioi_tokenizer

ARGS = ["--n-sequences", "2", "--seq-len", "4", "--n-ioi", "3", "--batch-size", "2"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-llama-ioi")
    tiny_llama_hf().save_pretrained(path)
    ioi_tokenizer().save_pretrained(path)
    return path


def test_cli_writes_table_heatmap_and_protocol(checkpoint, tmp_path, capsys):
    out = tmp_path / "roles"
    assert main(["--model", str(checkpoint), "--out", str(out), *ARGS]) == 0
    frame = pd.read_csv(out / "roles.csv")
    assert list(frame.columns) == ["label", "layer_1based", *COLUMNS[1:]] and len(frame) == 16
    assert frame["label"].iloc[0] == "L1H0" and frame["layer_1based"].min() == 1  # the reports' convention
    assert (out / "roles_heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads((out / "protocol.json").read_text())
    assert record["tool"] == "headspex.roles" and record["model"] == str(checkpoint)
    assert record["protocol"]["n_sequences"] == 2 and record["protocol"]["n_ioi"] == 3
    assert set(record["protocol"]["scores"]) == set(COLUMNS[2:]) and record["n_ioi_used"] == 3
    assert "commit" in record and record["time"] and not list(out.glob("*.tmp"))
    assert "previous_token: L" in capsys.readouterr().out
    assert main(["--model", str(checkpoint), "--out", str(out), *ARGS, "--seed", "1"]) == 0  # its own --out


def test_cli_refuses_a_foreign_directory_and_a_file(checkpoint, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["--model", str(checkpoint), "--out", str(tmp_path), *ARGS]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --out") and "not written by python -m headspex.roles" in err
    assert len(err.splitlines()) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert main(["--model", str(checkpoint), "--out", str(tmp_path / "notes.txt"), *ARGS]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["--model", str(checkpoint), "--out", str(tmp_path / "new"), "--seq-len", "1"]) == 2
    assert "seq_len must be an integer >= 2" in capsys.readouterr().err
