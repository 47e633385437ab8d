"""The exact engine against an independent two-dimensional integration over (µ, τ).

Reference: nested adaptive quadrature (``scipy.integrate.quad_vec``) of the joint
posterior ``p(τ) p(µ) Π N(yᵢ; µ, σᵢ² + τ²)`` written directly from the model, with
no closed-form integration over µ and no mixture; θᵢ's mean uses its conditional
mean given (µ, τ). Both sides are converged far below the 1e-6 relative
tolerance the issue asks for (quad_vec at epsrel 1e-11; our quadrature agrees with
scipy's to ~1e-13 on these cases), so 1e-6 is a real test, not a loose one.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_case
from scipy import integrate, stats

from betameta import StudyTable
from betameta.bayes import bayes_meta
from betameta.bayes import priors as P

REL = 1e-6


_X, _W = np.polynomial.legendre.leggauss(16)


def _composite(a: float, b: float, panels: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Composite 16-point Gauss–Legendre nodes and weights on [a, b]."""
    edges = np.linspace(a, b, panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    return (mid[:, None] + half[:, None] * _X).ravel(), (half[:, None] * _W).ravel()


def reference(y, v, tau_prior, mu_prior, tau_max):
    """Posterior moments by 2-D quadrature of the joint density of (µ, τ).

    Outer integral over τ: adaptive ``quad_vec``; inner integral over µ: composite
    Gauss–Legendre on a wide interval. Returns the moments and two CDFs.
    """
    centre = float(np.sum(y / v) / np.sum(1 / v))
    lo_t, hi_t = tau_prior.support[0], min(tau_prior.support[1], tau_max)

    def span(tau):  # µ | τ spreads like τ/√k: follow it out to ~40 of its sds
        half = 40 * (np.std(y) + np.sqrt(v.max()) + tau)
        if mu_prior.proper:
            half = min(half, 15 * mu_prior.sd + abs(centre - mu_prior.mean))
        return half

    def log_density(mu, tau):  # mu: array, tau: scalar
        with np.errstate(divide="ignore"):
            lp = float(tau_prior.logpdf(np.array([[tau]]), v[:, None])[0, 0])
        vt = v[:, None] + tau * tau
        lp = lp - 0.5 * np.sum(np.log(2 * np.pi * vt) + (y[:, None] - mu[None]) ** 2 / vt, axis=0)
        if mu_prior.proper:
            lp = lp + stats.norm.logpdf(mu, mu_prior.mean, mu_prior.sd)
        return lp

    shift = float(log_density(np.array([centre]), max(lo_t, min(1.0, hi_t / 2)))[0])

    def inner(tau, upper=None):
        h = span(tau)
        mu, w = _composite(centre - h, centre + h if upper is None else max(upper, centre - h))
        d = np.exp(log_density(mu, tau) - shift) * w
        cond = (y[0] / v[0] + mu / tau**2) / (1 / v[0] + 1 / tau**2) if tau > 0 else mu
        return np.array([d.sum(), d @ mu, d @ mu**2, d.sum() * tau, d.sum() * tau**2, d @ cond])

    pts = [p for p in (0.03, 0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 1e3, 1e4, 1e5, 1e6) if lo_t < p < hi_t]
    opts = {"epsrel": 1e-11, "epsabs": 0, "limit": 500}
    tot = integrate.quad_vec(inner, lo_t, hi_t, points=pts, **opts)[0]
    z = tot[0]
    out = {"mu_mean": tot[1] / z, "mu_sd": np.sqrt(tot[2] / z - (tot[1] / z) ** 2),
           "tau_mean": tot[3] / z, "tau_sd": np.sqrt(tot[4] / z - (tot[3] / z) ** 2),
           "theta1_mean": tot[5] / z}

    def mu_cdf(x):
        return integrate.quad_vec(lambda t: inner(t, x)[0], lo_t, hi_t, points=pts, **opts)[0] / z

    def tau_cdf(t):
        inside = [p for p in pts if p < t]
        return integrate.quad_vec(lambda s: inner(s)[0], lo_t, t, points=inside or None, **opts)[0] / z

    return out, mu_cdf, tau_cdf


def _case(name: str) -> StudyTable:
    c = load_case(name)
    return StudyTable(np.array(c["yi"]), np.array(c["vi"]), tuple(c["study"]))


LECTURE = _case("lecture_md")
CASES = [
    ("lecture", LECTURE, P.half_normal(1.0), P.flat_mu(), 60.0),
    ("lecture", LECTURE, P.lambert("L1"), P.normal_mu(0, np.sqrt(1000)), 1e4),
    ("lecture", LECTURE, P.lambert("L9"), P.normal_mu(0, 1.0), 100.0),
    ("bcg_rr", _case("bcg_rr"), P.half_cauchy(0.5), P.flat_mu(), 60.0),
    ("hine_tau0", _case("hine1989_rd"), P.half_normal(0.5), P.flat_mu(), 10.0),  # τ piles up at 0
    ("k2", _case("bcg_alternate_rr"), P.half_normal(0.5), P.normal_mu(0, 4.0), 20.0),
    ("k2_L1", _case("bcg_alternate_rr"), P.lambert("L1"), P.normal_mu(0, np.sqrt(1000)), 1e8),
    ("hackshaw_precisions", _case("hackshaw1998"), P.lambert("L5"), P.flat_mu(), 40.0),
]


@pytest.mark.parametrize(("label", "studies", "tau_prior", "mu_prior", "tau_max"), CASES,
                         ids=[f"{c[0]}-{c[2].name.split(':')[0]}" for c in CASES])
def test_moments_and_quantiles_match_2d_integration(label, studies, tau_prior, mu_prior, tau_max):
    fit = bayes_meta(studies, tau_prior=tau_prior, mu_prior=mu_prior)
    ref, mu_cdf, tau_cdf = reference(studies.yi, studies.vi, tau_prior, mu_prior, tau_max)
    assert fit.mu.mean == pytest.approx(ref["mu_mean"], rel=REL, abs=1e-9)
    assert fit.mu.sd == pytest.approx(ref["mu_sd"], rel=REL)
    assert fit.tau.mean == pytest.approx(ref["tau_mean"], rel=REL)
    if fit.grid.slope_hi[0] < -6:
        # With a heavier tail, E[τ²] gathers mass far beyond any finite reference range
        # (k = 2 under L1: p(τ|y) ~ τ^-3.002); our analytic tail is tested separately.
        assert fit.tau.sd == pytest.approx(ref["tau_sd"], rel=REL)
    assert fit.theta[0].mean == pytest.approx(ref["theta1_mean"], rel=REL, abs=1e-9)
    # Quantiles: the reference CDF at our quantile must be the probability asked for
    # (a 1e-6 relative error in the quantile moves the CDF by far less than 1e-7 here).
    for q in (0.5, 0.975):
        assert mu_cdf(fit.mu.quantile(q)) == pytest.approx(q, abs=1e-7)
    assert tau_cdf(fit.tau.quantile(0.5)) == pytest.approx(0.5, abs=1e-7)


def test_power_law_tail_of_tau_moments():
    """k = 2 under L1: E[τ²] is finite but dominated by τ far beyond the quadrature range.

    Independent check: integrate τ² p(τ|y) in u = log τ with scipy's quad out to
    u = 300 (τ ~ 1e130), where the integrand has long since followed its power law.
    """
    c = load_case("bcg_alternate_rr")
    y, v = np.array(c["yi"]), np.array(c["vi"])
    prior, mu = P.lambert("L1"), P.normal_mu(0, np.sqrt(1000))
    fit = bayes_meta(StudyTable(y, v, ("a", "b")), tau_prior=prior, mu_prior=mu)
    from betameta.kernels.exact import _log_post

    def f(u, r):
        tau = np.array([[np.exp(u)]])
        return np.exp(_log_post(tau, y[:, None], v[:, None], prior, mu)[0, 0] + (r + 1) * u
                      - fit.grid.log_z[0])

    pts = list(np.arange(-10.0, 300.0 + 1e-9, 5.0))
    m2 = sum(integrate.quad(f, a, b, args=(2,), epsabs=0, epsrel=1e-12)[0]
             for a, b in zip(pts[:-1], pts[1:], strict=True))
    m2 += integrate.quad(f, -60, -10, args=(2,), epsabs=0, epsrel=1e-12)[0]
    # Beyond u = 300 the remaining tail (exponent −0.002) is f(300)·e^600/0.002.
    m2 += f(300.0, 2) / (-(fit.grid.slope_hi[0] + 3))
    assert fit.tau2.mean == pytest.approx(m2, rel=1e-4)
    assert np.isinf(fit.tau2.sd)
