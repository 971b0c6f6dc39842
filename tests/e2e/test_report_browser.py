"""report.html opened from a file:// URL in headless Chromium: no console errors, no network request,
every figure drawn. Saves a screenshot (also to $HEADSPEX_SCREENSHOT when set) and prints the load time.

Needs Debian's ``chromium`` and ``chromium-driver`` (scripts/setup.sh installs them as root) and selenium
(the ``dev`` extra); skipped with the reason when either is missing. No browser is ever downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

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


def _check_edge_filter(driver) -> None:
    """Clicking the network's "across-layer" button hides every within-layer edge (plotly updatemenus)."""
    from selenium.webdriver.common.by import By

    buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, ".updatemenu-button") if b.text == "across-layer"]
    assert buttons, "the network's edge filter buttons are drawn"
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", buttons[0])
    buttons[0].click()
    hidden = driver.execute_script(
        "const d = arguments[0].closest('.js-plotly-plot');"
        "return d.data.filter(t => t.visible === false).length", buttons[0])
    assert hidden > 0


def test_report_opens_offline_and_draws_every_figure(chrome, tmp_path):
    from headspex.prune.html import write_html

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
    _check_edge_filter(chrome)
    shot = _screenshot(chrome, tmp_path / "report.png")
    if os.environ.get("HEADSPEX_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["HEADSPEX_SCREENSHOT"])
    assert shot.stat().st_size > 10_000
    assert not [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
    print(f"\nreport.html: {path.stat().st_size / 1e6:.2f} MB; all {drawn['n']} figures drawn "
          f"{drawn['ms']:.0f} ms after navigation start ({wall:.2f} s wall incl. WebDriver)")
