"""RE2 and m-values (betameta.kernels.metasoft, betameta.metasoft) against independent
computations written here: RE2's likelihood maximised by a general optimiser, m-values by
enumerating configurations with itertools and integrating the shared effect numerically."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from betameta import StudyTable
from betameta.kernels.metasoft import mvalue_arrays, re2_arrays, re2_p_value
from betameta.metasoft import mvalues, re2


def _loglik(mu, tau2, y, v):
    return -0.5 * np.sum(np.log(2 * np.pi * (v + tau2)) + (y - mu) ** 2 / (v + tau2))


def _re2_brute(y, v):
    """The LRT of (µ, τ²) = (0, 0) against the ML fit, by Nelder–Mead from several starts
    (τ = exp(s) keeps τ² ≥ 0; τ² = 0 itself is tried by a 1-D fit of µ)."""
    best = -np.inf
    for mu0 in (0.0, y.mean(), np.median(y)):
        for s0 in (-6.0, np.log(y.std() + 1e-3)):
            res = optimize.minimize(lambda p: -_loglik(p[0], np.exp(2 * p[1]), y, v), [mu0, s0],
                                    method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-14,
                                                                   "maxiter": 20000})
            best = max(best, -res.fun)
    mu_fe = np.sum(y / v) / np.sum(1 / v)
    best = max(best, _loglik(mu_fe, 0.0, y, v))
    lrt = 2 * (best - _loglik(0.0, 0.0, y, v))
    return lrt, mu_fe**2 * np.sum(1 / v)


def test_re2_statistic_is_the_likelihood_ratio_of_an_independent_ml_fit():
    rng = np.random.default_rng(20261203)
    k, m = 6, 12
    v = rng.uniform(0.005, 0.05, (k, m))
    y = rng.normal(rng.normal(0.05, 0.1, m), np.sqrt(v + rng.uniform(0, 0.02, m)))
    y[2, 3] = np.nan  # a missing study
    r = re2_arrays(y, v)
    for j in range(m):
        ok = ~np.isnan(y[:, j])
        lrt, s1 = _re2_brute(y[ok, j], v[ok, j])
        # Nelder–Mead's optimum is good to ~1e-9 in the log-likelihood.
        assert r.stat1[j] == pytest.approx(s1, rel=1e-12)
        assert r.stat1[j] + r.stat2[j] == pytest.approx(lrt, rel=1e-7, abs=1e-7)
    assert r.k[3] == 5 and np.all(r.stat2 >= 0)


def test_re2_asymptotic_p_and_its_log_scale():
    s = np.array([0.0, 0.5, 3.0, 30.0, 400.0, 5000.0])
    _, asym = re2_p_value(s, np.full(s.size, 60))  # k > 50: no correction
    with np.errstate(divide="ignore"):
        ref = -np.log10(0.5 * stats.chi2.sf(s, 1) + 0.5 * stats.chi2.sf(s, 2))
    np.testing.assert_allclose(asym[:5], ref[:5], rtol=1e-12, atol=1e-14)
    # Past the double range: the same mixture at 30 digits (mpmath), ½erfc(√(S/2)) + ½e^(−S/2).
    import mpmath

    mpmath.mp.dps = 30
    half = mpmath.mpf(2500)
    exact = -mpmath.log10(mpmath.erfc(mpmath.sqrt(half)) / 2 + mpmath.exp(-half) / 2)
    assert asym[5] == pytest.approx(float(exact), rel=1e-12)


@pytest.mark.parametrize("k", [3, 8])
def test_corrected_re2_p_is_uniform_under_the_null_where_the_asymptotic_one_is_not(k):
    # Fresh null data (another seed than the table's) with unequal variances: P(p ≤ α) ≈ α
    # for the corrected p, within 4 binomial sds; the asymptotic p is conservative there.
    rng = np.random.default_rng(7 + k)
    n = 200_000
    v = rng.uniform(0.5, 2.0, (k, n))
    r = re2_arrays(rng.normal(0.0, np.sqrt(v)), v)
    for alpha in (0.05, 0.01):
        tol = 4 * np.sqrt(alpha * (1 - alpha) / n)
        assert abs(np.mean(r.p_value <= alpha) - alpha) < tol
        assert np.mean(10.0 ** -r.neg_log_10_p_asymptotic <= alpha) < alpha - tol


def _mvalues_brute(y, v, sigma=0.2, a=1.0, b=1.0):
    """P(Hᵢ = 1 | y) by enumerating configurations, each one's marginal likelihood integrated
    over the shared effect numerically (no closed form)."""
    k = y.size
    post = {}
    for h in itertools.product((0, 1), repeat=k):
        h = np.array(h, bool)
        prior = np.exp(special.betaln(h.sum() + a, k - h.sum() + b) - special.betaln(a, b))

        def integrand(beta, h=h):
            sd = np.sqrt(v[h])
            return np.exp(np.sum(stats.norm.logpdf(y[h], beta, sd) - stats.norm.logpdf(y[h], 0, sd))
                          + stats.norm.logpdf(beta, 0, sigma))

        bf = integrate.quad(integrand, -3, 3, epsabs=0, epsrel=1e-12, limit=200)[0] if h.any() else 1.0
        post[tuple(h)] = prior * bf
    total = sum(post.values())
    return np.array([sum(p for h, p in post.items() if h[i]) / total for i in range(k)])


def test_mvalues_equal_brute_force_enumeration_with_numerical_integrals():
    rng = np.random.default_rng(20261203)
    k = 5
    v = rng.uniform(0.002, 0.02, (k, 4))
    y = np.where(rng.random((k, 4)) < 0.5, 0.1, 0.0) + rng.normal(0, np.sqrt(v))
    got = mvalue_arrays(y, v)
    assert got.exact
    for j in range(4):
        np.testing.assert_allclose(got.m_value[:, j], _mvalues_brute(y[:, j], v[:, j]), rtol=1e-8)


def test_a_missing_study_drops_out_exactly_and_the_sampler_agrees():
    rng = np.random.default_rng(5)
    k = 7
    v = rng.uniform(0.002, 0.02, (k, 3))
    y = np.where(rng.random((k, 3)) < 0.5, 0.08, 0.0) + rng.normal(0, np.sqrt(v))
    y[3, 0] = np.nan
    full = mvalue_arrays(y, v)
    sub = mvalue_arrays(np.delete(y[:, :1], 3, axis=0), np.delete(v[:, :1], 3, axis=0))
    assert np.isnan(full.m_value[3, 0])
    np.testing.assert_allclose(np.delete(full.m_value[:, 0], 3), sub.m_value[:, 0], rtol=1e-12)
    # The Gibbs sampler (forced) against the exact sums: Monte Carlo error of 4000 sweeps.
    gibbs = mvalue_arrays(y, v, max_exact=0, sweeps=4000, seed=11)
    assert not gibbs.exact
    np.testing.assert_allclose(gibbs.m_value[~np.isnan(y)], full.m_value[~np.isnan(y)], atol=0.02)


def test_study_level_views_and_pm_plot():
    import matplotlib

    matplotlib.use("Agg")
    st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
    r = re2(st)
    k = re2_arrays(st.yi[:, None], st.vi[:, None])
    assert (r.stat1, r.stat2, r.p_value) == (k.stat1[0], k.stat2[0], k.p_value[0])
    mv = mvalues(st)
    np.testing.assert_allclose(mv.m_value, _mvalues_brute(st.yi, st.vi), rtol=1e-8)
    frame = mv.to_frame()
    assert list(frame.columns) == ["study", "m_value", "p_value"]
    np.testing.assert_allclose(frame["p_value"], 2 * stats.norm.sf(np.abs(st.yi) / 0.1), rtol=1e-12)
    ax = mv.plot_pm()
    assert ax.get_xlim() == (0.0, 1.0)
