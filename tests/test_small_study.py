"""Begg's rank test and trim and fill against metafor 3.8-1.

References: ``ranktest`` and ``trimfill`` (L0; REML and FE fits) in the 15 shared cases
(tests/data/*.json, ../shared/refs/metafor/make_refs.R), and ``trimfill(estimator="R0")``
in tests/data/metafor_extra/refs.json (tests/data/make_metafor_extra.R, tight control).
Tolerances: k₀ and the side exactly; Kendall's τ, its p-value, se(k₀) and everything of a
fixed-effect fit 1e-10 relative (closed forms); the REML fits of the shared cases were
made with metafor's default control (Fisher scoring stopped at |Δτ²| < 1e-5), so those
estimates get its 1e-3 relative / 1e-4 × data scale, as in test_metafor_agreement.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CASES, load_case

from betameta import StudyTable, meta_analysis

CLOSED, LOOSE = 1e-10, 1e-3
EXTRA = json.loads((Path(__file__).parent / "data" / "metafor_extra" / "refs.json").read_text())


def _studies(case) -> StudyTable:
    return StudyTable(np.array(case["yi"]), np.array(case["vi"]), tuple(case["study"]))


#: The cases metafor ran both on.
BIAS_CASES = [n for n in CASES if "ranktest" in load_case(n)["results"]]


def test_most_cases_have_bias_references():
    assert len(BIAS_CASES) >= 13


@pytest.mark.parametrize("name", BIAS_CASES)
def test_rank_test_and_trim_and_fill_match_metafor(name):
    case = load_case(name)
    res, studies = case["results"], _studies(case)
    rt = meta_analysis(studies, method="REML").rank_test()
    assert rt.tau == pytest.approx(res["ranktest"]["tau"], rel=CLOSED, abs=1e-15)
    assert rt.p == pytest.approx(res["ranktest"]["pval"], rel=CLOSED)
    scale = float(np.median(np.sqrt(studies.vi)))
    for block, tol, atol in (("FE", CLOSED, 0.0), ("REML", LOOSE, 1e-4 * scale)):
        if block not in res["trimfill"]:  # metafor's REML fit failed on k = 2 (case "failed")
            assert block in res["failed"] or f"trimfill_{block}" in res["failed"] or studies.k < 3
            continue
        ref = res["trimfill"][block]
        tf = meta_analysis(studies, method=block).trim_and_fill()
        assert (tf.k0, tf.side) == (ref["k0"], ref["side"])
        assert tf.se_k0 == pytest.approx(ref["se.k0"], rel=CLOSED)
        assert tf.fit.studies.k == ref["k"]
        est = tf.fit.fixed if block == "FE" else tf.fit.random
        assert est.estimate == pytest.approx(ref["estimate"], rel=tol, abs=atol)
        assert est.se == pytest.approx(ref["se"], rel=tol, abs=atol)
        if ref["k0"]:
            filled = np.atleast_1d(ref["filled.yi"])
            np.testing.assert_allclose(np.sort(tf.filled_yi), np.sort(filled), rtol=tol, atol=atol)
            np.testing.assert_allclose(np.sort(tf.filled_vi), np.sort(np.atleast_1d(ref["filled.vi"])),
                                       rtol=CLOSED)


@pytest.mark.parametrize("name", [k for k in EXTRA if k.startswith(("trimfill_R0_", "trimfill_Q0_"))])
def test_trim_and_fill_r0_and_q0_match_metafor(name):
    ref = EXTRA[name]
    method = name.rsplit("_", 1)[1]
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    fit = meta_analysis(StudyTable(yi, vi, tuple(map(str, range(yi.size)))), method=method)
    tf = fit.trim_and_fill(estimator=name.split("_")[1])
    assert (tf.k0, tf.side) == (ref["k0"], ref["side"])
    assert tf.se_k0 == pytest.approx(ref["se_k0"], rel=CLOSED)
    est = tf.fit.fixed if method == "FE" else tf.fit.random
    # trimfill's own refits do not take the model's tight control: REML at metafor's default
    # convergence (LOOSE, as above); FE is closed form.
    tol, atol = (CLOSED, 0.0) if method == "FE" else (LOOSE, 1e-4 * float(np.median(np.sqrt(vi))))
    assert est.estimate == pytest.approx(ref["estimate"], rel=tol, abs=atol)
    np.testing.assert_allclose(np.sort(tf.filled_yi), np.sort(ref["filled_yi"]), rtol=tol, atol=atol)


@pytest.mark.parametrize(("kw", "match"), [
    ({"alpha": 1.5}, "alpha must lie in"), ({"alpha": 0.0}, "alpha must lie in"),
    ({"method": "Orwin", "target": 0.0}, "target must be a finite non-zero"),
    ({"method": "Orwin", "target": float("nan")}, "target must be")])
def test_fail_safe_n_refuses_what_has_no_answer(kw, match):
    """An alpha outside (0, 1) gave NaN and then a ValueError from int(NaN); an Orwin target of 0
    an OverflowError from int(inf). Both are the user's input: an InputError naming it."""
    from betameta.errors import InputError
    from betameta.small_study import fail_safe_n

    fit = meta_analysis(StudyTable(np.array([0.2, 0.4, 0.3]), np.array([0.01, 0.02, 0.01]), ("a", "b", "c")))
    with pytest.raises(InputError, match=match):
        fail_safe_n(fit, **kw)


@pytest.mark.parametrize("name", [k for k in EXTRA if k.startswith("fsn_")])
def test_fail_safe_n_matches_fsn(name):
    """metafor's fsn (tests/data/make_metafor_extra.R): the count exactly, p-values and
    Orwin's mean and target to 1e-12 (closed forms)."""
    from betameta.small_study import fail_safe_n

    ref = EXTRA[name]
    method = name.rsplit("_", 1)[1]
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    fit = meta_analysis(StudyTable(yi, vi, tuple(map(str, range(yi.size)))), method="FE")
    res = fail_safe_n(fit, method=method)
    assert res.n == ref["n"]
    for ours, key in ((res.p, "p"), (res.mean_effect, "meanes"), (res.target, "target")):
        if ref[key] is None:  # NA in R
            assert np.isnan(ours), key
        else:
            assert ours == pytest.approx(ref[key], rel=1e-12), key


@pytest.mark.parametrize("name", [k for k in EXTRA if k.startswith("influence_")])
def test_influence_matches_metafor(name):
    """metafor's influence() on REML (tight control) and FE fits
    (tests/data/make_metafor_extra.R): 1e-8 relative for the REML refits (their convergence),
    1e-10 for FE (closed forms); the flags exactly (FE cases flag 1–3 studies each)."""
    ref = EXTRA[name]
    method = name.rsplit("_", 1)[1]
    tol = 1e-10 if method == "FE" else 1e-8
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    inf = meta_analysis(StudyTable(yi, vi, tuple(map(str, range(yi.size)))), method=method).influence()
    for ours, key in (("rstudent", "rstudent"), ("dffits", "dffits"), ("cooks_d", "cook_d"),
                      ("cov_r", "cov_r"), ("tau2_del", "tau2_del"), ("qe_del", "qe_del"),
                      ("hat", "hat"), ("weight", "weight"), ("dfbetas", "dfbetas")):
        np.testing.assert_allclose(getattr(inf, ours), ref[key], rtol=tol, atol=1e-12, err_msg=key)
    assert inf.influential.tolist() == ref["inf"]
    frame = inf.to_frame()
    assert list(frame.columns[:3]) == ["study", "rstudent", "dffits"] and len(frame) == yi.size


@pytest.mark.parametrize("name", [k for k in EXTRA if k.startswith(("cumul_", "leave1out_"))])
def test_cumulative_and_leave_one_out_match_metafor(name):
    """cumul(order = year) and leave1out() of REML (tight control: 1e-8) and FE (1e-10)
    fits on the BCG trials, every column metafor reports (I² in percent there)."""
    what, method = name.split("_")
    ref = EXTRA[name]
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    fit = meta_analysis(StudyTable(yi, vi, tuple(map(str, range(yi.size)))), method=method)
    got = fit.cumulative(order=ref["year"]) if what == "cumul" else fit.leave_one_out()
    tol = 1e-10 if method == "FE" else 1e-8
    for ours, key, factor in (("estimate", "estimate", 1), ("se", "se", 1), ("z", "zval", 1),
                              ("p", "pval", 1), ("ci_low", "ci_lb", 1), ("ci_high", "ci_ub", 1),
                              ("q", "Q", 1), ("q_p", "Qp", 1), ("tau2", "tau2", 1),
                              ("i2", "I2", 100), ("h2", "H2", 1)):
        np.testing.assert_allclose(factor * got[ours].to_numpy(), ref[key], rtol=tol, atol=1e-12,
                                   err_msg=key)


def test_baujat_coordinates_match_metafor():
    """baujat() of a REML fit (tight control) on the BCG trials: 1e-8 relative."""
    from betameta.influence import baujat

    ref = EXTRA["baujat_bcg"]
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    pts = baujat(meta_analysis(StudyTable(yi, vi, tuple(map(str, range(yi.size)))), method="REML"))
    np.testing.assert_allclose(pts["x"], ref["x"], rtol=1e-8)
    np.testing.assert_allclose(pts["y"], ref["y"], rtol=1e-8)


def test_funnel_and_baujat_plots_draw_what_they_say(tmp_path):
    """Real matplotlib figures: the studies at (yᵢ, seᵢ) with the axis inverted, the pooled
    line, the pseudo-CI lines at µ̂ ± 1.96·se; trim and fill's studies as open circles; the
    contour version shades four p-value bands; the Baujat plot labels every study."""
    import matplotlib

    matplotlib.use("Agg")
    case = load_case("bcg_rr")
    studies = _studies(case)
    fit = meta_analysis(studies, method="REML")
    ax = fit.plot_funnel(filled=True)
    pts = ax.collections[0].get_offsets()
    np.testing.assert_allclose(pts[:, 0], studies.yi)
    np.testing.assert_allclose(pts[:, 1], studies.sei)
    assert ax.get_ylim()[0] > ax.get_ylim()[1] == 0.0  # standard error 0 at the top
    lo, hi = ax.lines[0], ax.lines[1]
    se_end = lo.get_ydata()[-1]
    assert lo.get_xdata()[-1] == pytest.approx(fit.random.estimate - 1.959963984540054 * se_end)
    assert hi.get_xdata()[-1] == pytest.approx(fit.random.estimate + 1.959963984540054 * se_end)
    tf = fit.trim_and_fill()
    filled = ax.collections[1].get_offsets()
    np.testing.assert_allclose(filled[:, 0], tf.filled_yi)
    ax.figure.savefig(tmp_path / "funnel.png")
    contour = fit.plot_funnel(contours=True)
    assert len(contour.collections) == 4  # three shaded contours + the studies
    bj = fit.plot_baujat()
    assert sorted(t.get_text() for t in bj.texts) == sorted(studies.labels)
    assert (tmp_path / "funnel.png").stat().st_size > 10_000


@pytest.mark.parametrize("method", ["FE", "REML"])
def test_gosh_matches_metafor_on_all_subsets(method):
    """gosh() on the lecture data (k = 6, all 63 subsets; tests/data/make_metafor_extra.R),
    subsets matched by which studies they hold: 1e-10 relative for FE (closed forms), 1e-8
    for REML (tight control); I² in percent there."""
    from betameta.influence import gosh

    ref = EXTRA[f"gosh_{method}"]
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    g = gosh(meta_analysis(StudyTable(yi, vi, tuple(map(str, range(yi.size)))), method=method))
    assert g.exhaustive and g.included.shape == (63, 6)
    codes = g.included @ (1 << np.arange(6))
    order = np.argsort(codes)
    ref_order = np.argsort(ref["code"])
    assert codes[order].tolist() == np.array(ref["code"])[ref_order].astype(int).tolist()
    tol = 1e-10 if method == "FE" else 1e-8
    # metafor's REML at threshold 1e-15 does not converge on 5 subsets (NA there; the τ² step
    # oscillates at the boundary): compared where it did, and ours are finite everywhere.
    got_ref = np.array([np.nan if x is None else x for x in ref["estimate"]])[ref_order]
    ok = np.isfinite(got_ref)
    assert ok.sum() >= 58 and np.isfinite(g.estimate).all()
    # Where τ² is 0 (both sides stop within 1e-12 of it), I² in percent is 0 within 1e-9.
    for ours, key, factor, atol in ((g.estimate, "estimate", 1, 1e-12), (g.tau2, "tau2", 1, 1e-12),
                                    (g.q, "QE", 1, 1e-12), (g.i2, "I2", 100, 1e-9),
                                    (g.h2, "H2", 1, 1e-11)):
        want = np.array([np.nan if x is None else x for x in ref[key]])[ref_order]
        np.testing.assert_allclose(factor * ours[order][ok], want[ok], rtol=tol, atol=atol,
                                   err_msg=key)


def test_gosh_samples_subsets_when_there_are_too_many():
    from betameta.influence import gosh

    rng = np.random.default_rng(5)
    yi, vi = rng.normal(0, 1, 25), rng.uniform(0.1, 0.5, 25)
    fit = meta_analysis(StudyTable(yi, vi, tuple(map(str, range(25)))), method="DL")
    g = gosh(fit, max_subsets=2000, seed=3)
    assert not g.exhaustive and g.included.shape == (2000, 25) and g.included.any(axis=1).all()
    assert np.array_equal(g.included, gosh(fit, max_subsets=2000, seed=3).included)  # seeded
    full = np.flatnonzero(g.included.all(axis=1))
    j = int(np.argmax(g.included.sum(axis=1)))  # the largest drawn subset, refitted directly
    keep = g.included[j]
    direct = meta_analysis(StudyTable(yi[keep], vi[keep], tuple(map(str, np.flatnonzero(keep)))),
                           method="DL").random
    assert g.estimate[j] == pytest.approx(direct.estimate, rel=1e-12)
    assert g.tau2[j] == pytest.approx(direct.tau2, rel=1e-12, abs=1e-15)
    assert full.size == 0 or g.estimate[full[0]] == pytest.approx(fit.random.estimate, rel=1e-12)
    ax = g.plot()
    assert len(ax.collections[0].get_offsets()) == 2000
    frame = g.to_frame()
    assert frame.shape == (2000, 6 + 25) and (frame["k"] == frame.filter(like="in[").sum(axis=1)).all()


@pytest.mark.parametrize("name", ["bcg_rr", "hackshaw", "egger2001"])
def test_pet_peese_matches_regtest_lm(name):
    # PET and PEESE are metafor's regtest(model = "lm") with predictors sei and vi: the limit
    # estimate b0, its CI and its two-sided p from the weighted lm fit (metafor 3.8-1,
    # make_metafor_extra.R section 12); 1e-10 relative (closed-form least squares both sides).
    ref = EXTRA[f"petpeese_{name}"]
    st = StudyTable(np.array(ref["yi"]), np.array(ref["vi"]), tuple(map(str, range(len(ref["yi"])))))
    pp = meta_analysis(st, method="FE").pet_peese()
    for fit, key in ((pp.pet, "pet"), (pp.peese, "peese")):
        np.testing.assert_allclose([fit.limit_estimate, fit.limit_ci_low, fit.limit_ci_high, fit.limit_p],
                                   [ref[key][k] for k in ("est", "ci_lb", "ci_ub", "p")], rtol=1e-10)
    chosen = "PEESE" if ref["pet"]["p"] < 0.10 else "PET"
    assert pp.chosen == chosen
    assert pp.estimate == (pp.peese if chosen == "PEESE" else pp.pet).limit_estimate


SELMODEL = json.loads((Path(__file__).parent / "data" / "metafor_extra" / "selmodel.json").read_text())


@pytest.mark.parametrize("name", list(SELMODEL))
def test_step_selection_model_matches_selmodel(name):
    # metafor 3.8-1 selmodel(type = "stepfun") on Hackshaw et al. (1998), ML and FE fits, cut
    # points (0.025, 1) and (0.025, 0.5, 1). The likelihood is flat near its maximum and
    # metafor's optim stops at its default tolerance (reltol 1e-8 on the log-likelihood), so
    # parameters agree to ~√1e-8 relative: 1e-4 here; the maximised log-likelihood and the
    # LRT to 1e-9 (ours is never below metafor's); SEs from numerical Hessians both sides, 1e-4.
    ref = SELMODEL[name]
    st = StudyTable(np.array(ref["yi"]), np.array(ref["vi"]), tuple(map(str, range(len(ref["yi"])))))
    fit = meta_analysis(st, method=ref["method"]).selection_model(steps=tuple(ref["steps"]))
    assert fit.loglik >= ref["ll"] - 1e-10 and fit.loglik == pytest.approx(ref["ll"], abs=1e-9)
    assert fit.lrt == pytest.approx(ref["lrt"], rel=1e-8)
    assert fit.lrt_p == pytest.approx(ref["lrt_p"], rel=1e-7)
    np.testing.assert_allclose([fit.estimate, fit.se], [ref["beta"], ref["se"]], rtol=1e-4)
    np.testing.assert_allclose(fit.delta, ref["delta"], rtol=1e-4)
    np.testing.assert_allclose(fit.delta_se[1:], ref["se_delta"][1:], rtol=1e-4)
    assert fit.tau2 == pytest.approx(ref["tau2"], rel=1e-4, abs=1e-12)


def test_selection_model_refuses_empty_intervals():
    from betameta.errors import InputError

    ref = SELMODEL["hackshaw_ML_2"]
    st = StudyTable(np.array(ref["yi"]), np.array(ref["vi"]), tuple(map(str, range(len(ref["yi"])))))
    with pytest.raises(InputError, match=r"no study has a one-sided p-value in \(0, 1e-06\]"):
        meta_analysis(st).selection_model(steps=(1e-6, 1.0))
    with pytest.raises(InputError, match="steps must increase"):
        meta_analysis(st).selection_model(steps=(0.5, 0.1, 1.0))


SELBETA = json.loads((Path(__file__).parent / "data" / "metafor_extra" / "selmodel_beta.json").read_text())


def _beta_fit(name):
    ref = SELBETA[name]
    st = StudyTable(np.array(ref["yi"]), np.array(ref["vi"]), tuple(map(str, range(len(ref["yi"])))))
    return ref, meta_analysis(st, method=ref["method"]).selection_model(type="beta")


@pytest.mark.parametrize("name", list(SELBETA))
def test_beta_likelihood_at_metafor_estimates(name):
    # metafor 3.8-1 selmodel(type = "beta") integrates each A_i with integrate(rel.tol =
    # ref["rel_tol"]): at its own estimates its log-likelihood and ours differ by at most
    # Σ_i |log A_i error| ≤ k × rel_tol (our A_i is exact to 1e-11: next test).
    from betameta.selection import _BetaWeights, _loglik

    ref = SELBETA[name]
    y, v = np.array(ref["yi"]), np.array(ref["vi"])
    ours = _loglik(ref["beta"], ref["tau2"], np.array(ref["delta"]), y, v, _BetaWeights(y, v))
    assert ours == pytest.approx(ref["ll"], abs=len(y) * ref["rel_tol"])


@pytest.mark.parametrize("name", list(SELBETA))
def test_beta_selection_model_matches_selmodel(name):
    # Our maximum is never below metafor's (to its integration error, above). Where metafor
    # integrated to 1e-6 its optim stopped within reltol 1e-8 of the maximum: Δll ≈ 1e-7 moves a
    # parameter by up to √(2Δll) ≈ 5e-4 standard errors along the flattest direction; we allow
    # 2e-3 SE. SEs: for the FE fits the Hessians agree to 1e-6 (1e-4 allowed); for the ML fit
    # metafor's numerical Hessian of its integrated likelihood moves by 5% between integration
    # tolerances (se(µ) 0.4593 at 1e-6, 0.4824 at its default), so 6% there, and our own
    # Hessian is checked against an independent one below.
    ref, fit = _beta_fit(name)
    k = len(ref["yi"])
    assert fit.type == "beta" and fit.lrt_df == 2 and fit.steps == () and fit.n_per_interval == ()
    assert fit.loglik >= ref["ll"] - k * ref["rel_tol"]
    # LRT: the same null fit both sides (ML random effects, w ≡ 1), so ours exceeds metafor's by
    # twice the difference of the maxima, to the integration error of both log-likelihoods.
    assert fit.lrt == pytest.approx(2 * (fit.loglik - ref["ll"]) + ref["lrt"], abs=2 * k * ref["rel_tol"])
    if name == "baskerville_ML":
        # metafor (at its default integration) stopped at τ² = 2.5e-6 with ll 1.1e-4 below the
        # boundary maximum we find, τ² = 0: the ML fit then is the FE fit.
        assert fit.tau2 == 0.0 and fit.loglik > ref["ll"] + 1e-5
        ref = SELBETA["baskerville_FE"]
    se = np.array([ref["se"], *ref["se_delta"]])
    assert np.all(np.abs(np.array([fit.estimate, *fit.delta]) - [ref["beta"], *ref["delta"]])
                  <= 2e-3 * se), name
    rtol = 0.06 if name == "hackshaw_ML" else 1e-4
    np.testing.assert_allclose([fit.se, *fit.delta_se], se, rtol=rtol)
    assert fit.tau2 == pytest.approx(ref["tau2"], rel=2e-3, abs=1e-12)


def test_beta_mass_matches_adaptive_quadrature():
    # A_i = ∫ w(p(y)) φ((y − µ)/σ)/σ dy by scipy's adaptive quad (split at the truncation
    # points and at µ; epsrel 1e-13) against our 16 × 16 Gauss–Legendre rule, over weights from
    # metafor's bounds (1e-5, 100) to ordinary ones, τ² from 0 to 10, µ far in both tails.
    from scipy import integrate, special

    from betameta.selection import _P_MIN, _BetaWeights

    rng = np.random.default_rng(20261202)
    y, v = rng.normal(0.2, 0.4, 12), rng.uniform(0.005, 0.5, 12)
    w = _BetaWeights(y, v)
    for mu, tau2, delta in [(0.2, 0.05, (0.5, 1.5)), (0.9, 0.1, (1.66, 1.13)), (-2, 0.0, (0.2, 50)),
                            (3, 1.0, (100, 0.01)), (0.0, 0.0, (1e-5, 1e-5)), (0.1, 10, (100, 100))]:
        sig = np.sqrt(v + tau2)
        ours = w.mass(mu, sig, np.array(delta))
        for i in range(len(y)):
            s = np.sqrt(v[i])

            def g(x, s=s, m=mu, sd=sig[i], d=delta):
                p = np.clip(special.ndtr(-x / s), _P_MIN, 1 - _P_MIN)
                return (p ** (d[0] - 1) * (1 - p) ** (d[1] - 1)
                        * np.exp(-0.5 * ((x - m) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)))

            c = s * special.ndtri(1 - _P_MIN)
            a, b, m = sorted([-c, c, mu])
            ref = sum(integrate.quad(g, lo, hi, epsabs=0, epsrel=1e-13, limit=500)[0]
                      for lo, hi in [(-np.inf, a), (a, b), (b, m), (m, np.inf)])
            assert ours[i] == pytest.approx(ref, rel=1e-11), (mu, tau2, delta, i)


def test_beta_selection_model_standard_errors_by_an_independent_hessian():
    # The observed information at our maximum by a 5-point stencil (step 1e-3 relative, error
    # O(h⁴)) against the library's central differences (step 1e-4, error O(h²) ≈ 1e-8): the
    # SEs of µ and the δ's agree to 1e-4 relative on Hackshaw's ML fit.
    from betameta.selection import _BetaWeights, _loglik

    ref, fit = _beta_fit("hackshaw_ML")
    y, v = np.array(ref["yi"]), np.array(ref["vi"])
    w = _BetaWeights(y, v)
    x0 = np.array([fit.estimate, fit.tau2, *fit.delta])
    h = 1e-3 * np.abs(x0)

    def f(x):
        return -_loglik(x[0], x[1], x[2:], y, v, w)

    n = x0.size
    hess = np.empty((n, n))
    stencil = [(-2, 1), (-1, -8), (1, 8), (2, -1)]  # first derivative: (f(-2)-8f(-1)+8f(1)-f(2))/12h

    def grad_i(x, i):
        return sum(c * f(x + a * h[i] * np.eye(n)[i]) for a, c in stencil) / (12 * h[i])

    for j in range(n):
        for i in range(n):
            hess[i, j] = sum(c * grad_i(x0 + a * h[j] * np.eye(n)[j], i) for a, c in stencil) / (12 * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(0.5 * (hess + hess.T))))
    np.testing.assert_allclose([fit.se, *fit.delta_se], se[[0, 2, 3]], rtol=1e-4)


def test_q0_refuses_where_it_is_not_defined():
    # Egger et al. (2001): metafor's trimfill(estimator = "Q0") stops with an error there too.
    ref = EXTRA["trimfill_R0_egger2001_FE"]
    st = StudyTable(np.array(ref["yi"]), np.array(ref["vi"]), tuple(map(str, range(len(ref["yi"])))))
    with pytest.raises(ValueError, match="the Q0 estimator is not defined"):
        meta_analysis(st, method="FE").trim_and_fill(estimator="Q0")


def test_cumulative_forest_plot_draws_each_step(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    ref = EXTRA["trimfill_R0_bcg_rr_REML"]
    st = StudyTable(np.array(ref["yi"]), np.array(ref["vi"]), tuple(f"s{i}" for i in range(len(ref["yi"]))))
    fit = meta_analysis(st)
    order = np.arange(st.k)[::-1]
    ax = fit.plot_cumulative(order)
    table = fit.cumulative(order)
    np.testing.assert_allclose(ax.collections[1].get_offsets()[:, 0], table["estimate"])
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"+ {s}" for s in table["study"]]
    ax.figure.savefig(tmp_path / "c.png")
