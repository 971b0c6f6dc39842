"""Bad task input is refused in one line of a project error type: what was expected, what was found, what to do.

Task files that are not UTF-8, too small to split, or a directory; `max_tokens` without a tokenizer; and a
`tasks/` or `hooks/` folder in the working directory that shadows the project's own package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tasks
from headspex.errors import InputError, MissingResourceError
from tests.conftest import word_tokenizer

ROOT = Path(__file__).resolve().parents[2]


def _line(prompt: str, answer: int = 0, **extra: object) -> str:
    return json.dumps({"prompt": prompt, "choices": [" Paris", " London"], "answer": answer, **extra},
                      ensure_ascii=False)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_error_types_derive_from_the_project_bases():
    from headspex.engine.models import ModelNotAvailableError

    assert issubclass(tasks.TaskSourceError, InputError) and issubclass(tasks.TaskSourceError, ValueError)
    assert issubclass(ModelNotAvailableError, MissingResourceError) and issubclass(ModelNotAvailableError, RuntimeError)


def test_non_utf8_task_file_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "umlauts.jsonl"
    lines = [_line("The capital of France is"), _line("The capital of Spain is", 1)]
    latin1 = _line("Die Hauptstadt von D\u00e4nemark ist").encode("latin-1")
    path.write_bytes(("\n".join(lines) + "\n").encode() + latin1)
    with pytest.raises(InputError) as err:
        tasks.load(str(path))
    msg = str(err.value)
    assert "umlauts.jsonl line 3" in msg and "not UTF-8" in msg and "0xe4" in msg and "\n" not in msg


def test_line_numbers_count_every_line_break_as_text_mode_did(tmp_path):
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\r\n".join([_line("The capital of France is").encode(), b"", b"{not json"]) + b"\r\n")
    with pytest.raises(InputError, match=r"crlf\.jsonl line 3: not valid JSON"):
        tasks.load(str(path))


def test_one_question_file_says_how_many_questions_the_splits_need(tmp_path):
    path = _write(tmp_path / "single.jsonl", [_line("The capital of France is")])
    with pytest.raises(InputError) as err:
        tasks.load(str(path), n_train=None, n_test=None)  # what the CLI's --n-train 0 --n-test 0 asks for
    msg = str(err.value)
    assert "single.jsonl has 1 usable question" in msg and "at least 1 train and 1 test" in msg
    assert "test split empty" in msg and "\n" not in msg


def test_a_size_over_its_roles_pool_is_refused_but_an_explicit_zero_is_kept(tmp_path):
    path = _write(tmp_path / "three.jsonl", [_line(f"The capital of {c} is") for c in ("France", "Spain", "Italy")])
    with pytest.raises(InputError, match=r"n_train=3 exceeds the \d training-role questions of task file three\.jsonl "
                                         r".*ask for at most \d$"):
        tasks.load(str(path), n_train=3)
    task = tasks.load(str(path), n_test=0)  # asked for explicitly: kept, and no question changes role
    assert len(task.test) == 0 and {q.id for q in task.train} == {q.id for q in tasks.load(str(path)).train}


def test_directory_named_like_a_task_file_is_reported_as_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.jsonl").mkdir()
    for load in (tasks.load, tasks.load_jsonl):
        with pytest.raises(InputError) as err:
            load("x.jsonl")
        msg = str(err.value)
        assert "'x.jsonl'" in msg and "is a directory" in msg and ".jsonl file of questions was expected" in msg
        assert "does not exist" not in msg


def test_missing_task_file_shows_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=rf"'nope\.jsonl' \(resolved to {tmp_path}/nope\.jsonl\) does not exist"):
        tasks.load("nope.jsonl")


def test_max_tokens_needs_a_tokenizer_and_a_positive_int(tmp_path):
    path = _write(tmp_path / "two.jsonl", [_line("The capital of France is"), _line("The capital of Spain is")])
    with pytest.raises(InputError, match="max_tokens needs tokenizer="):
        tasks.load(str(path), max_tokens=256)
    with pytest.raises(InputError, match="max_tokens must be >= 1"):
        tasks.load(str(path), tokenizer=word_tokenizer(), max_tokens=0)


def test_max_tokens_counts_every_split_and_names_the_longest_prompt(tmp_path):
    long = " ".join(["Paris"] * 40)
    lines = [_line(f"The capital of {c} is", id=c) for c in ("France", "Spain", "Italy")] + [_line(long, id="long")]
    path = _write(tmp_path / "q.jsonl", lines)
    tok = word_tokenizer()
    task = tasks.load(str(path), tokenizer=tok, max_tokens=40)  # exactly 40 tokens fit
    assert len(task.train) + len(task.test) == 4
    with pytest.raises(InputError) as err:
        tasks.load(str(path), tokenizer=tok, max_tokens=39, seed=1)
    msg = str(err.value)
    assert "question 'long'" in msg and "is 40 tokens long" in msg and "at most 39 tokens" in msg
    assert "split)" in msg and "n_shots" not in msg


def test_max_tokens_counts_few_shot_exemplars_as_built(tmp_path):
    countries = ("France", "Germany", "Italy", "Spain", "Portugal")  # each question once, each 13 tokens
    lines = [_line("The capital of " + " ".join([countries[i % 5]] * 9) + " is", answer=i // 5, id=f"q{i}")
             for i in range(8)]
    path = _write(tmp_path / "shots.jsonl", lines)
    tok = word_tokenizer()
    tasks.load(str(path), tokenizer=tok, max_tokens=13)  # zero-shot: 13 tokens each
    # two exemplars of 13 + 1 (the answer) tokens before each question's 13
    with pytest.raises(InputError, match=r"is 41 tokens long, .* at most 40 tokens; 7 other prompt\(s\) .*"
                                         r"lower n_shots \(now 2\)"):
        tasks.load(str(path), tokenizer=tok, n_shots=2, max_tokens=40)
    assert tasks.load(str(path), tokenizer=tok, n_shots=2, max_tokens=41).n_choices == 2


# --- a tasks/ or hooks/ folder in the working directory -----------------------------------------------------

_CHECK = "from headspex._packages import check_project_packages; check_project_packages(); print('ok')"


def _run_in(cwd: Path, code: str = _CHECK) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("package", ["tasks", "hooks"])
@pytest.mark.parametrize("variant", ["namespace", "package", "module"])
def test_shadowing_folder_in_the_working_directory_is_named(tmp_path, package, variant):
    if variant == "module":
        shadow = tmp_path / f"{package}.py"
        shadow.write_text("x = 1\n")
    else:
        shadow = tmp_path / package
        shadow.mkdir()
        if variant == "package":
            (shadow / "__init__.py").write_text("x = 1\n")
    res = _run_in(tmp_path)
    assert res.returncode != 0, res.stdout
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("headspex.errors.InputError: ") and str(shadow) in last
    assert str(ROOT / package) in last and "rename it or run from another directory" in last


def test_an_already_imported_shadow_is_caught_too(tmp_path):
    (tmp_path / "tasks").mkdir()
    res = _run_in(tmp_path, "import tasks\n" + _CHECK)
    assert res.returncode != 0 and "InputError" in res.stderr and str(tmp_path / "tasks") in res.stderr


def test_project_packages_pass_from_a_clean_directory(tmp_path):
    res = _run_in(tmp_path, _CHECK + "\nimport tasks, hooks\ncheck_project_packages()\nprint(tasks.__headspex__)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["ok", "True"]
