"""The question audit: a planned run's test questions are checked, by prompt, against every question committed runs
used in any role (recorded ids, or the pre-0.3 split rule rebuilt from config.json), whatever their task or seed."""

from __future__ import annotations

import json

import tasks
from headspex.prune.question_audit import audit, main
from tests.conftest import save_tiny_llama
from tests.helpers import write_capitals_jsonl


def _committed(root, task_file, model, **sizes):
    run = root / "results" / "old-run"
    run.mkdir(parents=True)
    args = {"task": str(task_file), "seed": 0, "model": str(model), "validation": sizes.get("validation")}
    (run / "config.json").write_text(json.dumps({"arguments": args, "n_train": sizes["n_train"],
                                                 "n_test": sizes["n_test"]}))
    return root / "results"


def test_the_audit_finds_questions_an_old_run_used_and_passes_fresh_ones(tmp_path, capsys):
    model = save_tiny_llama(tmp_path / "model")
    used_file = write_capitals_jsonl(tmp_path / "caps.jsonl", ("The capital of", "Which is the capital of"), n=20)
    results = _committed(tmp_path, used_file, model, n_train=4, n_test=4, validation=2)
    order = tasks.load(str(used_file), n_train=0, n_test=0)  # nothing: only to name the file's task
    planned = tasks.load(str(used_file), seed=0, n_train=2, n_test=8)
    seen = audit(planned, results)
    old = sorted(q.prompt for q in tasks.load(str(used_file)).split("all"))  # all 20 prompts
    assert 0 < seen.n_seen <= 8 and seen.runs_read == 1 and order.name == planned.name
    assert "used before" in seen.line() and "old-run" in seen.line() and len(old) == 20
    fresh = tmp_path / "fresh.jsonl"
    fresh.write_text("".join(json.dumps({"prompt": f"Is Paris the capital number {i} ?", "choices": [" Paris", " London"],
                                         "answer": i % 2}) + "\n" for i in range(30)))
    assert audit(tasks.load(str(fresh), n_train=2, n_test=4), results).n_seen == 0
    assert main(["--task", str(fresh), "--n-train", "2", "--n-test", "4", "--model", str(model),
                 "--results", str(results)]) == 0
    assert "never used before" in capsys.readouterr().out
    assert main(["--task", str(used_file), "--n-train", "2", "--n-test", "8", "--model", str(model),
                 "--results", str(results)]) == 1


def test_a_resumed_study_skips_its_own_runs_but_nothing_else(tmp_path, capsys):
    model = save_tiny_llama(tmp_path / "model")
    caps = write_capitals_jsonl(tmp_path / "caps.jsonl", ("The capital of", "Which is the capital of"), n=20)
    results = tmp_path / "results"
    own = results / "confirmation" / "ranges-caps"  # the study's own partial run: it used its own test questions
    own.mkdir(parents=True)
    (own / "config.json").write_text(json.dumps({"arguments": {"task": str(caps), "seed": 0, "model": str(model)},
                                                "n_train": 2, "n_test": 8}))
    argv = ["--task", str(caps), "--n-train", "2", "--n-test", "8", "--model", str(model), "--results", str(results)]
    assert main(argv) == 1 and "used before" in capsys.readouterr().out  # without --exclude it counts itself
    assert main([*argv, "--exclude", str(results / "confirmation")]) == 0
    assert "never used before" in capsys.readouterr().out
    _committed(tmp_path, caps, model, n_train=4, n_test=4, validation=2)  # an earlier run is still caught
    assert main([*argv, "--exclude", str(results / "confirmation")]) == 1
    try:
        main([*argv, "--exclude", str(tmp_path / "nowhere")])
    except Exception as error:  # one clear error
        assert "not a directory" in str(error)
    else:
        raise AssertionError("a missing --exclude folder was accepted")
