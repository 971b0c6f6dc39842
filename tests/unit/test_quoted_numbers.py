"""Numbers with one source: every number the verdict quotes (README and docs/results.md, between the
``<!-- verdict:start -->`` and ``<!-- verdict:end -->`` markers) is rebuilt here from the committed files under
``results/``, and the text must say exactly that. A number edited by hand, or one added without a source, fails.

Sources: ``results/powered-study/holm.md`` (Holm and uncorrected counts; itself compared with a fresh run of
``scripts/holm_counts.py`` on the per-question scores), ``results/powered-study/summary_robust.md`` (the study's own
uncorrected counts), ``results/powered-curves/<task>/auc.csv`` and ``auc_vs_robust.md`` (whole-model AUCs), the
runs' ``config.json``, and the run times in ``TIME.md`` / ``times.txt``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RESULTS_PAGE = ROOT / "docs" / "results.md"
STUDY = ROOT / "results" / "powered-study"
CURVES = ROOT / "results" / "powered-curves"
TASKS = ("ioi", "induction", "facts")
MODEL = "SmolLM2-135M-Instruct"  # a name, not a number


def _flat(text: str) -> str:
    return " ".join(text.split())


def _verdict(path: Path) -> str:
    text = path.read_text()
    start, end = text.find("<!-- verdict:start -->"), text.find("<!-- verdict:end -->")
    assert 0 <= start < end, f"{path.relative_to(ROOT)} has no verdict between the verdict markers"
    return _flat(text[start + len("<!-- verdict:start -->"):end])


@lru_cache(maxsize=None)
def _holm() -> dict[str, dict[str, str]]:
    """The summary table of holm.md: baseline -> column -> "better / worse / within noise" (or a count)."""
    lines = (STUDY / "holm.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| baseline |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`").split(" ")[0]] = dict(zip(header, cells))
    return rows


def _counts(cell: str) -> tuple[int, int, int]:
    better, worse, noise = (int(x) for x in cell.split("/"))
    return better, worse, noise


def _summary_counts(baseline: str) -> tuple[int, int, int]:
    """The study's own uncorrected counts, robust minus ``baseline`` on accuracy (summary_robust.md, all tasks)."""
    for line in (STUDY / "summary_robust.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        shown = "proxyspex (verify)" if baseline == "proxyspex" else baseline  # the stored study's rule, named
        if len(cells) == 5 and cells[0] == shown and cells[1] == "accuracy":
            return int(cells[2]), int(cells[3]), int(cells[4])
    raise AssertionError(f"summary_robust.md has no accuracy row for {baseline}")


def _auc(task: str, method: str) -> float:
    table = pd.read_csv(CURVES / task / "auc.csv").set_index("method")
    return float(table.loc[method, "auc"])


def _robust_minus_lasso(task: str) -> str:
    """From auc_vs_robust.md (LASSO minus robust, paired bootstrap): robust minus LASSO as the verdict writes it."""
    for line in (CURVES / task / "auc_vs_robust.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "lasso":
            diff, low, high = (float(x) for x in cells[4:7])
            return f"{-diff:+.3f} [{-high:+.3f}, {-low:+.3f}]"
    raise AssertionError(f"{task}/auc_vs_robust.md has no lasso row")


def _study_design() -> dict[str, int]:
    configs = [json.loads((STUDY / t / "config.json").read_text())["settings"] for t in TASKS]
    assert all(c["config"]["proxyspex_rule"] == "verify" for c in configs)  # the stored `proxyspex` column is verify
    first = configs[0]
    n_heads = len(pd.read_csv(STUDY / "ioi" / "heads_layers-1-11.csv"))
    seeds = {len(list((STUDY / t).glob("seed-*/scores.csv"))) for t in TASKS}
    assert len(seeds) == 1 and all(c["n_test"] == first["n_test"] and c["config"]["budget"] == first["config"]["budget"]
                                   for c in configs)
    return dict(ranges=len(first["config"]["ranges"]), keep=len(first["config"]["keep"]), seeds=seeds.pop(),
                n_test=first["n_test"], budget=first["config"]["budget"], range_heads=n_heads,
                cells=len(TASKS) * len(first["config"]["ranges"]) * len(first["config"]["keep"]))


def _curves_design() -> dict[str, int]:
    config = json.loads((CURVES / "ioi" / "config.json").read_text())["curve"]
    random = pd.read_csv(CURVES / "ioi" / "seed-0" / "random.csv")
    heads = {round(k / level) for k, level in zip(random["k"], random["level"])}
    assert len(heads) == 1
    return dict(heads=heads.pop(), low=round(100 * min(config["keep"])), high=round(100 * max(config["keep"])))


def expected_fragments() -> list[str]:
    """Every numeric claim of the verdict, as text, rebuilt from the committed files."""
    d, c, holm = _study_design(), _curves_design(), _holm()
    lasso_b, lasso_w, _ = _counts(holm["lasso"]["Holm, all 27"])
    lasso_ub, lasso_uw, _ = _counts(holm["lasso"]["uncorrected, all 27"])
    facts_b, facts_w, _ = _counts(holm["lasso"]["Holm: facts"])
    bon_b, bon_w, _ = _counts(holm["best-of-n"]["Holm, all 27"])
    milp_ub, _, _ = _counts(holm["proxyspex-milp"]["uncorrected, all 27"])
    milp_b, _, _ = _counts(holm["proxyspex-milp"]["Holm, all 27"])
    return [
        f"{d['ranges']} layer ranges x {d['keep']} keep levels = {d['cells']} cells",
        f"{d['seeds']} seeds",
        f"{d['n_test']} test questions",
        f"{d['budget']} model evaluations per {d['range_heads']}-head range",
        f"better than LASSO in {lasso_b} of {d['cells']} cells and worse in {lasso_w} after Holm's correction",
        f"(uncorrected: {lasso_ub} better, {lasso_uw} worse; facts: {facts_b} better, {facts_w} worse)",
        f"better than Best-of-N in {bon_b} and worse in {bon_w} (Holm)",
        f"all {c['heads']} heads, {c['low']}-{c['high']}% kept",
        f"{_robust_minus_lasso('ioi')} on IOI and {_robust_minus_lasso('facts')} on facts",
        f"beats it in {milp_ub} of {d['cells']} cells (Holm: {milp_b})",
        f"AUC is {_auc('ioi', 'proxyspex-milp'):.3f} on IOI and {_auc('facts', 'proxyspex-milp'):.3f} on facts, "
        f"against LASSO's {_auc('ioi', 'lasso'):.3f} and {_auc('facts', 'lasso'):.3f}",
    ]


@pytest.mark.parametrize("path", [README, RESULTS_PAGE], ids=["README", "docs/results.md"])
def test_the_verdict_quotes_the_committed_tables(path):
    verdict = _verdict(path)
    missing = [f for f in expected_fragments() if f not in verdict]
    assert not missing, f"{path.name}: the verdict no longer says what results/ holds: {missing}"


@pytest.mark.parametrize("path", [README, RESULTS_PAGE], ids=["README", "docs/results.md"])
def test_the_verdict_has_no_number_without_a_source(path):
    rest = _verdict(path).replace(MODEL, "")
    for fragment in expected_fragments():
        rest = rest.replace(fragment, "")
    assert not re.findall(r"\d", rest), f"{path.name}: numbers in the verdict that no committed file backs: {rest}"


def test_readme_and_results_page_give_one_verdict():
    assert _verdict(README) == _verdict(RESULTS_PAGE)


def test_holm_md_agrees_with_the_studys_own_uncorrected_counts():
    for baseline in ("lasso", "best-of-n", "proxyspex-milp", "single-head"):
        assert _counts(_holm()[baseline]["uncorrected, all 27"]) == _summary_counts(baseline), baseline
    assert _counts(_holm()["proxyspex"]["uncorrected, all 27"]) == _summary_counts("proxyspex")


def test_holm_md_is_what_the_script_writes():
    spec = importlib.util.spec_from_file_location("holm_counts", ROOT / "scripts" / "holm_counts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (STUDY / "holm.md").read_text() == module.markdown(module.cells()), \
        "results/powered-study/holm.md differs from `python scripts/holm_counts.py`: regenerate it, never edit it"


def test_the_results_page_table_of_counts_is_holm_md():
    """The "Cells, corrected and not" table of docs/results.md, cell by cell, against holm.md."""
    lines = RESULTS_PAGE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| baseline | Holm, all 27 |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = 0
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
        baseline = cells["baseline"].split("`")[1]
        holm = _holm()[baseline]
        assert cells["Holm, all 27"] == holm["Holm, all 27"], baseline
        assert cells["uncorrected, all 27"] == holm["uncorrected, all 27"], baseline
        per_task = ", ".join(holm[f"Holm: {t}"].replace(" ", "") for t in TASKS)
        assert cells["Holm: ioi / induction / facts"] == per_task, baseline
        rows += 1
    assert rows >= 3
    lasso = _holm()["lasso"]
    sentence = (f"beats LASSO in all three seeds in {lasso['better in every seed']} cells and loses in all three in "
                f"{lasso['worse in every seed']}")
    assert sentence in _flat(RESULTS_PAGE.read_text())


def _seconds(path: Path, pattern: str) -> int:
    match = re.search(pattern, path.read_text(), re.M)
    assert match, f"{path.relative_to(ROOT)} has no {pattern!r}"
    return int(match.group(1))


def test_run_times_come_from_the_time_files():
    default = _seconds(ROOT / "results" / "smollm2-default" / "TIME.md", r"\*\*(\d+) s")
    avx2 = _seconds(ROOT / "results" / "dtype-auto" / "times.txt", r"--no-progress  --out DIR: (\d+)")
    assert f"({avx2:,} s on a 2-core AVX2 CPU, in float32; {default} s on a 2-core CPU with bf16 units)" in README.read_text()
    started = _flat((ROOT / "docs" / "getting-started.md").read_text())
    assert f"it took {avx2:,} s on a 2-core" in started and f"it took {default} s on a 2-core CPU with bf16" in started
    study = {t: _seconds(STUDY / "times.txt", rf"^{t}: (\d+) s") for t in TASKS}
    page = _flat(RESULTS_PAGE.read_text())
    assert f"ioi {study['ioi']:,} s, induction {study['induction']:,} s, facts {study['facts']:,} s" in page
    curves = {t: _seconds(CURVES / "times.txt", rf"^{t}: (\d+) s") for t in ("facts", "ioi")}
    assert f"facts {curves['facts']:,} s and IOI {curves['ioi']:,} s" in page


def test_the_head_roles_quoted_come_from_the_committed_roles_table():
    roles = pd.read_csv(ROOT / "results" / "roles" / "smollm2" / "roles.csv")
    quoted = re.search(r"<!-- roles:start -->(.*?)<!-- roles:end -->", README.read_text(), re.S).group(1)

    def top(score: str) -> str:
        best = roles.nlargest(2, score)
        return " and ".join(f"{r.label} ({getattr(r, score):.2f})" for r in best.itertuples())

    assert quoted == (f"{top('previous_token')}, the strongest induction heads {top('induction')}")


@pytest.mark.parametrize("task", ["ioi", "facts"])
def test_auc_vs_robust_is_what_the_script_writes(task):
    spec = importlib.util.spec_from_file_location("auc_vs_robust", ROOT / "scripts" / "auc_vs_robust.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = ROOT / "results" / "powered-curves" / task
    assert (run / "auc_vs_robust.md").read_text() == module.markdown(run), (
        f"{run}/auc_vs_robust.md differs from `python scripts/auc_vs_robust.py {run}`: regenerate it, never edit it")


def test_notebook_run_times_in_the_docs_come_from_the_notebooks():
    """getting-started.md's notebook table gives each notebook's wall time as its committed outputs record it."""
    page = (ROOT / "docs" / "getting-started.md").read_text()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        seconds = json.loads(path.read_text())["metadata"]["headspex"]["wall_seconds"]
        row = next((line for line in page.splitlines() if f"`{path.name}`" in line), None)
        assert row is not None, f"getting-started.md lists no {path.name}"
        assert row.rstrip().endswith(f"| {round(seconds):,} s |"), f"{path.name}: the page's time is not {round(seconds):,} s"


def test_each_notebooks_own_run_time_is_its_recorded_one():
    """A notebook's introduction that says how long its committed run took gives the time its metadata records."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        meta = nb["metadata"]["headspex"]
        intro = "".join(nb["cells"][0]["source"])
        said = re.search(r"the committed run took ([\d,]+) s of wall time \((\d+) torch threads?\)", intro)
        assert said, f"{path.name}: its introduction does not say how long the committed run took"
        assert int(said.group(1).replace(",", "")) == round(meta["wall_seconds"]), path.name
        assert int(said.group(2)) == meta["threads"], path.name
