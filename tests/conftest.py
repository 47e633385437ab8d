"""Shared fixtures: the metafor reference cases copied from ../shared/refs/metafor/cases.

Each JSON file records metafor 3.8-1 output (R 4.2.2) for one real dataset; see
tests/data/README.md for how they were made.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

#: The scripts that made the reference data are not tests (nor doctest modules: importing
#: one would write its outputs again).
collect_ignore_glob = ["data/*"]

#: Set by .ci/run: a test whose engine or tool is missing fails instead of being skipped.
REQUIRE_ALL = os.environ.get("BETAMETA_REQUIRE_ALL") == "1"


def _missing(what: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{what} is missing, and BETAMETA_REQUIRE_ALL=1 says every test must run")
    pytest.skip(f"{what} is not installed", allow_module_level=True)


def require_module(name: str):
    """Import ``name``; without it, skip, or fail under BETAMETA_REQUIRE_ALL=1."""
    try:
        return importlib.import_module(name)
    except ImportError:
        _missing(f"Python package {name!r}")


def require_program(*names: str, env: str | None = None) -> str:
    """The path of the first program found (``env``, an environment variable naming it,
    first); without one, skip, or fail under BETAMETA_REQUIRE_ALL=1."""
    found = os.environ.get(env) if env else None
    found = found or next((p for p in map(shutil.which, names) if p), None)
    if not found:
        _missing(f"program {' or '.join(names)}")
    return found

DATA = Path(__file__).parent / "data"
CASES = sorted(p.stem for p in DATA.glob("*.json"))


def load_case(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def lecture_frame() -> pd.DataFrame:
    """The lecture's six trials as shipped in examples/lecture.csv."""
    return pd.read_csv(Path(__file__).parents[1] / "examples" / "lecture.csv")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's chromium and chromium-driver) driven by Selenium, its
    console log kept."""
    chromium = require_program("chromium", "chromium-browser")
    driver_path = require_program("chromedriver")
    webdriver = require_module("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1300,1000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    yield driver
    driver.quit()
