"""MCMC over centre sets against exact enumeration (k = 10..14), and a k = 30 run.

Tolerances are Monte Carlo errors reported by the sampler itself: 4.5 standard
errors for P(C > 1) and log10 BF (plus 1e-3 for the quadrature), and 0.06 on
co-clustering frequencies (with ESS in the thousands a frequency's standard
error is at most ~0.012). Seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pytest

from betameta.transancestry import transancestry
from betameta.transancestry.mcmc import transancestry_mcmc


def _case(k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(k, 2))
    dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    se = rng.uniform(0.02, 0.05, k)
    b = rng.normal(0, se) + 0.1 * (X[:, 0] > 0)
    return b, se, dist


@pytest.mark.slow
@pytest.mark.parametrize("k", [10, 12, 14])
def test_mcmc_agrees_with_enumeration(k):
    b, se, dist = _case(k, 40 + k)
    exact = transancestry(b, se, dist)
    mc = transancestry_mcmc(b, se, dist, seed=k)
    assert mc.r_hat["log_bf"] < 1.1
    assert abs(mc.p_heterogeneity - exact.p_heterogeneity) < 4.5 * mc.p_heterogeneity_se + 1e-3
    assert abs(mc.log10_bf - exact.log10_bf) < 4.5 * mc.log10_bf_se + 1e-3
    np.testing.assert_allclose(mc.coclustering, exact.coclustering, atol=0.06)
    np.testing.assert_allclose(mc.effect_mean, exact.effect_mean, atol=3 * exact.effect_sd.max() / 10)
    assert mc.log10_bf_c1 == pytest.approx(exact.log10_bf_c1, abs=1e-9)  # computed, not sampled


@pytest.mark.slow
def test_thirty_studies_run_with_diagnostics():
    b, se, dist = _case(30, 7)
    mc = transancestry_mcmc(b, se, dist, steps=4000, burn=1000, seed=1)
    # transancestry() switches to the sampler by itself above 14 studies.
    assert transancestry(b[:16], se[:16], dist[:16, :16]).mcmc is not None
    assert np.isfinite(mc.log10_bf) and mc.log10_bf > 5  # a clear signal in half the studies
    assert np.isfinite(mc.r_hat["n_clusters"]) and mc.ess_heterogeneity > 0
    assert mc.coclustering.shape == (30, 30) and np.allclose(np.diag(mc.coclustering), 1)
