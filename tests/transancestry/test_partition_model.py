"""The partition model against an independent brute-force computation, and its prior.

Brute force (written differently from the kernel): for every allowed partition Z,
the multivariate normal density ``N(b; 0, V + τ²ZZᵀ + ψ²11ᵀ)`` (NumPy solve and
slogdet of the full k × k covariance) relative to the null ``N(b; 0, V)``,
integrated over u = log τ² by the trapezoid rule on 20,001 points in [−50, log 45]
(spectrally accurate for this smooth, decaying integrand; below −50 the
integrand is ∝ e^u and its tail is added), weighted by the prior of Z.
Tolerance: 1e-6 absolute on log10 BF (the issue's), ours reaches ~1e-8.
"""

from __future__ import annotations

import numpy as np
import pytest

from betameta import InputError
from betameta.transancestry import enumerate_partitions, partition_arrays, transancestry
from betameta.transancestry.partitions import centre_set_log_prior


def _mvn_logpdf(b, cov):
    _, logdet = np.linalg.slogdet(cov)
    sol = np.linalg.solve(cov, np.broadcast_to(b, cov.shape[:-1])[..., None])[..., 0]
    return -0.5 * (b.size * np.log(2 * np.pi) + logdet + (b * sol).sum(-1))


def brute_force(b, se, dist, psi=1.0, rate=1.0):
    k = b.size
    V = np.diag(se**2)
    ps = enumerate_partitions(dist)
    null = _mvn_logpdf(b, V)
    u = np.linspace(-50, np.log(45), 20001)
    t, h = np.exp(u), u[1] - u[0]
    per_partition = []
    for part in ps.partitions:
        Z = np.zeros((k, len(part)))
        for j, cl in enumerate(part):
            Z[list(cl), j] = 1
        cov = V[None] + t[:, None, None] * (Z @ Z.T)[None] + psi**2
        g = _mvn_logpdf(b, cov) - null + np.log(rate) - rate * t + u
        mx = g.max()
        f = np.exp(g - mx)
        per_partition.append(mx + np.log(h * (f.sum() - 0.5 * f[0] - 0.5 * f[-1]) + f[0]))
    per_partition = np.array(per_partition)
    total = np.logaddexp.reduce(ps.log_prior + per_partition)
    post = np.exp(ps.log_prior + per_partition - total)
    return total / np.log(10), per_partition / np.log(10), post, ps


def _case(rng, k):
    X = rng.normal(size=(k, 2))
    dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    scale = 10 ** rng.uniform(-2.5, -0.5)
    se = scale * rng.uniform(0.5, 2, k)
    z = rng.choice([0, 3, 8, 25])
    b = rng.normal(0, se) + z * scale * rng.choice([0, 1], k) * rng.uniform(0.5, 1.5, k)
    return b, se, dist


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7, 8])
def test_log10_bf_matches_brute_force(k):
    rng = np.random.default_rng(100 + k)
    for _ in range(3 if k < 7 else 1):
        b, se, dist = _case(rng, k)
        ref, ref_parts, post, ps = brute_force(b, se, dist)
        res = transancestry(b, se, dist)
        assert res.log10_bf == pytest.approx(ref, abs=1e-6)
        assert res.log10_bf_c1 == pytest.approx(ref_parts[ps.one_cluster_index()], abs=1e-6)
        assert res.p_heterogeneity == pytest.approx(post[ps.n_clusters_of > 1].sum(), abs=1e-6)
        # Co-clustering from the brute-force partition posterior.
        cocl = np.zeros((k, k))
        for p, part in zip(post, ps.partitions, strict=True):
            for cl in part:
                cocl[np.ix_(cl, cl)] += p
        np.testing.assert_allclose(res.coclustering, cocl, atol=1e-6)


def test_posterior_effects_by_simulation_of_the_model():
    # Given the data, E[β_i] from the kernel vs importance sampling from the prior would be
    # slow; instead check two limits exactly. (1) τ² fixed at 0: every β_i equals µ, and
    # µ | b ~ N(ψ²Σb/v / (1 + ψ²Σ1/v), ψ² / (1 + ψ²Σ1/v)).
    b = np.array([0.2, 0.1, 0.3])
    se = np.array([0.1, 0.2, 0.15])
    dist = np.array([[0, 1, 2], [1, 0, 1.5], [2, 1.5, 0]], float)
    res = transancestry(b, se, dist, psi=0.5, tau2_prior="fixed:0")
    w = 1 / se**2
    s2 = 0.25 / (1 + 0.25 * w.sum())
    np.testing.assert_allclose(res.effect_mean, (w * b).sum() * s2, rtol=1e-12)
    np.testing.assert_allclose(res.effect_sd, np.sqrt(s2), rtol=1e-12)
    # (2) Huge ψ and τ² with precise studies: effects approach the observed b.
    res = transancestry(b, se / 100, dist, psi=100.0, tau2_prior="fixed:100")
    np.testing.assert_allclose(res.effect_mean, b, rtol=1e-3)


def test_prior_sums_to_one_and_matches_p_of_c():
    rng = np.random.default_rng(5)
    for k in (2, 3, 5, 8, 10):
        X = rng.normal(size=(k, 2))
        ps = enumerate_partitions(np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1)))
        prior = np.exp(ps.log_prior)
        assert prior.sum() == pytest.approx(1.0, abs=1e-12)
        assert prior[ps.n_clusters_of == 1].sum() == pytest.approx(0.5)
        for c in range(2, k + 1):
            expected = 2.0**-c * 2.0 ** (k - 1) / (2.0 ** (k - 1) - 1)
            assert prior[ps.n_clusters_of == c].sum() == pytest.approx(expected, rel=1e-12)
    assert np.exp(centre_set_log_prior(4, 2)) == pytest.approx(2**-2 * 8 / 7 / 6)


def test_equal_distances_treat_studies_symmetrically():
    k = 5
    ps = enumerate_partitions(np.ones((k, k)) - np.eye(k))
    prior = dict(zip(ps.partitions, np.exp(ps.log_prior), strict=True))
    # Every partition with the same block sizes has the same prior mass.
    by_shape: dict[tuple, set] = {}
    for part, p in prior.items():
        by_shape.setdefault(tuple(sorted(len(c) for c in part)), set()).add(round(p, 14))
    assert all(len(v) == 1 for v in by_shape.values())
    # And exchangeable data give a symmetric co-clustering matrix under permutation.
    b = np.array([0.1, 0.1, 0.1, 0.1, 0.1])
    res = transancestry(b, np.full(k, 0.05), np.ones((k, k)) - np.eye(k))
    off = res.coclustering[~np.eye(k, dtype=bool)]
    assert np.ptp(off) < 1e-12


def test_missing_studies_restrict_partitions():
    rng = np.random.default_rng(9)
    b, se, dist = _case(rng, 5)
    b_missing = b.copy()
    b_missing[2] = np.nan
    keep = [0, 1, 3, 4]
    full = transancestry(b[keep], se[keep], dist[np.ix_(keep, keep)])
    res = transancestry(b_missing, se, dist)
    assert res.log10_bf == pytest.approx(full.log10_bf, abs=1e-12)
    # (k, m) effects and variances: the two variants are columns.
    arr = partition_arrays(np.stack([b, b_missing], axis=1), np.stack([se, se], axis=1) ** 2, dist)
    assert arr.log10_bf[1] == pytest.approx(full.log10_bf, abs=1e-12)
    assert np.isnan(arr.effect_mean[2, 1]) and arr.n_studies.tolist() == [5, 4]


def test_arrays_equal_single_variant_calls():
    rng = np.random.default_rng(21)
    b, se, dist = _case(rng, 6)
    B = b[None] + rng.normal(0, se, (30, 6))
    S = np.repeat(se[None], 30, axis=0)
    arr = partition_arrays(B.T, S.T**2, dist)
    assert arr.effect_mean.shape == (6, 30) and arr.log10_bf.shape == (30,)
    for j in (0, 13, 29):
        one = transancestry(B[j], S[j], dist)
        assert arr.log10_bf[j] == pytest.approx(one.log10_bf, abs=1e-12)
        np.testing.assert_allclose(arr.effect_mean[:, j], one.effect_mean, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"distances": np.zeros((3, 3))}, "distance matrix is 3x3"),
        ({"beta": np.array([0.1, np.nan, np.nan, np.nan])}, "at least 2 studies"),
        ({"distances": np.array([[0, 1, 2, 3], [1, 0, 1, 1], [2, 1, 0, 1], [3, 1, 2, 0]], float)},
         "not symmetric"),
        ({"distances": -np.ones((4, 4)) + np.eye(4)}, "non-negative"),
        ({"tau2_prior": "cauchy:1"}, "unknown prior .cauchy:1."),
        ({"tau2_prior": "precision~gamma(1,1)"}, "partition model.s tau2 prior .* is not available"),
    ],
)
def test_bad_input(kwargs, message):
    args = {"beta": np.array([0.1, 0.2, 0.3, 0.1]), "se": np.full(4, 0.1),
            "distances": np.ones((4, 4)) - np.eye(4)} | kwargs
    with pytest.raises((InputError, ValueError), match=message):
        transancestry(args["beta"], args["se"], args["distances"],
                      tau2_prior=args.get("tau2_prior", "exponential:1"))


def test_vectorisable_exp_matches_libm():
    """The kernel's polynomial exp (exp(x/256)^256) against NumPy's exp on [-40, 0]: the
    kernel's documented bound is 1e-13 relative; below -40 the term is dropped (0)."""
    from betameta.kernels.partition_loops import _exp_nonpositive

    # logspace's last point may round to just below -40 (NumPy 2.4 gives -40.000000000000014),
    # where the kernel returns 0 by design: clipped to the interval the bound is claimed on.
    x = np.concatenate([np.linspace(-40, 0, 100_001),
                        -np.minimum(np.logspace(-12, np.log10(40), 1001), 40.0), [0.0]])
    ours = np.array([_exp_nonpositive(xi) for xi in x])
    assert np.max(np.abs(ours / np.exp(x) - 1)) < 1e-13
    assert _exp_nonpositive(-40.5) == 0.0 and _exp_nonpositive(-1e300) == 0.0
