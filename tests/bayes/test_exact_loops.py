"""The compiled loops of the exact engine equal their NumPy references.

:mod:`betameta.kernels.exact_loops` replaces the array code of
:mod:`betameta.kernels.exact` from ``COMPILED_FROM`` columns on. Both evaluate the same
formulas; the loops sum over studies in a different association (one pass per node) and use
``erfc`` from libm where SciPy's ``ndtr`` has its own, so they agree to rounding, not bit
for bit: 1e-12 relative is ~5000 ulp of slack for sums over ≤ 50 terms of one sign (the
residual sums), far below any difference a wrong formula would make.
"""

from __future__ import annotations

import numpy as np
import pytest

from betameta.bayes.priors import MuPrior, half_normal
from betameta.kernels import exact
from betameta.kernels.classical import COMPILED_FROM
from betameta.kernels.exact_loops import beta_f_zeta2, conditional, mixture_quantile

REL = 1e-12


def _inputs(seed: int, k: int, m: int = 300):
    """Effects and variances with missing studies, columns with 0, 1 and 2 studies, and
    variances from 1e-12 to 1e12 (the engine's per-column range after its own checks)."""
    rng = np.random.default_rng(seed)
    v = 10.0 ** rng.uniform(-12, 12, (k, m)) if k else np.empty((0, m))
    v[:, : m // 2] = rng.uniform(0.001, 0.1, (k, m // 2))
    y = rng.normal(0, np.sqrt(v + 0.01))
    y[rng.random((k, m)) < 0.2] = np.nan
    if k >= 2:
        y[:, 0] = np.nan  # no study
        y[1:, 1] = np.nan  # one study
        y[2:, 2] = np.nan  # two studies
    tau = np.exp(rng.uniform(-8, 4, (20, m)))
    tau[0] = 0.0
    return y, np.where(np.isnan(y), np.nan, v), tau


@pytest.mark.parametrize("k", [0, 1, 2, 5, 30])
@pytest.mark.parametrize("mu", [MuPrior(), MuPrior(0.2, 1.5), MuPrior(0.0, 0.0)],
                         ids=["flat", "normal", "known"])
def test_conditional_loop_equals_numpy(k, mu):
    y, v, tau = _inputs(k, k)
    want = exact.conditional_numpy(tau, y, v, mu)
    got = [np.empty(tau.shape) for _ in range(3)]
    conditional(tau, y, v, mu.mean, mu.sd, *got)
    # log p(y|τ) is a sum of terms up to ~30 in size that cancel to ~0 for one study (log v′
    # + log 1/v′): it is compared absolutely as well, at 1e-12 log units (~1e-15 of a term).
    for g, w, atol in zip(got, want, (1e-12, 0, 0), strict=True):
        np.testing.assert_allclose(g, w, rtol=REL, atol=atol, equal_nan=True)


@pytest.mark.parametrize("k", [1, 2, 5, 30])
def test_beta_f_and_zeta2_loop_equal_numpy(k):
    y, v, tau = _inputs(10 + k, k)
    _, mu_hat, var = exact.conditional_numpy(tau, y, v, MuPrior())
    _, _, bf_mean, bf_var = exact.theta_conditionals(tau, y, v, mu_hat, var)
    z2 = exact.zeta2_conditional_mean(tau, y, v, mu_hat, var)
    got = [np.empty(tau.shape) for _ in range(3)]
    beta_f_zeta2(tau, y, v, mu_hat, var, *got)
    ok = np.isfinite(y).sum(axis=0) >= 1
    for g, w in zip(got, (bf_mean, bf_var, z2), strict=True):
        np.testing.assert_allclose(g[:, ok], w[:, ok], rtol=REL, atol=1e-300)


@pytest.mark.parametrize("q", [1e-6, 0.025, 0.5, 0.975])
def test_mixture_quantile_loop_equals_numpy(q):
    rng = np.random.default_rng(7)
    n, m = 40, 300
    w = rng.dirichlet(np.full(n, 0.3), m).T
    w[rng.random((n, m)) < 0.3] = 0.0
    w /= w.sum(axis=0)
    mean = rng.normal(0, 1, (n, m)) * 10.0 ** rng.uniform(-6, 6, m)
    sd = np.abs(rng.normal(0, 1, (n, m))) * 10.0 ** rng.uniform(-6, 6, m) + 1e-9
    sd[:, :5] = 0.0  # point masses (τ = 0 under µ known)
    from scipy import special

    want = exact.normal_mixture_quantile_numpy(w, mean, sd, q)
    got = np.empty(m)
    mixture_quantile(w, mean, sd, float(special.ndtri(q)), q, 1e-13, exact._W_MIN, got)
    scale = np.sqrt((w * (sd**2 + mean**2)).sum(axis=0))
    np.testing.assert_array_less(np.abs(got - want), 1e-11 * scale)
    # And it is the quantile: q lies between the CDF 1e-11 × scale either side (these
    # mixtures include staircases of narrow components, where Newton alone stalls).
    eps = 1e-11 * scale
    below = exact.normal_mixture_cdf((got - eps)[None], w, mean, sd)[0]
    above = exact.normal_mixture_cdf((got + eps)[None], w, mean, sd)[0]
    assert np.all((below <= q + 1e-15) & (above >= q - 1e-15))


def test_engine_uses_the_loops_from_compiled_from_columns_on():
    """bayes_arrays on 255 columns (NumPy: TauGrid and mixtures) and on the same columns among
    300 (compiled: grid_summaries and the loops), every field."""
    from betameta.kernels.bayes import BayesArrays, bayes_arrays

    y, v, _ = _inputs(3, 5)
    y, v = y[:, 3:], v[:, 3:]
    n = COMPILED_FROM - 1
    for mu in (MuPrior(), MuPrior(0.0, 1.0)):
        a = bayes_arrays(y[:, :n], v[:, :n], half_normal(0.5), mu)
        b = bayes_arrays(y, v, half_normal(0.5), mu)
        for name in BayesArrays.__dataclass_fields__:
            # log Bayes factors are differences of logs that cancel to ~0 for flat data:
            # compared absolutely too, at 1e-12 log units.
            np.testing.assert_allclose(getattr(b, name)[:n], getattr(a, name), rtol=1e-11,
                                       atol=1e-12 if name.startswith("log") else 0,
                                       equal_nan=True, err_msg=name)


def test_a_smaller_rule_keeps_its_stated_accuracy_on_gwas_like_variants():
    """QuadratureRule's docstring: 16 × 10 nodes agree with STUDY_RULE to 7e-9 on GWAS-like
    variants (checked here at 2e-8 on 3,000 of them, seeded)."""
    from betameta.kernels.bayes import bayes_arrays
    from betameta.kernels.exact import QuadratureRule

    rng = np.random.default_rng(11)
    k, m = 5, 3000
    se = rng.uniform(0.01, 0.2, (k, m)) * np.where(rng.random((1, m)) < 0.3,
                                                   10.0 ** rng.uniform(-2, 1, (1, m)), 1.0)
    v = se**2
    tau = np.where(rng.random(m) < 0.5, 0.0, rng.exponential(0.05, m))
    y = rng.normal(0, 1, (k, m)) * np.sqrt(v + tau**2)
    ref = bayes_arrays(y, v, half_normal(0.5), MuPrior())
    small = bayes_arrays(y, v, half_normal(0.5), MuPrior(), rule=QuadratureRule(16, 10, 1.0))
    for name in ("mu_mean", "mu_sd", "mu_ci_low", "mu_ci_high", "tau_mean", "tau_median",
                 "tau_ci_low", "tau_ci_high", "zeta2_mean"):
        scale = np.maximum(np.abs(getattr(ref, name)),
                           ref.mu_sd if name.startswith("mu") else ref.tau_mean)
        err = np.abs(getattr(small, name) - getattr(ref, name)) / scale
        assert np.nanmax(err) < 2e-8, name


@pytest.mark.parametrize("prior", ["tau~halfnormal(0.5)", "L1", "tau~halfcauchy(1)", "jeffreys"])
def test_tail_slopes_batched_probes_equal_one_at_a_time(prior):
    """A few columns evaluate every upper probe of :func:`~betameta.kernels.exact.tail_slopes`
    in one pass; many columns move their probes out one decade-step at a time. The same
    columns both ways give the same exponents and the same place, bit for bit (the probes are
    the same numbers), including columns whose slope settles late (variances up to 1e12)."""
    from betameta.bayes.priors import flat_mu, parse_tau_prior

    tp = parse_tau_prior(prior)
    y, v, _ = _inputs(3, 5, m=exact._BATCH_PROBES + 40)
    y, v = y[:, 3:], v[:, 3:]  # at least three studies
    keep = np.isfinite(y).sum(axis=0) >= 2
    y, v = y[:, keep], v[:, keep]
    for mu in (flat_mu(), MuPrior(0.0, 10.0)):
        one_by_one = exact.tail_slopes(y, v, tp, mu)
        assert y.shape[1] > exact._BATCH_PROBES
        for start in range(0, y.shape[1], 20):
            batched = exact.tail_slopes(y[:, start:start + 20], v[:, start:start + 20], tp, mu)
            for a, b in zip(batched, one_by_one, strict=True):
                np.testing.assert_array_equal(a, b[start:start + 20])


def test_a_columns_quadrature_does_not_depend_on_its_neighbours():
    """Panel edges and tail exponents of a column are the same numbers, bit for bit, whichever
    columns share its call (one alone, a study-level batch, a genome-wide chunk): iterations stop
    per column. A genome-wide run resumed in other chunks, or run on a Dask cluster, then writes
    exactly what one pass writes."""
    from betameta.bayes.priors import flat_mu, parse_tau_prior

    y, v, _ = _inputs(8, 5, m=150)
    y, v = y[:, 3:], v[:, 3:]
    keep = np.isfinite(y).sum(axis=0) >= 2
    y, v = y[:, keep], v[:, keep]
    for prior in ("tau~halfnormal(0.5)", "L1"):
        tp = parse_tau_prior(prior)
        together = exact.panel_edges(y, v, tp, flat_mu())
        for j in range(0, y.shape[1], 7):
            alone = exact.panel_edges(y[:, [j]], v[:, [j]], tp, flat_mu())
            for a, b in zip(alone, together, strict=True):
                np.testing.assert_array_equal(a[..., 0], b[..., j])
