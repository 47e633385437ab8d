"""The documentation site: built strictly (Sphinx ``-W``: any warning fails, every worked
analysis executed, a failing cell fails), then opened in headless Chromium as a reader would:
no console errors, every figure loads, nothing fetched from the network, and every public
name of the documented modules has its reference entry."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_module, require_program

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
#: Pages and the figures each must show.
PAGES = {"index.html": 0, "analyses/lecture.html": 3, "analyses/bcg.html": 2, "analyses/gwas.html": 3,
         "analyses/rats.html": 2, "coming_from.html": 0, "api/index.html": 0, "api/classical.html": 0,
         "api/bayes.html": 0, "api/genetics.html": 0, "api/kernels.html": 0}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for name in ("sphinx", "myst_nb", "numpydoc", "pydata_sphinx_theme", "ipykernel", "graphviz"):
        require_module(name)
    require_program("dot")  # graphviz draws the rats model's graph
    out = tmp_path_factory.mktemp("docs")
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-4000:]
    return out / "html"


def test_every_page_built_and_no_math_renderer(site):
    for page in PAGES:
        text = (site / page).read_text()
        assert "<title>" in text, page
        # Formulas are Unicode text: no page asks for MathJax (it would come from the network).
        assert "mathjax" not in text.lower(), page


def test_worked_analyses_show_their_numbers(site):
    lecture = (site / "analyses" / "lecture.html").read_text()
    # The lecture's fixed-effect and DL numbers (tests/test_metafor_agreement.py holds them).
    assert "-2.0423" in lecture and "2.8121" in lecture and "151.482" in lecture
    bcg = (site / "analyses" / "bcg.html").read_text()
    # metafor: rma(measure="RR", dat.bcg) REML: mu = -0.7145, tau2 = 0.3132; ablat -0.0291.
    assert "-0.7145" in bcg and "0.3132" in bcg and "-0.0291" in bcg


def test_api_reference_covers_every_public_name(site):
    ids = set()
    for page in (site / "api").glob("*.html"):
        ids |= set(re.findall(r'id="(betameta[^"]+)"', page.read_text()))
    missing = []
    for rst in (DOCS / "api").glob("*.rst"):
        for module in re.findall(r"automodule:: (\S+)", rst.read_text()):
            mod = importlib.import_module(module)
            for name in mod.__all__:
                if isinstance(getattr(mod, name), type(sys)):  # a submodule: its own entry
                    continue
                if f"{module}.{name}" not in ids:
                    missing.append(f"{module}.{name}")
    assert missing == []


def test_pages_in_chromium(site, browser, tmp_path):
    for page, figures in PAGES.items():
        browser.get((site / page).as_uri())
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], page
        images = browser.execute_script(
            "return Array.from(document.querySelectorAll('img')).map(e => "
            "[e.getAttribute('src'), e.complete && e.naturalWidth > 0, e.getBoundingClientRect().width]);")
        assert all(ok for _, ok, _ in images), (page, images)
        assert sum(w > 100 for _, _, w in images) >= figures, (page, images)
        # What the page fetched, and what it would fetch: only files of the site itself.
        fetched = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name).concat("
            "Array.from(document.querySelectorAll('script[src],img[src],link[href],iframe[src],"
            "source[src],video[src]')).map(e => e.src || e.href));")
        remote = [u for u in fetched if not u.startswith(("file:", "data:", "blob:"))]
        assert remote == [], (page, remote)
    browser.save_screenshot(str(tmp_path / "bcg.png"))
