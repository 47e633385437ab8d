"""The HTML reports, opened in headless Chromium as a user would (Debian's chromium and
chromium-driver, installed by .ci/run): no console errors, every plot visible with a
non-zero size, nothing fetched from the network; screenshots saved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _check_page(driver, path: Path, shot: Path, min_plots: int) -> None:
    driver.get(path.resolve().as_uri())
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    sizes = driver.execute_script(
        "return Array.from(document.querySelectorAll('figure svg, figure img')).map(e => {"
        "const r = e.getBoundingClientRect(); return [r.width, r.height,"
        " e.tagName === 'IMG' ? (e.complete && e.naturalWidth > 0) : true]; });")
    assert len(sizes) >= min_plots
    assert all(w > 50 and h > 50 and ok for w, h, ok in sizes), sizes
    # Self-contained: no element loads anything from elsewhere.
    remote = driver.execute_script(
        "return Array.from(document.querySelectorAll('[src],[href]')).map(e => e.src || e.href)"
        ".filter(u => u && !u.startsWith('data:') && !u.startsWith('file:'));")
    assert remote == []
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1300, min(height + 100, 12000))
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000


def test_lecture_report_in_chromium(browser, tmp_path):
    out = tmp_path / "lecture_report.html"
    res = subprocess.run([sys.executable, "-m", "betameta.cli.main", "report",
                          str(ROOT / "examples" / "lecture.csv"), "--measure", "MD", "-o", str(out)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert "Which number answers which question" in text and "-2.0423" in text
    _check_page(browser, out, tmp_path / "lecture_report.png", min_plots=4)


def test_gwas_report_in_chromium(browser, tmp_path):
    from betameta.gwas import run_gwas
    from betameta.gwas.synthetic import generate
    from betameta.report import gwas_report

    truth = generate(tmp_path / "syn", k=3, m=4000, seed=5, signal_fraction=0.01)
    run = run_gwas(truth.paths, tmp_path / "meta.parquet", methods=("fe", "re", "partition"),
                   progress=False, ancestry=truth.ancestry)
    page = gwas_report(run.out, run.details, tmp_path / "gwas_report.html")
    text = page.read_text()
    assert "allele_mismatch" in text and "partition_log10_bf" in text
    _check_page(browser, page, tmp_path / "gwas_report.png", min_plots=2)
