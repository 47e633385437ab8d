"""Cross-check of the exact engine with NUTS on the same model (PyMC, seeded).

Tolerance: NUTS posterior means and the 10%, 50% and 90% quantiles must lie
within 4.5 Monte Carlo standard errors (ArviZ's ``mcse``, mean and quantile
methods) of the exact values. Quantiles rather than sds: under the uniform τ
prior µ's posterior has heavy tails and a sample sd converges slowly.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

from betameta import load_studies
from betameta.bayes import bayes_meta
from betameta.bayes import priors as P
from betameta.mcmc import normal_normal_model, sample

for _engine in ("pymc", "numpyro"):
    require_module(_engine)
az = require_module("arviz")


@pytest.mark.slow
@pytest.mark.parametrize("tau_prior", [P.half_normal(1.0), P.lambert("L9")], ids=lambda p: p.name)
def test_nuts_agrees_with_exact_posterior(lecture_frame, tau_prior):
    studies = load_studies(lecture_frame, measure="MD")
    mu_prior = P.normal_mu(0, 10)
    exact = bayes_meta(studies, tau_prior=tau_prior, mu_prior=mu_prior)
    idata = sample(normal_normal_model(studies, tau_prior, mu_prior), draws=2500, tune=1000,
                   chains=4, seed=7, sampler="numpyro", target_accept=0.95)
    assert int(idata.sample_stats["diverging"].sum()) < 20
    for name, marg in (("mu", exact.mu), ("tau", exact.tau), ("beta_f", exact.beta_f)):
        draws = idata.posterior[name].values.ravel()
        mcse = float(az.mcse(idata, var_names=[name])[name])
        assert abs(draws.mean() - marg.mean) < 4.5 * mcse, name
        for q in (0.1, 0.5, 0.9):
            se_q = float(az.mcse(idata, var_names=[name], method="quantile", prob=q)[name])
            assert abs(np.quantile(draws, q) - marg.quantile(q)) < 4.5 * se_q, (name, q)
    theta = idata.posterior["theta"].values.reshape(-1, studies.k)
    np.testing.assert_allclose(theta.mean(axis=0), [t.mean for t in exact.theta],
                               atol=4.5 * theta.std(axis=0).max() / np.sqrt(2000))
