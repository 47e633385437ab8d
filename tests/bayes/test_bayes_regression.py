"""Exact Bayesian meta-regression against an independent 3-D integration.

The reference is computed here from the model's density alone: p(τ) Πᵢ N(yᵢ; β₀ + β₁xᵢ,
vᵢ + τ²) (× the β prior where proper) summed over a tensor grid — composite Gauss–Legendre
in τ on [0, 5] (20 panels × 20 nodes; the half-normal(0.5) prior leaves e⁻⁵⁰ beyond) and
a trapezoidal grid of 161 × 161 points in (β₀, β₁) spanning ±12 conditional sds around a
weighted least-squares fit written out here (spectrally accurate for these Gaussian-like
integrands). That route shares nothing with the engine's (no conditional Gaussian algebra,
no adaptive panels). The two agree to ~1e-14 (measured); the test holds them to 1e-10
relative (means in units of the coefficient's posterior sd), the engine's claim being 1e-8. Data: dat.bcg
log RR on absolute latitude (k = 13).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from betameta import StudyTable
from betameta.bayes.regression import bayes_meta_regression
from betameta.errors import InputError

REFS = Path(__file__).parents[1] / "data" / "metafor_regression" / "refs.json"
CASE = json.loads(REFS.read_text())["bcg_ablat"]
Y, V, LAT = np.array(CASE["yi"]), np.array(CASE["vi"]), np.array(CASE["columns"]["ablat"], dtype=float)
X = np.column_stack([np.ones(Y.size), LAT])


def _studies():
    return StudyTable(Y, V, tuple(map(str, range(Y.size))), data=pd.DataFrame({"ablat": LAT}))


def _brute(beta_sd=None):
    """Posterior moments of β₀, β₁, τ and the density of β₁ at 0, by the tensor grid."""
    xg, wg = np.polynomial.legendre.leggauss(20)
    edges = np.linspace(0.0, 5.0, 21)
    panels = list(zip(edges[:-1], edges[1:], strict=True))
    taus = np.concatenate([0.5 * (b - a) * xg + 0.5 * (a + b) for a, b in panels])
    tw = np.concatenate([0.5 * (b - a) * wg for a, b in panels])
    log_prior_tau = np.log(2 / (0.5 * np.sqrt(2 * np.pi))) - taus**2 / (2 * 0.25)
    acc = {"z": 0.0, "b0": 0.0, "b1": 0.0, "b00": 0.0, "b11": 0.0, "tau": 0.0, "dens0": 0.0}
    for t, w_t, lp in zip(taus, tw, log_prior_tau, strict=True):
        w = 1 / (V + t * t)
        A = (X * w[:, None]).T @ X
        centre = np.linalg.solve(A, (X * w[:, None]).T @ Y)
        half = 12 * np.sqrt(np.diag(np.linalg.inv(A)))
        g0 = np.linspace(centre[0] - half[0], centre[0] + half[0], 161)
        g1 = np.linspace(centre[1] - half[1], centre[1] + half[1], 161)
        B0, B1 = np.meshgrid(g0, g1, indexing="ij")
        resid = Y[None, None, :] - B0[..., None] - B1[..., None] * LAT
        ll = -0.5 * (np.log(2 * np.pi * (V + t * t)).sum() + (resid**2 * w).sum(axis=2))
        if beta_sd is not None:
            ll = ll - 0.5 * ((B0 / beta_sd[0]) ** 2 + (B1 / beta_sd[1]) ** 2) - np.log(
                2 * np.pi * beta_sd[0] * beta_sd[1])
        f = np.exp(ll + lp)
        cell = (g0[1] - g0[0]) * (g1[1] - g1[0])
        mass = f.sum() * cell * w_t
        acc["z"] += mass
        acc["b0"] += (f * B0).sum() * cell * w_t
        acc["b1"] += (f * B1).sum() * cell * w_t
        acc["b00"] += (f * B0**2).sum() * cell * w_t
        acc["b11"] += (f * B1**2).sum() * cell * w_t
        acc["tau"] += mass * t
        # The density of β₁ at 0: the β₀ integral at β₁ = 0 (a line through the grid).
        r0 = Y[None, :] - g0[:, None]
        l0 = -0.5 * (np.log(2 * np.pi * (V + t * t)).sum() + (r0**2 * w).sum(axis=1))
        if beta_sd is not None:
            l0 = l0 - 0.5 * (g0 / beta_sd[0]) ** 2 - np.log(2 * np.pi * beta_sd[0] * beta_sd[1])
        acc["dens0"] += np.exp(l0 + lp).sum() * (g0[1] - g0[0]) * w_t
    z = acc["z"]
    m0, m1 = acc["b0"] / z, acc["b1"] / z
    return {"b0_mean": m0, "b1_mean": m1, "b0_sd": np.sqrt(acc["b00"] / z - m0**2),
            "b1_sd": np.sqrt(acc["b11"] / z - m1**2), "tau_mean": acc["tau"] / z,
            "b1_density_at_0": acc["dens0"] / z}


@pytest.mark.parametrize("beta_sd", [None, (10.0, 1.0)], ids=["flat", "normal"])
def test_posterior_moments_equal_an_independent_integration(beta_sd):
    kw = {} if beta_sd is None else {"beta_mean": 0.0, "beta_sd": list(beta_sd)}
    fit = bayes_meta_regression(_studies(), ["ablat"], "halfnormal:0.5", **kw)
    ref = _brute(beta_sd)
    b0, b1 = fit.coefficients
    assert b0.mean == pytest.approx(ref["b0_mean"], abs=1e-10 * ref["b0_sd"])
    assert b1.mean == pytest.approx(ref["b1_mean"], abs=1e-10 * ref["b1_sd"])
    assert b0.sd == pytest.approx(ref["b0_sd"], rel=1e-10)
    assert b1.sd == pytest.approx(ref["b1_sd"], rel=1e-10)
    assert fit.tau.mean == pytest.approx(ref["tau_mean"], rel=1e-10)
    assert float(b1.pdf(np.array([0.0]))[0]) == pytest.approx(ref["b1_density_at_0"], rel=1e-10)
    if beta_sd is not None:  # Savage–Dickey: the posterior density at 0 over the prior's
        prior0 = 1 / (np.sqrt(2 * np.pi) * beta_sd[1])
        assert fit.bayes_factor_zero()[1] == pytest.approx(ref["b1_density_at_0"] / prior0, rel=1e-10)
    else:
        assert np.isnan(fit.bayes_factor_zero()).all()


def test_intercept_only_regression_is_bayes_meta():
    from betameta.bayes import bayes_meta
    from betameta.bayes.priors import parse_tau_prior

    st = _studies()
    reg = bayes_meta_regression(st, [], "halfnormal:0.5")
    post = bayes_meta(st, tau_prior=parse_tau_prior("halfnormal:0.5"))
    assert reg.coefficients[0].mean == pytest.approx(post.mu.mean, rel=1e-12)
    assert reg.coefficients[0].sd == pytest.approx(post.mu.sd, rel=1e-12)
    assert reg.coefficients[0].quantile(0.975) == pytest.approx(post.mu.quantile(0.975), rel=1e-12)
    assert reg.tau.median == pytest.approx(post.tau.median, rel=1e-12)


def test_predictions_report_and_refusals():
    fit = bayes_meta_regression(_studies(), ["ablat"], "halfnormal:0.5")
    pred = fit.predict(np.array([[LAT.mean()]]))
    assert pred["pi_low"][0] < pred["ci_low"][0] < pred["mean"][0] < pred["ci_high"][0] < pred["pi_high"][0]
    d = fit.to_dict()
    assert [c["term"] for c in d["coefficients"]] == ["intercept", "ablat"]
    assert "ablat" in str(fit.summary())
    with pytest.raises(InputError, match="one mean and sd per term"):
        bayes_meta_regression(_studies(), ["ablat"], beta_mean=[0, 0, 0], beta_sd=[1, 1, 1])
    with pytest.raises(InputError, match="no moderator column 'lat'"):
        bayes_meta_regression(_studies(), ["lat"])


def test_the_docstring_example_runs():
    import doctest

    import betameta.bayes.regression

    assert doctest.testmod(betameta.bayes.regression).failed == 0
