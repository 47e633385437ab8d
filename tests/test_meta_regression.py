"""Meta-regression against metafor 3.8-1, and its design's refusals.

References: ``tests/data/metafor_regression/refs.json``, made by
``tests/data/make_metafor_regression.R``: ``rma(yi, vi, mods = ~ ..., method, test)`` with
tight control (threshold and uniroot tolerance 1e-12), ``confint()`` (Q-profile), ``predict()``
and ``btt`` on nine models of four real datasets (dat.bcg RR on ablat, year, alloc;
dat.colditz1994 RR on year; dat.bangertdrowns2004 on factor(grade), and on length + wic;
dat.raudenbush1985 on weeks, and on weeks + tester), every τ² method, z and Knapp–Hartung
tests: 144 fits. The moderators are rebuilt here from the raw columns by our design builder
(factors by their levels), so the coding is checked too.

Tolerance: 1e-9 relative. Both sides solve the same equations to ~1e-12 (metafor's Fisher
scoring stops at a step of 1e-12, its uniroot at 1e-12 absolute in τ²); 1e-9 leaves room
for that, while a wrong formula (a df, a weight, a missing term) moves numbers by 1e-3 or
more. Quantities that are 0 on one side (τ² truncated, R² floored) are compared absolutely
at 1e-10.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from betameta import StudyTable
from betameta.errors import InputError
from betameta.regression import design_matrix, meta_regression

REFS = json.loads((Path(__file__).parent / "data" / "metafor_regression" / "refs.json").read_text())
REL, ABS = 1e-9, 1e-10
CASES = [(name, fit) for name, case in REFS.items() for fit in case["fits"]]
WORST: dict[str, float] = {}


def _fit(name: str, key: str):
    case = REFS[name]
    method, test = key.split("_")
    y, v = np.array(case["yi"]), np.array(case["vi"])
    data = pd.DataFrame(case["columns"])
    studies = StudyTable(y, v, tuple(map(str, range(y.size))), data=data)
    return meta_regression(studies, case["mods"], method=method,
                           test="hksj" if test == "knha" else "z", factors=case["factors"])


def _close(what, ours, ref):
    ours = np.atleast_1d(np.asarray(ours, dtype=float))
    ref = np.atleast_1d(np.asarray([np.nan if r is None else r for r in np.atleast_1d(ref)], dtype=float))
    np.testing.assert_allclose(ours, ref, rtol=REL, atol=ABS, err_msg=what)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(ref == ours, 0.0, np.abs(ours - ref) / np.maximum(np.abs(ref), ABS / REL))
    WORST[what.split(":")[1]] = max(WORST.get(what.split(":")[1], 0.0), float(np.nanmax(err)))


@pytest.mark.parametrize(("name", "key"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_agrees_with_metafor(name, key):
    ref = REFS[name]["fits"][key]
    fit = _fit(name, key)
    tag = f"{name}.{key}:"
    assert len(fit.terms) == len(ref["terms"])
    for ours, theirs in (("estimate", "b"), ("se", "se"), ("statistic", "zval"), ("p", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        _close(tag + ours, getattr(fit, ours), ref[theirs])
    _close(tag + "tau2", fit.tau2, ref["tau2"])
    if ref["tau2_lb"] is not None:
        _close(tag + "tau2_ci", [fit.tau2_ci_low, fit.tau2_ci_high], [ref["tau2_lb"], ref["tau2_ub"]])
    _close(tag + "qe", [fit.qe, fit.qe_p], [ref["QE"], ref["QEp"]])
    assert fit.df == ref["QE_df"]
    _close(tag + "qm", [fit.qm, fit.qm_p], [ref["QM"], ref["QMp"]])
    assert fit.qm_df == ref["QMdf"][0]
    if ref["QMdf"][1] is not None:
        assert fit.qm_df2 == ref["QMdf"][1]
    _close(tag + "i2_h2", [100 * fit.i2, fit.h2], [ref["I2"], ref["H2"]])
    _close(tag + "r2", 100 * fit.r2, ref["R2"])
    X = fit.design.X[:3, 1:]
    pred = fit.predict(X)
    for ours, theirs in (("estimate", "pred"), ("se", "pred_se"), ("ci_low", "pred_lb"),
                         ("ci_high", "pred_ub"), ("pi_low", "pi_lb"), ("pi_high", "pi_ub")):
        if not ref[theirs]:  # metafor gives no prediction interval for FE: it is the CI
            assert fit.method == "FE"
            np.testing.assert_array_equal(getattr(pred, ours), getattr(pred, "ci" + ours[2:]))
            continue
        _close(tag + "predict_" + ours, getattr(pred, ours), ref[theirs])
    if "btt" in ref:
        sub = meta_regression(fit.studies, REFS[name]["mods"], method=fit.method, test=fit.test,
                              btt=ref["btt"], factors=REFS[name]["factors"])
        _close(tag + "qm_btt", [sub.qm, sub.qm_p], [ref["btt_qm"], ref["btt_qm_p"]])


def test_report_worst_errors():
    """Runs after the agreement cases (same module): the worst relative error per quantity,
    for the closing note (printed with -s)."""
    for key, err in sorted(WORST.items()):
        print(f"{key:>20}: {err:.1e}")
    assert all(e <= REL for e in WORST.values())


def test_factor_levels_are_named_and_the_reference_can_be_chosen():
    data = pd.DataFrame({"alloc": ["random", "alternate", "systematic", "random", "alternate"]})
    d = design_matrix(data, ["alloc"])
    assert d.terms == ("intercept", "alloc[random]", "alloc[systematic]")
    d = design_matrix(data, ["alloc"], reference={"alloc": "random"})
    assert d.terms == ("intercept", "alloc[alternate]", "alloc[systematic]")
    np.testing.assert_array_equal(d.X[:, 1], [0, 1, 0, 0, 1])
    # Without an intercept the first factor has a column per level (its group means).
    assert design_matrix(data, ["alloc"], intercept=False).terms == (
        "alloc[alternate]", "alloc[random]", "alloc[systematic]")
    # Numeric levels sort by value, and new rows are coded the same way.
    g = design_matrix(pd.DataFrame({"grade": [10, 2, 2, 10, 3]}), ["grade"], factors=["grade"])
    assert g.terms == ("intercept", "grade[3]", "grade[10]")
    np.testing.assert_array_equal(g.encode(pd.DataFrame({"grade": [3, 2]})), [[1, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize(("data", "mods", "kw", "message"), [
    ({"x": [1.0, np.nan, 3.0, 4.0]}, ["x"], {}, "row 2, moderator 'x': missing value"),
    ({"x": [1.0, 1.0, 1.0, 1.0]}, ["x"], {}, "moderator 'x' is constant"),
    ({"x": [1.0, 2.0, 3.0, 4.0], "z": [2.0, 4.0, 6.0, 8.0]}, ["x", "z"], {},
     "term 'z' is collinear with 'intercept', 'x'"),
    ({"x": [1.0, 2.0, 3.0], "z": [2.0, 1.0, 6.0]}, ["x", "z"], {},
     "3 coefficients (intercept, x, z) need at least 4 studies, got 3"),
    ({"x": [1.0, 2.0, 3.0, 4.0]}, ["w"], {}, "no moderator column 'w'"),
    ({"g": ["a", "a", "a", "a"]}, ["g"], {}, "moderator 'g' has one level ('a')"),
    ({"g": ["a", "b", "a", "b"]}, ["g"], {"reference": {"g": "c"}}, "reference level 'c'"),
    ({"g": ["a", "b", None, "b"]}, ["g"], {}, "row 3, moderator 'g': missing value"),
])
def test_bad_moderators_are_refused_naming_the_column(data, mods, kw, message):
    with pytest.raises(InputError, match=re.escape(message)):
        design_matrix(pd.DataFrame(data), mods, **kw)


def test_btt_by_position_or_name_and_its_errors():
    case = REFS["bcg_ablat_alloc"]
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]),
                         tuple(map(str, range(len(case["yi"])))), data=pd.DataFrame(case["columns"]))
    by_pos = meta_regression(studies, ["ablat", "alloc"], btt=[3, 4])
    by_name = meta_regression(studies, ["ablat", "alloc"], btt=["alloc[random]", "alloc[systematic]"])
    assert by_pos.qm == by_name.qm and by_pos.btt == (3, 4)
    with pytest.raises(InputError, match=re.escape("btt: 7 is not a coefficient position 1..4")):
        meta_regression(studies, ["ablat", "alloc"], btt=[7])
    with pytest.raises(InputError, match="btt: no term 'year'"):
        meta_regression(studies, ["ablat", "alloc"], btt=["year"])


def test_predict_from_a_frame_codes_factors_like_the_fit():
    case = REFS["bcg_ablat_alloc"]
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]),
                         tuple(map(str, range(len(case["yi"])))), data=pd.DataFrame(case["columns"]))
    fit = meta_regression(studies, ["ablat", "alloc"])
    new = pd.DataFrame(case["columns"]).iloc[:4]
    np.testing.assert_allclose(fit.predict(new).estimate, fit.predict().estimate[:4], rtol=1e-15)
    with pytest.raises(InputError, match="level 'other' is not one of the fit's levels"):
        fit.predict(pd.DataFrame({"ablat": [30], "alloc": ["other"]}))
    # The report names every term and the tests.
    text = str(fit.summary())
    assert "alloc[systematic]" in text and "QM = " in text and "QE = " in text
    d = fit.to_dict()
    assert [c["term"] for c in d["coefficients"]] == list(fit.terms) and d["qm"]["df2"] is None


def test_the_docstring_examples_run():
    import doctest

    import betameta.regression

    assert doctest.testmod(betameta.regression).failed == 0


def test_bubble_plot_draws_studies_line_and_bands(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    case = REFS["bcg_ablat_alloc"]
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]),
                         tuple(map(str, range(len(case["yi"])))), data=pd.DataFrame(case["columns"]))
    fit = meta_regression(studies, ["ablat", "alloc"])
    ax = fit.plot_bubble()
    points = [c for c in ax.collections if c.get_offsets().shape[0] == studies.k]
    assert len(points) == 1
    np.testing.assert_array_equal(points[0].get_offsets()[:, 0], case["columns"]["ablat"])
    # The fitted line at the mean of the other terms (regplot's choice) is the prediction there.
    line = ax.lines[0]
    xs, ys = line.get_xdata(), line.get_ydata()
    row = fit.design.X.mean(axis=0)
    row[1] = xs[0]
    assert ys[0] == pytest.approx(float(row @ fit.estimate), rel=1e-12)
    with pytest.raises(InputError, match="'alloc' is not a numeric moderator"):
        fit.plot_bubble("alloc")
    ax.figure.savefig(tmp_path / "b.png")


PERM = json.loads((Path(__file__).parent / "data" / "metafor_regression" / "permutest.json").read_text())
PERM_CASES = [(name, key) for name, case in PERM.items() for key in case["fits"]]


@pytest.mark.parametrize(("name", "key"), PERM_CASES, ids=[f"{n}-{k}" for n, k in PERM_CASES])
def test_exact_permutation_test_equals_metafor_permutest(name, key):
    # permutest(exact = TRUE): the same distinct arrangements (k!/Π nᵢ!, tied rows once), the
    # same counting rule: p-values are ratios of counts, equal to rounding.
    case, ref = PERM[name], PERM[name]["fits"][key]
    method, test = key.split("_")
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]),
                         tuple(map(str, range(len(case["yi"])))), data=pd.DataFrame(case["columns"]))
    fit = meta_regression(studies, case["mods"], method=method, test="hksj" if test == "knha" else "z")
    perm = fit.permutation_test(n=ref["iter"])
    assert perm.exact and perm.n == ref["iter"]
    np.testing.assert_allclose(perm.p, ref["pval"], rtol=1e-12)
    assert perm.qm_p == pytest.approx(ref["QMp"], rel=1e-12)


def test_random_permutations_are_seeded_and_near_the_exact_test():
    case = PERM["raudenbush7_weeks"]
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]),
                         tuple(map(str, range(len(case["yi"])))), data=pd.DataFrame(case["columns"]))
    fit = meta_regression(studies, ["weeks"])
    a, b = fit.permutation_test(400, seed=5), fit.permutation_test(400, seed=5)
    assert not a.exact and a.n == 400 and a.qm_p == b.qm_p
    # 400 draws: the binomial sd of a p near 0.39 is 0.024; 4 sd either way.
    assert abs(a.qm_p - case["fits"]["REML_z"]["QMp"]) < 0.1
    with pytest.raises(InputError, match="needs 2,520 refits"):
        fit.permutation_test(exact=True, max_exact=1000)


LRT = json.loads((Path(__file__).parent / "data" / "metafor_regression" / "lrt.json").read_text())
LRT_CASES = [(name, key) for name, case in LRT.items() for key in case["fits"]]


@pytest.mark.parametrize(("name", "method"), LRT_CASES, ids=[f"{n}-{k}" for n, k in LRT_CASES])
def test_fit_stats_and_likelihood_ratio_test_equal_metafor(name, method):
    # fitstats() (logLik, deviance, AIC, BIC, AICc; ML and REML) of both models and
    # anova(full, reduced) for ML and FE fits; 1e-9 as the other fits.
    from betameta.regression import likelihood_ratio_test

    case, ref = LRT[name], LRT[name]["fits"][method]
    studies = StudyTable(np.array(case["yi"]), np.array(case["vi"]),
                         tuple(map(str, range(len(case["yi"])))), data=pd.DataFrame(case["columns"]))
    full = meta_regression(studies, case["full"], method=method)
    reduced = meta_regression(studies, case["reduced"], method=method)
    for fit, tag in ((full, "full"), (reduced, "reduced")):
        for kind in ("ML", "REML"):
            s = fit.fit_stats(kind)
            np.testing.assert_allclose([s.loglik, s.deviance, s.aic, s.bic, s.aicc],
                                       ref[f"{tag}_{kind.lower()}"], rtol=1e-9, err_msg=f"{tag} {kind}")
    if "lrt" in ref:
        t = likelihood_ratio_test(full, reduced)
        assert t.df == ref["df"]
        np.testing.assert_allclose([t.lrt, t.p], [ref["lrt"], ref["lrt_p"]], rtol=1e-9)
    elif method == "REML" and full.terms != reduced.terms:
        with pytest.raises(InputError, match="REML likelihoods of models with different moderators"):
            likelihood_ratio_test(full, reduced)


def test_one_moderator_as_a_string_and_formula_like_strings():
    """``mods="x"`` is the one column x (it was read letter by letter: "no moderator column 'x'"
    for the first letter); ``"a + b"`` is refused with the list to pass instead; a permutation
    test of 0 permutations is refused (it returned p-values of nothing)."""
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"ablat": rng.uniform(10, 50, 8), "year": rng.integers(1940, 1980, 8)})
    st = StudyTable(rng.normal(0, 0.3, 8), rng.uniform(0.01, 0.05, 8), tuple("abcdefgh"))
    one = meta_regression(st, "ablat", data=data)
    listed = meta_regression(st, ["ablat"], data=data)
    pd.testing.assert_frame_equal(one.to_frame(), listed.to_frame())
    with pytest.raises(InputError, match=re.escape("looks like a formula: pass the moderator columns as a "
                                                   "list, e.g. mods=['ablat', 'year']")):
        meta_regression(st, "ablat + year", data=data)
    with pytest.raises(InputError, match="n must be a whole number of permutations >= 1"):
        one.permutation_test(n=0)
