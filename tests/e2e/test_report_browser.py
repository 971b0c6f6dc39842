"""report.html opened from a file:// URL in headless Chromium: no console errors, no network request,
every figure drawn; the study's report opens on its verdict and accuracy table (the numbers of accuracy.csv)
and flags a planted extrapolation; a whole-model curves run writes its own report. Saves a screenshot (also to
$HEADSPEX_SCREENSHOT when set) and prints the load time.

Needs Debian's ``chromium`` and ``chromium-driver`` (scripts/setup.sh installs them as root) and selenium
(the ``dev`` extra); skipped with the reason when either is missing. No browser is ever downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from headspex.reporting.labels import method_label

from tests.unit.test_html_report import FIGURES_PER_RANGE, synthetic_results

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--window-size=1400,1000")
ALL_DRAWN = """
const done = arguments[arguments.length - 1];
function check() {
  const divs = document.querySelectorAll('.plotly-graph-div');
  const drawn = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(d => d.querySelector('svg.main-svg') || d.querySelector('canvas'));
  if (divs.length && drawn.length === divs.length) done({n: divs.length, ms: performance.now()});
  else requestAnimationFrame(check);
}
check();
"""


def _browser() -> tuple[str, str]:
    pytest.importorskip("selenium", reason="selenium not installed: pip install -e '.[dev]'")
    binary = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.path.exists(p)), None)
    if binary is None or driver is None:
        pytest.skip("no Chromium/chromedriver found: apt-get install chromium chromium-driver (scripts/setup.sh)")
    return binary, driver


@pytest.fixture
def chrome(tmp_path, monkeypatch):
    binary, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium-manager must never fetch a driver or browser
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            urls.append(message["params"].get("request", {}).get("url") or message["params"].get("url", ""))
    return urls


def _screenshot(driver, path: Path) -> Path:
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 30000)
    driver.set_window_size(1400, height)
    time.sleep(0.5)  # responsive figures re-lay out to the new window
    driver.save_screenshot(str(path))
    return path


def _check_network_controls(driver) -> None:
    """The network shows its top 15 pairs; the slider shows more; "across-layer" hides every within-layer edge."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    box = driver.find_elements(By.CSS_SELECTOR, ".controls[data-fig]")[0]
    fig_id = box.get_attribute("data-fig")
    count = ("const d = document.getElementById(arguments[0]);"
             "return d.data.filter(t => t.meta && t.meta.rank !== undefined && t.visible !== false)"
             ".map(t => t.meta.within)")
    assert len(driver.execute_script(count, fig_id)) == 15
    slider = box.find_element(By.CSS_SELECTOR, "input[type=range]")
    top = int(slider.get_attribute("max"))
    driver.execute_script("arguments[0].value = arguments[0].max; arguments[0].dispatchEvent(new Event('input'))",
                          slider)
    assert len(driver.execute_script(count, fig_id)) == top > 15
    Select(box.find_element(By.TAG_NAME, "select")).select_by_value("across")
    shown = driver.execute_script(count, fig_id)
    assert shown and not any(shown)


def _wait_drawn(driver, path: Path) -> dict:
    driver.get_log("performance")  # drop what the browser's start page did before the report
    driver.get(path.resolve().as_uri())
    drawn = driver.execute_async_script(ALL_DRAWN)
    assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    requests = _requests(driver)
    assert all(u.startswith(("file://", "data:", "blob:", "about:")) for u in requests), requests
    return drawn


def _table(driver, table_id: str) -> pd.DataFrame:
    """An HTML table of the page as shown (text of each cell)."""
    rows = driver.execute_script(
        "const t = document.getElementById(arguments[0]);"
        "return [Array.from(t.tHead.rows[0].cells).map(c => c.textContent)]"
        ".concat(Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.textContent)))", table_id)
    return pd.DataFrame(rows[1:], columns=rows[0])


def _numbers(cell: str) -> list[float]:
    import re

    return [float(x) for x in re.findall(r"[-+]?\d+\.\d+", cell)]


def test_report_opens_offline_and_draws_every_figure(chrome, tmp_path):
    from headspex.reporting.html import write_html

    n_ranges = 3  # 3 ranges of 3 layers x 32 heads (96 heads each), 3 seeds, 50 top interactions
    results = synthetic_results(n_layers_per_range=3, n_heads=32, n_ranges=n_ranges, seeds=(0, 1, 2), n_interactions=50)
    path = write_html(results, tmp_path / "report.html", title="Browser check",
                      config={"commit": "0123abc", "study": {"keep": [0.5, 0.83]}})
    chrome.get_log("performance")  # drop what the browser's start page did before the report
    start = time.perf_counter()
    chrome.get(path.resolve().as_uri())
    drawn = chrome.execute_async_script(ALL_DRAWN)
    wall = time.perf_counter() - start
    assert drawn["n"] == n_ranges * FIGURES_PER_RANGE
    assert chrome.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot')).every(d => d.querySelector('svg.main-svg'))")
    errors = [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    requests = _requests(chrome)
    assert path.resolve().as_uri() in requests
    assert all(u.startswith(("file://", "data:", "blob:", "about:")) for u in requests), requests
    _check_network_controls(chrome)
    shot = _screenshot(chrome, tmp_path / "report.png")
    if os.environ.get("HEADSPEX_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["HEADSPEX_SCREENSHOT"])
    assert shot.stat().st_size > 10_000
    assert not [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
    print(f"\nreport.html: {path.stat().st_size / 1e6:.2f} MB; all {drawn['n']} figures drawn "
          f"{drawn['ms']:.0f} ms after navigation start ({wall:.2f} s wall incl. WebDriver)")


def _planted_study(tmp_path: Path) -> Path:
    """A study whose ProxySPEX pick (layers 1-2, 50% kept, seed 0) has a predicted value above every training
    value the proxy saw; every output written as a run writes them."""
    from headspex.reporting.study_report import write_outputs
    from headspex.selection.select import Selection

    results = synthetic_results(n_layers_per_range=2, n_heads=8, n_ranges=2, seeds=(0, 1), n_interactions=40)
    run = results[0].ranges[0]
    sel = run.selections[(0.5, "proxyspex")]
    run.selections[(0.5, "proxyspex")] = Selection(sel.mask, sel.k, sel.method, objective=0.8)
    assert 0.8 > run.proxy_summary["max_train_value"]
    write_outputs(results, tmp_path, model_name="tiny", task_name="planted")
    return tmp_path / "report.html"


def test_the_study_report_opens_on_its_verdict_and_flags_the_extrapolation(chrome, tmp_path):
    from selenium.webdriver.common.by import By

    path = _planted_study(tmp_path)
    _wait_drawn(chrome, path)
    first = chrome.find_element(By.CSS_SELECTOR, "main > section")
    assert first.get_attribute("id") == "verdict"
    text = first.text
    assert "ProxySPEX is significantly better than LASSO in" in text and "paired bootstrap 95% CI" in text
    shown = _table(chrome, "accuracy-table")
    assert chrome.find_element(By.ID, "accuracy-table").find_element(By.XPATH, "ancestor::section").get_attribute(
        "id") == "verdict"
    stored = pd.read_csv(tmp_path / "accuracy.csv")
    checked = 0
    for row in shown.itertuples(index=False):
        row = dict(zip(shown.columns, row))
        for method in stored["method"].unique():
            kept = stored["keep"].map(lambda k: f"{k:.0%}")
            want = stored[(stored["layers"] == row["layers"]) & (kept == row["kept"]) & (stored["method"] == method)]
            want = want.iloc[0]
            got = _numbers(row[method_label(method, "robust")])  # the synthetic study's rule: the default
            assert got[0] == pytest.approx(round(want["test_accuracy"], 3), abs=5e-4), (row, method)
            if len(got) == 3:
                assert got[1:] == pytest.approx([round(want["low"], 3), round(want["high"], 3)], abs=5e-4)
            checked += 1
    assert checked == len(stored)
    warnings = chrome.find_element(By.ID, "trust-warnings")
    assert "Proxy optimum outside the observed values" in warnings.text and "proxyspex (robust) in layers 1-2" in warnings.text
    figure_top = chrome.execute_script("return document.querySelector('.plotly-graph-div').getBoundingClientRect().top")
    assert warnings.rect["y"] < figure_top
    warnings.find_element(By.TAG_NAME, "summary").click()
    assert "seed 0 at 50% kept (k=8), predicted +0.800 vs the best training value the proxy saw -0.200" in warnings.text
    trust = _table(chrome, "trust-table")
    assert ((trust["check"] == "extrapolation") & (trust["seed"] == "seed 0")).any()
    _check_sorting(chrome)


def _check_sorting(driver) -> None:
    """A click on the interactions table's "value" header sorts its rows by value."""
    from selenium.webdriver.common.by import By

    table = driver.find_element(By.CSS_SELECTOR, "table[id^=interactions-table-]")
    header = [h for h in table.find_elements(By.TAG_NAME, "th") if h.text.startswith("value")][0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", header)
    header.click()
    values = [float(v) for v in _table(driver, table.get_attribute("id"))["value"]]
    assert values == sorted(values)
    header.click()
    values = [float(v) for v in _table(driver, table.get_attribute("id"))["value"]]
    assert values == sorted(values, reverse=True)


def test_a_whole_model_run_writes_its_own_html_report(chrome, tmp_path, tiny_llama):
    from selenium.webdriver.common.by import By

    from headspex.experiments.whole_model import run_curves
    from headspex.records.config import CurveConfig
    from headspex.reporting.curve_report import write_outputs
    from tests.helpers import tiny_task

    config = CurveConfig(layers=(0, 1, 2, 3), keep=(0.25, 0.5, 0.75), budget=24, n_random=6, milp_time_limit=5.0,
                         methods=("proxyspex", "lasso", "single-head", "best-of-n"))
    result = run_curves(tiny_llama, tiny_task(), config, test_model=tiny_llama, log=lambda _: None)
    write_outputs([result], tmp_path, title="Tiny curves")
    assert (tmp_path / "report.md").read_text().startswith("# Tiny curves\n\n## Verdict\n")
    drawn = _wait_drawn(chrome, tmp_path / "report.html")
    assert drawn["n"] == 3  # curves, prunable, cost
    first = chrome.find_element(By.CSS_SELECTOR, "main > section")
    assert first.get_attribute("id") == "verdict" and "Area under the test-accuracy curve" in first.text
    assert chrome.find_element(By.ID, "trust-warnings")
    shown = _table(chrome, "auc-table").set_index("method")
    stored = pd.read_csv(tmp_path / "auc.csv").set_index("method")
    rule = result.config.proxyspex_rule
    assert set(shown.index) == {method_label(m, rule) for m in stored.index}  # proxyspex named with its rule
    for method, row in stored.iterrows():
        method = method_label(method, rule)
        assert _numbers(shown.loc[method, "AUC [95% CI]"])[0] == pytest.approx(round(row["auc"], 3), abs=5e-4)
        if pd.notna(row.get("diff_vs_ref")):
            got = _numbers(shown.loc[method, "minus ProxySPEX [95% CI]"])
            assert got == pytest.approx([round(row[c], 3) for c in ("diff_vs_ref", "diff_low", "diff_high")], abs=5e-4)
