"""Screenshot a report.html in headless Chromium (for the README): python scripts/screenshot_report.py HTML PNG [HEIGHT]."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def screenshot(html: Path, png: Path, height: int = 2400) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={tempfile.mkdtemp()}", f"--window-size=1400,{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        driver.get(html.resolve().as_uri())
        for _ in range(100):
            drawn = driver.execute_script("return [...document.querySelectorAll('.js-plotly-plot')]"
                                          ".every(p => p.querySelector('svg.main-svg'))")
            if drawn:
                break
            time.sleep(0.1)
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 2400)
