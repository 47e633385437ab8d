"""Defects named in issue 16, against metafor 3.8-1 (tests/data/make_metafor_extra.R wrote
tests/data/metafor_extra/refs.json).

* escalc's risk difference gets the continuity correction of its other 2×2 measures (1/2
  added to every cell of a table with a zero cell): a double-zero study has RD 0 with a
  positive variance instead of being refused.
* Egger's test on a Knapp–Hartung (HKSJ) fit is metafor's ``regtest`` on a ``test="knha"``
  fit: t on k − 2 df (it was a z test).

Tolerances: the same arithmetic as metafor's, so 1e-12 relative for closed forms (escalc)
and 1e-8 for the iterated REML fit under the moderator (metafor run with tight control:
threshold 1e-15).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from betameta import StudyTable, escalc, meta_analysis

REFS = json.loads((Path(__file__).parent / "data" / "metafor_extra" / "refs.json").read_text())


def test_risk_difference_with_zero_cells_matches_escalc():
    ref = REFS["rd_zero"]
    data = pd.DataFrame({c: ref[c] for c in ("ai", "bi", "ci", "di")})
    yi, vi = escalc("RD", data)
    np.testing.assert_allclose(yi, ref["yi"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(vi, ref["vi"], rtol=1e-12)
    assert vi[2] > 0 and yi[2] == 0  # the double-zero study


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_egger_on_an_hksj_fit_uses_t_as_regtest(method):
    ref = REFS[f"regtest_knha_{method}"]
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    fit = meta_analysis(StudyTable(yi, vi, tuple(map(str, range(yi.size)))), method=method,
                        test="hksj")
    eg = fit.egger_test()
    assert eg.df == ref["df"]
    assert eg.statistic == pytest.approx(ref["stat"], rel=1e-8)
    assert eg.p == pytest.approx(ref["p"], rel=1e-8)
    assert eg.limit_estimate == pytest.approx(ref["limit"], rel=1e-8)


def test_forest_plot_of_ratios_is_on_the_ratio_scale(tmp_path):
    """Issue 16: OR/RR forest plots were labelled "OR" while showing log odds ratios. By
    default they are back-transformed (a log axis of ratios, metafor's ``atransf=exp``), the
    diamond at exp(µ̂) and the line of no effect at 1; ``transf="none"`` keeps log values."""
    import matplotlib

    matplotlib.use("Agg")
    from click.testing import CliRunner
    from conftest import load_case

    from betameta.cli.main import cli

    case = load_case("bcg_or")
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]), tuple(case["study"]),
                         measure="OR")
    fit = meta_analysis(studies, method="REML")
    ax = fit.plot_forest()
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "Odds ratio"
    diamond = ax.patches[-1].get_xy()  # the random-effects diamond: (lo, mid, hi, mid) corners
    assert np.exp(fit.random.estimate) == pytest.approx(sorted(diamond[:, 0])[2], rel=1e-12)
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [1.0]
    ax = fit.plot_forest(transf="none")
    assert ax.get_xscale() == "linear" and ax.get_xlabel() == "OR"
    table = tmp_path / "bcg.csv"
    pd.DataFrame({"study": case["study"], "yi": case["yi"], "vi": case["vi"]}).to_csv(table, index=False)
    out = CliRunner().invoke(cli, ["meta", str(table), "--plot", str(tmp_path / "f.png"),
                                   "--transf", "exp"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "f.png").stat().st_size > 10_000


MH_CASES = [k for k in REFS if k.startswith(("bcg_", "yusuf6_"))]


@pytest.mark.parametrize("name", MH_CASES)
def test_mantel_haenszel_and_peto_match_rma_mh_and_rma_peto(name):
    """rma.mh / rma.peto on the BCG trials and on Yusuf et al. (1985) table 6 (zero cells,
    three double-zero trials). Closed forms: 1e-12 relative (1e-10 for p-values in the far
    tail, where the χ² survival function's own rounding is larger; Tarone's expected counts
    come from a root solved to 1e-14)."""
    from betameta.pooled import mantel_haenszel, peto

    ref = REFS[name]
    tables = np.array(ref["tables"], dtype=float)
    method = name.split("_", 1)[1]
    fit = peto(tables) if method == "PETO" else mantel_haenszel(tables, measure=method.split("_")[1])
    for ours, key in ((fit.estimate, "b"), (fit.se, "se"), (fit.z, "z"), (fit.q, "q"),
                      (fit.h2, "h2"), (100 * fit.i2, "i2")):
        assert ours == pytest.approx(ref[key], rel=1e-12, abs=1e-14), key
    for ours, key in ((fit.p, "p"), (fit.q_p, "q_p")):
        assert ours == pytest.approx(ref[key], rel=1e-10), key
    if method == "MH_OR":
        assert fit.cmh == pytest.approx(ref["cmh"], rel=1e-12)
        assert fit.cmh_p == pytest.approx(ref["cmh_p"], rel=1e-10)
        assert fit.tarone == pytest.approx(ref["tarone"], rel=1e-9)
        assert fit.tarone_p == pytest.approx(ref["tarone_p"], rel=1e-9)


def test_cli_pools_two_by_two_tables_by_mh_and_peto(tmp_path):
    """``betameta meta FILE --measure OR --method MH|PETO``: the same numbers as the library
    (and so as rma.mh / rma.peto), from a table of events and group sizes; a measure without
    tables is refused with exit code 2."""
    from click.testing import CliRunner

    from betameta.cli.main import cli

    ref = REFS["yusuf6_MH_OR"]
    a, b, c, d = ref["tables"]
    table = tmp_path / "yusuf.csv"
    pd.DataFrame({"trial": [f"t{i}" for i in range(len(a))], "events1": a,
                  "n1": np.add(a, b), "events2": c, "n2": np.add(c, d)}).to_csv(table, index=False)
    args = ["meta", str(table), "--study", "trial", "--measure", "OR", "--column", "ai=events1",
            "--column", "ci=events2"]
    out = CliRunner().invoke(cli, [*args, "--method", "MH", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert got["estimate"] == pytest.approx(ref["b"], rel=1e-12)
    assert got["cmh"] == pytest.approx(ref["cmh"], rel=1e-12)
    out = CliRunner().invoke(cli, [*args, "--method", "PETO"])
    assert out.exit_code == 0 and "Peto meta-analysis, k = 21" in out.stdout
    assert f"{REFS['yusuf6_PETO']['b']:.4f}" in out.stdout
    lecture = Path(__file__).parents[1] / "examples" / "lecture.csv"
    out = CliRunner().invoke(cli, ["meta", str(lecture), "--measure", "MD", "--method", "MH"])
    assert out.exit_code == 2 and "pools 2x2 tables" in out.output


@pytest.mark.parametrize("name", [k for k in REFS if k.split("_")[1] in ("sei", "vi", "ni", "ninv",
                                                                           "sqrtninv")])
def test_regtest_predictors_match_metafor(name):
    """regtest(predictor = sei, vi, ni, ninv, sqrtninv; model = rma or lm) on the BCG trials,
    sample sizes from the 2x2 tables; REML at tight control on both sides: 1e-8 relative
    (1e-10 for lm, a closed form). The slope is in the predictor's own units."""
    _, predictor, model = name.split("_")
    ref = REFS[name]
    data = pd.DataFrame({c: ref[c] for c in ("ai", "bi", "ci", "di")})
    from betameta import load_studies

    fit = meta_analysis(load_studies(data, measure="RR"), method="REML")
    eg = fit.egger_test(model=model, predictor=predictor)
    tol = 1e-10 if model == "lm" else 1e-8
    for ours, key in ((eg.statistic, "stat"), (eg.p, "p"), (eg.slope, "slope"),
                      (eg.slope_se, "slope_se")):
        assert ours == pytest.approx(ref[key], rel=tol), key
    if ref["limit"] is None:
        assert np.isnan(eg.limit_estimate)
    else:
        assert eg.limit_estimate == pytest.approx(ref["limit"], rel=tol)


def test_summary_back_transforms_ratios():
    """The report of an OR fit gives the pooled ratios (exp of the log-scale results, as
    metafor's predict(transf = exp)); transf="none" leaves them out; MD never has them."""
    from conftest import load_case

    case = load_case("bcg_or")
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]), tuple(case["study"]),
                         measure="OR")
    fit = meta_analysis(studies, method="REML")
    text = str(fit.summary())
    r = fit.random
    line = next(x for x in text.splitlines() if x.startswith("Odds ratio (back-transformed)"))
    for value in (np.exp(r.estimate), np.exp(r.ci_low), np.exp(r.ci_high), np.exp(r.pi_high)):
        assert f"{value:.4f}" in line
    assert "back-transformed" not in str(fit.summary(transf="none"))
    lecture = StudyTable(np.array([1.0, 2.0]), np.array([0.5, 0.4]), ("a", "b"), measure="MD")
    assert "back-transformed" not in str(meta_analysis(lecture).summary())


@pytest.mark.parametrize("name", ["nielweise_IRR", "nielweise_IRD", "nielweise_zeros_IRR",
                                  "nielweise_zeros_IRD"])
def test_mantel_haenszel_rates_match_rma_mh(name):
    # rma.mh(measure = "IRR" | "IRD", x1i, t1i, x2i, t2i) on Nielweise et al. (2008) and on a
    # copy with a zero count and a double-zero study (make_metafor_extra.R section 14):
    # closed forms, 1e-12 (I² to 1e-10: metafor's percent).
    from betameta.pooled import mantel_haenszel_rates

    ref = REFS[f"mhrate_{name}"]
    measure = name.rsplit("_", 1)[1]
    fit = mantel_haenszel_rates(np.array([ref["x1"], ref["t1"], ref["x2"], ref["t2"]]), measure=measure)
    np.testing.assert_allclose([fit.estimate, fit.se, fit.z, fit.p, fit.q, fit.q_p, fit.h2],
                               [ref[k] for k in ("b", "se", "z", "p", "q", "q_p", "h2")], rtol=1e-12)
    assert 100 * fit.i2 == pytest.approx(ref["i2"], rel=1e-10) and fit.k == ref["k"]
    if measure == "IRR":
        np.testing.assert_allclose([fit.cmh, fit.cmh_p], [ref["mh"], ref["mh_p"]], rtol=1e-12)
