"""Write the lecture example's HTML report and a full-page screenshot of it (headless Chromium).

    python examples/lecture_report.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from betameta import load_studies
from betameta.report import meta_report

HERE = Path(__file__).parent
OUT = HERE / "output"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    page = meta_report(load_studies(HERE / "lecture.csv", measure="MD"), OUT / "lecture_report.html",
                       command="betameta report examples/lecture.csv --measure MD "
                               "-o examples/output/lecture_report.html")
    print(f"wrote {page} ({page.stat().st_size / 1024:.0f} KB)")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        print("no chromium/chromedriver: skipping the screenshot")
        return
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 "--disable-background-networking", "--window-size=1250,1000"):
        opts.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        browser.get(page.resolve().as_uri())
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1250, height + 50)
        browser.save_screenshot(str(OUT / "lecture_report.png"))
    finally:
        browser.quit()
    print(f"wrote {OUT / 'lecture_report.png'}")


if __name__ == "__main__":
    main()
