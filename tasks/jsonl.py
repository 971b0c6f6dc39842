"""A user's own multiple-choice questions from a JSONL file: `tasks.load("questions.jsonl")`.

One JSON object per line (blank lines are skipped):

    {"prompt": "The capital of France is", "choices": [" Paris", " Lyon", " Nice"], "answer": 0}
    {"prompt": "2 + 2 =", "choices": [" 4", " 5"], "answer": 0, "id": "sums/1"}

prompt:  text right before the answer, with no trailing whitespace
choices: list of at least 2 distinct strings, each a space then text (" Paris"); every line needs the
         same number of choices (the model is scored on the first token of each choice)
answer:  integer index into choices
id:      optional unique string; default "<file stem>:<line number>" (lines counted from 1)
Other fields are ignored. A bad line raises InputError (a ValueError) naming the file, the line and the
field; so does a line that is not UTF-8. With a tokenizer, choices of one question that share their first
token are refused too.
Split seeded like every other task: by role, about half/half by default (tasks.splits).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headspex.errors import InputError

from .base import LoadOptions, Question, Task
from .factual import tokenizer_name
from .lengths import check_max_tokens, check_prompt_lengths
from .duplicates import check_duplicates, first_copies, question_key
from .prepared import build_question_task
from .exemplars import check_exemplars
from .sources import check_source
from .splits import check_int

__all__ = ["check_task_file", "load_jsonl", "load_jsonl_task", "read_jsonl_questions"]

FIELDS = ("prompt", "choices", "answer")


def _type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__)


def _question(obj: Any, where: str, default_id: str, tokenizer: Any, first_ids: dict[str, int]) -> Question:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object with 'prompt', 'choices' and 'answer'; got {_type(obj)}")
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        raise InputError(f"{where}: missing field {missing[0]!r} (every line needs 'prompt', 'choices' and 'answer')")
    prompt, choices, answer = obj["prompt"], obj["choices"], obj["answer"]
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError(f"{where}: 'prompt' must be non-empty text; got {prompt!r}")
    if prompt != prompt.rstrip():
        raise InputError(f"{where}: 'prompt' must not end with whitespace (each choice carries its own leading "
                         f"space); got {prompt[-20:]!r}")
    if not isinstance(choices, list) or len(choices) < 2:
        raise InputError(f"{where}: 'choices' must be a list of at least 2 strings; got {choices!r}")
    for c in choices:
        if not isinstance(c, str) or len(c) < 2 or not c.startswith(" ") or c[1].isspace():
            raise InputError(f"{where}: each of 'choices' must be a space then text (\" Paris\"); got {c!r}")
    if len(set(choices)) != len(choices):
        raise InputError(f"{where}: 'choices' repeat: {choices!r}")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
        raise InputError(f"{where}: 'answer' must be an integer index into 'choices' (0..{len(choices) - 1}); "
                         f"got {answer!r}")
    qid = obj.get("id", default_id)
    if not isinstance(qid, str) or not qid:
        raise InputError(f"{where}: 'id' must be a non-empty string when given; got {qid!r}")
    if tokenizer is not None:
        first: dict[int, str] = {}
        for c in choices:
            if c not in first_ids:
                ids = tokenizer.encode(c, add_special_tokens=False)
                if not ids:
                    raise InputError(f"{where}: choice {c!r} in 'choices' encodes to no tokens")
                first_ids[c] = int(ids[0])
            t = first_ids[c]
            if t in first:
                raise InputError(f"{where}: 'choices' {first[t]!r} and {c!r} share their first token {t}; the "
                                 "model is scored on first tokens, so choices must begin differently")
            first[t] = c
    return Question(prompt=prompt, choices=tuple(choices), answer=answer, id=qid)


def check_task_file(path: str | Path) -> Path:
    """`path` as a Path if it is a readable regular file; InputError saying what it is otherwise."""
    path = Path(path)
    shown = f"{str(path)!r}" + ("" if path.is_absolute() else f" (resolved to {path.absolute()})")
    if path.is_dir():
        raise InputError(f"task file {shown} is a directory; a .jsonl file of questions was expected "
                         "(one JSON object per line, see tasks.jsonl)")
    if not path.exists():
        raise InputError(f"task file {shown} does not exist; a name ending in .jsonl is read as a file of "
                         "questions, one JSON object per line (see tasks.jsonl)")
    if not path.is_file():
        raise InputError(f"task file {shown} is not a regular file; a .jsonl file of questions was expected")
    if not os.access(path, os.R_OK):
        raise InputError(f"task file {shown} cannot be read (no read permission); check its permissions")
    return path


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of every line, decoded as UTF-8; InputError naming the line that is not."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"task file {str(path)!r} cannot be read ({e.strerror or e}); check the path and its "
                         "permissions") from None
    for n, raw in enumerate(data.splitlines(), start=1):  # the same line breaks as text mode (\n, \r\n, \r)
        try:
            yield n, raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(
                f"{path.name} line {n}: not UTF-8 text (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the "
                f"line); save {path} as UTF-8 (e.g. iconv -f latin1 -t utf-8 OLD > NEW)"
            ) from None


def read_jsonl_questions(path: str | Path, tokenizer: Any = None, duplicates: str = "refuse") -> list[Question]:
    """All questions of a JSONL file, in file order; InputError naming file, line and field on a bad line, and
    both lines of a repeated question (the same prompt, choices and answer) unless ``duplicates="collapse"``
    (then the first copy is kept and a warning gives the count)."""
    path = check_task_file(path)
    questions: list[Question] = []
    lines: list[int] = []
    id_line: dict[str, int] = {}
    first_ids: dict[str, int] = {}
    width: tuple[int, int] | None = None  # (n_choices, line of the first question)
    for n, line in _lines(path):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
        q = _question(obj, where, f"{path.stem}:{n}", tokenizer, first_ids)
        if q.id in id_line:
            raise InputError(f"{where}: 'id' {q.id!r} already used on line {id_line[q.id]}; ids must be unique")
        if width is None:
            width = (len(q.choices), n)
        elif len(q.choices) != width[0]:
            raise InputError(f"{where}: 'choices' has {len(q.choices)} entries but line {width[1]} has "
                             f"{width[0]}; every question needs the same number of choices")
        id_line[q.id] = n
        questions.append(q)
        lines.append(n)
    if not questions:
        raise InputError(f"{path.name}: no questions (expected one JSON object per line)")
    return _unique(questions, lines, path, duplicates)


def _unique(questions: list[Question], lines: list[int], path: Path, duplicates: str) -> list[Question]:
    kept, repeats = first_copies([question_key(q.prompt, q.choices, q.answer) for q in questions])
    if not repeats:
        return questions
    if duplicates != "collapse":
        again, first = repeats[0]
        more = f" ({len(repeats)} repeated questions in all)" if len(repeats) > 1 else ""
        raise InputError(f"{path.name} line {lines[again]}: the same question (prompt, choices and answer) as line "
                         f"{lines[first]}{more}; each question must appear once, or it could be in both splits: "
                         "remove the copies, or pass --duplicates collapse (duplicates='collapse') to keep the first")
    warnings.warn(f"{path.name}: {len(repeats)} repeated question{'s' * (len(repeats) > 1)} collapsed (the first copy "
                  f"of each kept; lines {', '.join(str(lines[i]) for i, _ in repeats[:10])}"
                  f"{', ...' if len(repeats) > 10 else ''} dropped)", UserWarning, stacklevel=2)
    return [questions[i] for i in kept]


def load_jsonl_task(name: str, opts: LoadOptions) -> Task:
    """Loader behind `tasks.load("PATH.jsonl")`: the task is named by the path as given."""
    check_source(opts.source)
    path = Path(name)
    questions = read_jsonl_questions(path, opts.tokenizer, opts.duplicates)
    info = {
        "source": str(path.resolve()),
        "duplicates": opts.duplicates,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "tokenizer": tokenizer_name(opts.tokenizer),
    }
    return build_question_task(
        name, questions, opts, n_train=opts.n_train, n_test=opts.n_test, info=info, what=f"task file {path.name}",
        split_defaults="every test-role question / every training-role question (about half each)",
    )


def load_jsonl(
    path: str | Path,
    *,
    seed: int = 0,
    tokenizer: Any = None,
    n_shots: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    exemplars: str = "per-question",
    max_tokens: int | None = None,
    duplicates: str = "refuse",
) -> Task:
    """Load a JSONL question file as a Task (see the module docstring for the format).

    Same options as `tasks.load` (`max_tokens` included); few-shot exemplars are train questions written as
    prompt + answer, one per line.
    """
    check_int("seed", seed)
    check_int("n_shots", n_shots)
    check_exemplars(exemplars)
    check_max_tokens(max_tokens, tokenizer)
    check_duplicates(duplicates)
    task = load_jsonl_task(str(path), LoadOptions(seed, tokenizer, n_shots, n_train, n_test, "auto", exemplars,
                                                  duplicates))
    if max_tokens is not None:
        check_prompt_lengths(task, tokenizer, max_tokens)
    return task
