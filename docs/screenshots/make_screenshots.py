"""Build the documentation site and photograph two of its pages in headless Chromium.

Run from the repository root (needs the ``docs`` extra, Debian's chromium and
chromium-driver, and selenium)::

    python docs/screenshots/make_screenshots.py

It writes ``docs/screenshots/landing.png`` (the landing page) and
``docs/screenshots/bcg.png`` (the BCG worked analysis, scrolled to its forest plot).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
HERE = Path(__file__).parent
SITE = ROOT / "docs" / "_build" / "html"


def build() -> None:
    subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", "docs", str(SITE)],
                   check=True, cwd=ROOT)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--window-size=1300,1000", "--hide-scrollbars"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def main() -> None:
    build()
    driver = browser()
    try:
        driver.get((SITE / "index.html").as_uri())
        driver.save_screenshot(str(HERE / "landing.png"))
        driver.get((SITE / "analyses" / "bcg.html").as_uri())
        # Scroll to the forest plot, the analysis's first figure.
        driver.execute_script("document.querySelector('img').scrollIntoView({block: 'center'});")
        driver.save_screenshot(str(HERE / "bcg.png"))
    finally:
        driver.quit()
    print("wrote", HERE / "landing.png", "and", HERE / "bcg.png")


if __name__ == "__main__":
    main()
