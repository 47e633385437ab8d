"""The random-effects array kernel: columns of a (k, m) call against independent per-column
references, missing studies, edge inputs, meta-regression.

References, written here without betameta code:
* the estimating equations of each τ² estimator at the returned τ² (Viechtbauer 2005),
  evaluated with plain sums on the column's studies: REML ``Σw²r² = Σw − Σw²/Σw``;
  ML ``Σw²r² = Σw``; PM and EB ``Σwr² = k − 1``; DL, HE and SJ in closed form;
* the Q-profile bounds: ``Σw(y − µ̂)² = χ²_{k−1}`` at 0.975 and 0.025 (SciPy's quantiles);
* metafor itself, through ``meta_analysis`` (tests/test_metafor_agreement.py), for m = 1.
Tolerances: 1e-9 relative on an equation solved to 1e-12 relative in τ² (the residual of
an equation moves by at most its condition times that); where τ² = 0 is the answer, Fisher
scoring stops within its step tolerance of it: 1e-11 × the median variance, absolute.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from betameta.kernels import random_effects_kernel

METHODS = ("DL", "PM", "REML", "ML", "HE", "SJ", "EB", "FE")


def _columns(seed: int, k: int = 7, m: int = 40):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.005, 0.3, (k, m)) * np.exp(rng.normal(0, 1.0, m))  # scales vary by column
    y = rng.normal(0.2, np.sqrt(v + rng.choice([0.0, 0.02, 0.3], m)))
    y[rng.random((k, m)) < 0.15] = np.nan  # missing studies
    return y, v


def _parts(y, v, t):
    w = 1 / (v + t)
    return w, y - (w @ y) / w.sum()


#: Estimating equations, zero at an interior solution (Viechtbauer 2005), with their scale.
_EQUATIONS = {
    "REML": lambda w, r, k: (((w * r) @ (w * r)) - (w.sum() - (w @ w) / w.sum()), w.sum()),
    "ML": lambda w, r, k: (((w * r) @ (w * r)) - w.sum(), w.sum()),
    "PM": lambda w, r, k: ((w * r) @ r - (k - 1), k),
    "EB": lambda w, r, k: ((w * r) @ r - (k - 1), k),
}


def _closed_form(method: str, y: np.ndarray, v: np.ndarray) -> float:
    """DL, HE and SJ written out (DerSimonian & Laird 1986; Hedges 1983; Sidik & Jonkman 2005)."""
    k = y.size
    w, r = _parts(y, v, 0.0)
    if method == "FE":
        return 0.0
    if method == "DL":
        return max(0.0, ((w * r * r).sum() - (k - 1)) / (w.sum() - (w @ w) / w.sum()))
    if method == "HE":
        return max(0.0, (((y - y.mean()) ** 2).sum() - v.sum() * (1 - 1 / k)) / (k - 1))
    t0 = ((y - y.mean()) ** 2).sum() / k
    w, r = _parts(y, v, t0)
    return t0 * (w * r * r).sum() / (k - 1)


def _reference(method: str, y: np.ndarray, v: np.ndarray) -> float:
    """PM's τ² by SciPy's brentq on its (monotone) equation, for the large-k test."""
    from scipy import optimize

    keep = np.isfinite(y)
    y, v = y[keep], v[keep]
    eq = lambda t: _EQUATIONS[method](*_parts(y, v, t), y.size)[0]  # noqa: E731
    return 0.0 if eq(0.0) <= 0 else optimize.brentq(eq, 0.0, 1e6 * (1 + np.var(y)), xtol=1e-15, rtol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_columns_solve_their_estimating_equations(method):
    y, v = _columns(3)
    r = random_effects_kernel(y, v, method=method)
    for j in range(y.shape[1]):
        keep = np.isfinite(y[:, j])
        yy, vv, k = y[keep, j], v[keep, j], keep.sum()
        tau2 = r.tau2[j]
        if method in _EQUATIONS:
            # Interior: the equation holds at τ̂²; at the boundary it already points below 0.
            # (ML's equation may have more than one root: Fisher scoring from HE, as
            # metafor, finds one; the test asks that it is a root.)
            if tau2 > 1e-11 * np.median(vv):
                resid, scale = _EQUATIONS[method](*_parts(yy, vv, tau2), k)
                assert abs(resid) <= 1e-9 * scale, (j, resid)
            else:
                assert _EQUATIONS[method](*_parts(yy, vv, 0.0), k)[0] <= 1e-9, j
        else:
            assert tau2 == pytest.approx(_closed_form(method, yy, vv), rel=1e-12, abs=1e-300), j
        w, resid = _parts(yy, vv, tau2)
        assert r.coef[j, 0] == pytest.approx(yy[0] - resid[0], rel=1e-12, abs=1e-15)
        assert r.se[j, 0] == pytest.approx(1 / np.sqrt(w.sum()), rel=1e-12)
        assert r.k[j] == k


def test_qprofile_hksj_and_prediction_interval_by_their_definitions():
    y, v = _columns(5)
    r = random_effects_kernel(y, v, method="REML", test="hksj")
    for j in range(y.shape[1]):
        keep = np.isfinite(y[:, j])
        yy, vv, k = y[keep, j], v[keep, j], keep.sum()

        def q(t, yy=yy, vv=vv):
            w = 1 / (vv + t)
            return (w * (yy - (w @ yy) / w.sum()) ** 2).sum()

        for bound, prob in ((r.tau2_ci_low[j], 0.975), (r.tau2_ci_high[j], 0.025)):
            target = stats.chi2.ppf(prob, k - 1)
            if q(0.0) <= target:
                assert bound == 0.0
            else:
                assert q(bound) == pytest.approx(target, rel=1e-9)
        w = 1 / (vv + r.tau2[j])
        mu = (w @ yy) / w.sum()
        se = np.sqrt((w * (yy - mu) ** 2).sum() / (k - 1) / w.sum())  # Knapp-Hartung, untruncated
        t = stats.t.ppf(0.975, k - 1)
        assert r.se[j, 0] == pytest.approx(se, rel=1e-10)
        assert r.p[j, 0] == pytest.approx(2 * stats.t.sf(abs(mu / se), k - 1), rel=1e-9)
        assert r.pi_high[j] == pytest.approx(mu + t * np.sqrt(se**2 + r.tau2[j]), rel=1e-10)


def test_edge_columns():
    # k = 0, 1, 2 present studies, NaN and inf and non-positive variances (left out), and
    # variances of 1e-300 and 1e300: NaN where the model is not identified, finite and
    # right elsewhere.
    nan, inf = np.nan, np.inf
    y = np.array([[0.1, nan, 0.1, 0.1, 0.3, 0.1, 0.1],
                  [0.3, nan, nan, 0.4, 0.1, 0.3, 0.3],
                  [-0.2, nan, nan, nan, inf, -0.2, -0.2]])
    v = np.array([[0.01, 0.01, 0.02, 0.01, 0.01, 1e-300, 1e300],
                  [0.02, 0.02, 0.02, 0.03, -1.0, 2e-300, 2e300],
                  [0.03, 0.03, 0.02, 0.02, 0.0, 1e-300, 1e300]])
    r = random_effects_kernel(y, v, method="REML")
    assert r.k.tolist() == [3, 0, 1, 2, 1, 3, 3]
    assert np.isnan(r.tau2[[1, 2, 4]]).all() and np.isnan(r.coef[[1, 2, 4], 0]).all()
    assert np.isfinite(r.tau2[[0, 3, 5, 6]]).all()
    # Exact studies: τ² is the spread of the effects (REML = the sample variance).
    assert r.tau2[5] == pytest.approx(np.var([0.1, 0.3, -0.2], ddof=1), rel=1e-12)
    # Studies with no information: τ² = 0 and µ the inverse-variance mean.
    w = 1 / np.array([1e300, 2e300, 1e300])
    assert r.tau2[6] == 0 and r.coef[6, 0] == pytest.approx(w @ [0.1, 0.3, -0.2] / w.sum(), rel=1e-12)
    # The FE model needs no second study.
    fe = random_effects_kernel(y, v, method="FE")
    assert fe.coef[2, 0] == pytest.approx(0.1) and fe.se[2, 0] == pytest.approx(np.sqrt(0.02))


def test_meta_regression_against_weighted_least_squares():
    # One moderator, method FE: the coefficients and covariance of weighted least squares
    # (NumPy's lstsq on √w-scaled rows), for every column; with REML, the fitted τ² solves
    # the REML equation y'PPy = tr P written with dense k × k matrices here.
    rng = np.random.default_rng(9)
    k, m = 12, 6
    x = rng.uniform(-1, 1, k)
    X = np.column_stack([np.ones(k), x])
    v = rng.uniform(0.01, 0.1, (k, m))
    y = 0.1 + 0.5 * x[:, None] + rng.normal(0, np.sqrt(v + 0.05))
    fe = random_effects_kernel(y, v, X, method="FE")
    reml = random_effects_kernel(y, v, X, method="REML")
    for j in range(m):
        sw = 1 / np.sqrt(v[:, j])
        coef = np.linalg.lstsq(X * sw[:, None], y[:, j] * sw, rcond=None)[0]
        np.testing.assert_allclose(fe.coef[j], coef, rtol=1e-12)
        np.testing.assert_allclose(fe.cov[j], np.linalg.inv(X.T @ (X / v[:, j][:, None])), rtol=1e-12)
        W = np.diag(1 / (v[:, j] + reml.tau2[j]))
        P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
        Py = P @ y[:, j]
        if reml.tau2[j] > 1e-11 * np.median(v[:, j]):
            assert Py @ Py == pytest.approx(np.trace(P), rel=1e-9)
        else:  # the root lies below 0: truncated there
            assert Py @ Py <= np.trace(P)


def test_a_hundred_thousand_studies_in_one_column():
    rng = np.random.default_rng(2)
    k = 100_000
    v = rng.uniform(0.01, 0.5, k)
    y = rng.normal(0.1, np.sqrt(v + 0.02))
    r = random_effects_kernel(y, v, method="PM")
    assert r.tau2[0] == pytest.approx(_reference("PM", y, v), rel=1e-9)


@pytest.mark.parametrize("test", ["z", "hksj"])
@pytest.mark.parametrize("method", METHODS)
def test_compiled_loop_equals_the_numpy_reference(method, test):
    # From 256 columns on the intercept-only model runs compiled loops (one column at a
    # time, the same steps); fewer columns run the NumPy code. Both on the same 600 columns
    # (the reference in slices of 100), with missing studies, columns of 0 and 1 studies and
    # no heterogeneity. They agree to rounding, and τ² to the iterations' stopping rule
    # (|Δτ²| ≤ 1e-12 × the median variance).
    y, v = _columns(17, k=6, m=600)
    y[:, :10] = np.nan
    y[1:, 10:20] = np.nan
    y[:, 20:30] = y[0, 20:30]
    compiled = random_effects_kernel(y, v, method=method, test=test)
    parts = [random_effects_kernel(y[:, i:i + 100], v[:, i:i + 100], method=method, test=test)
             for i in range(0, 600, 100)]
    # Slack in τ²'s unit, and what it moves in the effect's (Δτ²/SE) and in unitless numbers.
    median_v = np.nanmedian(v, axis=0)
    slack = {"tau2": 1e-11 * median_v, "effect": 1e-11 * np.sqrt(median_v), "unitless": 1e-11}
    for field, unit in (("tau2", "tau2"), ("tau2_ci_low", "tau2"), ("tau2_ci_high", "tau2"),
                        ("coef", "effect"), ("se", "effect"), ("ci_low", "effect"),
                        ("pi_high", "effect"), ("p", "unitless"), ("i2", "unitless")):
        got = getattr(compiled, field).reshape(600, -1)
        want = np.concatenate([getattr(p, field) for p in parts]).reshape(600, -1)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=field)
        atol = np.broadcast_to(np.reshape(slack[unit], (-1, 1)), want.shape)
        ok = np.isfinite(want)
        assert np.all(np.abs(got - want)[ok] <= (1e-10 * np.abs(want) + atol)[ok]), field


def test_reml_score_is_the_slope_of_the_restricted_likelihood():
    """reml_score against a central difference of ℓ_R(τ²) = −½[Σlog(vᵢ + τ²) + log Σwᵢ +
    Σwᵢ(yᵢ − µ̂)²] written out here (step 1e-5 of τ²'s scale: truncation ~1e-10, rounding
    ~1e-11 of the slope), and its sign against the REML estimate on either side (the bayes
    prior-data check relies on that sign)."""
    from betameta.kernels.random_effects import reml_score

    def restricted(y, v, t2):
        w = 1.0 / (v + t2)
        mu = (w * y).sum() / w.sum()
        return -0.5 * (np.log(v + t2).sum() + np.log(w.sum()) + (w * (y - mu) ** 2).sum())

    y_all, v_all = _columns(5, k=7, m=40)
    tau2 = random_effects_kernel(y_all, v_all, method="REML", ci=False).tau2
    positive = 0
    for j in range(40):
        y, v = y_all[:, j], v_all[:, j]
        ok = np.isfinite(y)
        scale = np.median(v[ok])
        for t2 in (0.3 * scale, 3.0 * scale):
            h = 1e-5 * scale
            fd = (restricted(y[ok], v[ok], t2 + h) - restricted(y[ok], v[ok], t2 - h)) / (2 * h)
            assert reml_score(y, v, t2)[0] == pytest.approx(fd, rel=1e-6, abs=1e-9 / scale)
        if tau2[j] > 0:
            positive += 1
            assert reml_score(y, v, 0.5 * tau2[j])[0] > 0 > reml_score(y, v, 2.0 * tau2[j])[0]
        else:
            assert reml_score(y, v, 0.0)[0] <= 0
    assert positive >= 10  # both kinds of column occur
    # Many columns at once: the same numbers as one at a time.
    many = reml_score(y_all, v_all, tau2)
    assert many == pytest.approx([reml_score(y_all[:, j], v_all[:, j], tau2[j])[0] for j in range(40)],
                                 rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("method", ["ML", "REML", "EB"])
def test_iterative_estimates_at_the_boundary_are_exactly_zero(method):
    """Columns whose Fisher scoring starts above 0 (HE > 0) while the likelihood's maximum on
    τ² ≥ 0 is at 0: step halving alone stopped a whisker above 0 (τ² = 3.5e-15, printed as
    such, with I² = 8.5e-12%); now the estimate is 0 exactly, in the NumPy code and the
    compiled loop. Brute force says 0 is right: the estimator's own objective (the restricted or
    full likelihood for REML/ML; EB's estimating equation, whose step is positive below its
    root) has its step at 0 pointing down, and every column with a positive estimate has it up."""
    y, v = _columns(5, k=7, m=40)
    one = random_effects_kernel(y, v, method=method, ci=False).tau2
    many = random_effects_kernel(np.tile(y, 8), np.tile(v, 8), method=method, ci=False).tau2[:40]
    he = random_effects_kernel(y, v, method="HE", ci=False).tau2
    boundary = (he > 0) & (one == 0)
    assert boundary.sum() >= 2  # the case the fix is for occurs
    np.testing.assert_array_equal(one == 0, many == 0)
    tiny = (one > 0) & (one < 1e-8 * np.nanmedian(v, axis=0))
    assert not tiny.any(), one[tiny]
    if method in ("ML", "REML"):
        for j in np.flatnonzero(boundary):
            ok = np.isfinite(y[:, j])
            grid = np.linspace(0, 2 * np.median(v[ok, j]), 401)
            ll = [_loglik(method, y[ok, j], v[ok, j], t) for t in grid]
            assert int(np.argmax(ll)) == 0, j


def _loglik(method, y, v, t2):
    """The ML or REML log-likelihood of the random-effects model, written out."""
    w = 1.0 / (v + t2)
    mu = (w * y).sum() / w.sum()
    ll = -0.5 * (np.log(v + t2).sum() + (w * (y - mu) ** 2).sum())
    return ll - 0.5 * np.log(w.sum()) if method == "REML" else ll
