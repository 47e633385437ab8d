"""ASSET's subset search (betameta.kernels.asset): the best subsets against enumeration written
out with itertools, the DLM p-values against plain simulation of the null maximum (without and
with correlated studies, and for one side of the two-sided search given its studies' signs),
and the compiled loops against the NumPy reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from betameta.kernels.asset import asset_arrays

SE = np.array([0.08, 0.1, 0.12, 0.15])


def brute_best(z, w, r, sign=0):
    """argmax over non-empty subsets of |Z(S)| (sign 0) or sign·Z(S), one subset at a time."""
    best, best_z, best_s = -np.inf, np.nan, None
    for size in range(1, len(z) + 1):
        for S in itertools.combinations(range(len(z)), size):
            S = list(S)
            zs = (w[S] * z[S]).sum() / np.sqrt(w[S] @ r[np.ix_(S, S)] @ w[S])
            score = abs(zs) if sign == 0 else sign * zs
            if score > best:
                best, best_z, best_s = score, zs, set(S)
    return best_s, best_z


def null_max(w, r, draws, rng, positive=False):
    """max over subsets of |Z(S)| for null z ~ N(0, r) (or of Z(S) given every z ≥ 0, drawn by
    rejection)."""
    k = len(w)
    sets = ((np.arange(1, 2**k)[:, None] >> np.arange(k)) & 1).astype(float)
    den = np.sqrt(np.einsum("si,ij,sj->s", sets * w, r, sets * w))
    z = rng.standard_normal((draws, k)) @ np.linalg.cholesky(r).T
    if positive:
        z = z[(z >= 0).all(axis=1)]
    zs = (z * w) @ sets.T / den
    return zs.max(axis=1) if positive else np.abs(zs).max(axis=1)


def test_best_subsets_equal_enumeration_written_out():
    rng = np.random.default_rng(21)
    k, m = 5, 40
    y = rng.normal(0.0, 0.15, (k, m)) + np.where(rng.random((k, m)) < 0.4, 0.3, 0.0)
    v = rng.uniform(0.005, 0.03, (k, m))
    y[0, :8] = np.nan
    r = np.full((k, k), 0.2) + 0.8 * np.eye(k)
    a = asset_arrays(y, v, r=r, samples=20, samples_large=20)
    for j in range(m):
        ok = np.isfinite(y[:, j])
        idx = np.flatnonzero(ok)
        w = 1 / np.sqrt(v[idx, j])
        z = y[idx, j] * w
        rr = r[np.ix_(idx, idx)]
        S, zb = brute_best(z, w, rr)
        assert set(idx[sorted(S)]) == set(np.flatnonzero(a.subset[:, j]))
        assert a.z[j] == pytest.approx(zb, rel=1e-12)
        # the subset's fixed effect: inverse-variance weights over S
        sel = idx[sorted(S)]
        fe = (y[sel, j] / v[sel, j]).sum() / (1 / v[sel, j]).sum()
        assert a.beta[j] == pytest.approx(fe, rel=1e-12)
        for side, target in ((1, a.subset_positive), (-1, a.subset_negative)):
            members = idx[side * z >= 0] if side == 1 else idx[z < 0]
            got = set(np.flatnonzero(target[:, j]))
            if members.size == 0:
                assert not got
                continue
            pos = np.searchsorted(idx, members)
            S2, _ = brute_best(z[pos], w[pos], rr[np.ix_(pos, pos)], sign=side)
            assert got == set(members[sorted(S2)])


@pytest.mark.parametrize("t", [2.5, 3.0, 3.5])
def test_dlm_p_agrees_with_the_simulated_null_maximum(t):
    """4 studies, unequal SEs: the DLM p (an upper bound that is tight in the tail) against
    P(max |Z(S)| ≥ t) from 1,000,000 null draws (relative sd ≤ 1.5% at p ≈ 0.0044); within 5%
    and not below the simulation by more than its error. The variant has its best |Z| = t."""
    rng = np.random.default_rng(22)
    y = np.array([t * SE[0], 1e-12, 1e-12, 1e-12])[:, None]
    a = asset_arrays(y, (SE**2)[:, None], samples=2000, samples_large=2000)
    assert a.z[0] == pytest.approx(t, rel=1e-9)
    sim = (null_max(1 / SE, np.eye(4), 1_000_000, rng) >= t).mean()
    assert a.p_value[0] == pytest.approx(sim, rel=0.05)
    assert a.p_value[0] >= sim * 0.96


def test_dlm_p_with_correlated_studies():
    """Three studies with null z correlation 0.5 and 0.3 (shared samples): DLM against the
    simulated maximum of the correlated null, within 5%, at t = 3."""
    rng = np.random.default_rng(23)
    r = np.array([[1, 0.5, 0.3], [0.5, 1, 0.0], [0.3, 0.0, 1]])
    se = SE[:3]
    y = np.array([3.0 * se[0], 1e-12, 1e-12])[:, None]
    a = asset_arrays(y, (se**2)[:, None], r=r, samples=2000, samples_large=2000)
    sim = (null_max(1 / se, r, 1_000_000, rng) >= a.z[0]).mean()
    assert a.p_value[0] == pytest.approx(sim, rel=0.05)


def test_one_side_of_the_two_sided_search_given_its_signs():
    """Four positive studies: the positive side's p is P(max Z(S) ≥ t | every z ≥ 0), simulated
    by rejection (1/16 of 4,000,000 draws kept: relative sd ≤ 4% at p ≈ 0.008), within 8%; no
    negative study, so its p is 1 and the combined p is the positive one (χ²₂ of −2 log p)."""
    rng = np.random.default_rng(24)
    t = 3.5
    y = np.array([t * SE[0], 1e-9, 1e-9, 1e-9])[:, None]
    a = asset_arrays(y, (SE**2)[:, None], samples=2000, samples_large=2000)
    sim = (null_max(1 / SE, np.eye(4), 4_000_000, rng, positive=True) >= t).mean()
    assert a.p_positive[0] == pytest.approx(sim, rel=0.08)
    assert a.p_negative[0] == 1.0
    assert a.p_value_two_sided[0] == pytest.approx(a.p_positive[0], rel=1e-12)


def test_two_sided_combination_and_refinement():
    rng = np.random.default_rng(25)
    y = np.array([[0.4, 0.35, -0.3, 0.02, -0.25]]).T + rng.normal(0, 1e-3, (5, 1))
    v = (SE[[0, 1, 2, 3, 0]] ** 2)[:, None]
    a = asset_arrays(y, v)
    fisher = -2 * np.log(a.p_positive[0] * a.p_negative[0])
    assert a.p_value_two_sided[0] == pytest.approx(stats.chi2.sf(fisher, 4), rel=1e-12)
    assert a.samples[0] == 2000  # p < 1e-3: the sums were done again with more draws
    assert set(np.flatnonzero(a.subset_positive[:, 0])) == {0, 1}
    assert set(np.flatnonzero(a.subset_negative[:, 0])) == {2, 4}


def test_compiled_loops_equal_the_numpy_reference():
    """Same draws, same sums: equal to 1e-12 on columns with missing studies, one study, mixed
    signs, and correlated studies."""
    rng = np.random.default_rng(26)
    k, m = 4, 25
    y = rng.normal(0.0, 0.15, (k, m)) + np.where(rng.random((k, m)) < 0.4, 0.3, 0.0)
    v = rng.uniform(0.005, 0.03, (k, m))
    y[0, :5] = np.nan
    y[1:, 5] = np.nan
    r = np.full((k, k), 0.25) + 0.75 * np.eye(k)
    kw = {"r": r, "samples": 100, "samples_large": 400, "seed": 3}
    a = asset_arrays(y, v, compiled=False, **kw)
    b = asset_arrays(y, v, **kw)
    for f in ("z", "beta", "se", "p_value", "p_positive", "p_negative", "p_value_two_sided"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-12, err_msg=f)
    for f in ("subset", "subset_positive", "subset_negative", "samples"):
        np.testing.assert_array_equal(getattr(b, f), getattr(a, f))
    assert a.k[5] == 1 and np.isfinite(a.p_value[5])


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_orthant_probability_with_correlation_one_half(n):
    """With every correlation 1/2 the orthant probability is 1/(n + 1): zᵢ = (g₀ + gᵢ)/√2 with
    iid gs are all positive iff g₀ is the largest of g₀, −g₁, …, −gₙ (exchangeable). Sheppard's
    closed forms for n ≤ 3 (to rounding), Genz's integration above (to ORTHANT_RELEPS)."""
    from betameta.kernels.asset import ORTHANT_RELEPS, _orthant

    r = np.full((n + 1, n + 1), 0.5) + 0.5 * np.eye(n + 1)
    members = np.r_[np.ones(n, bool), False]
    assert _orthant(r, members) == pytest.approx(1 / (n + 1), rel=1e-14 if n <= 3 else ORTHANT_RELEPS)


def test_orthant_probability_against_a_precise_integration():
    """Random correlation matrices (seeded), 4 to 7 studies: the cached integration agrees with
    SciPy's run to 1e-9 relative (20M points) within ORTHANT_RELEPS, and a second call (from
    the cache) gives the same number."""
    from scipy import stats

    from betameta.kernels import asset as A

    rng = np.random.default_rng(11)
    for n in (4, 5, 6, 7):
        b = rng.normal(size=(n, 2 * n))
        c = b @ b.T
        d = np.sqrt(np.diag(c))
        r = 0.6 * np.eye(n) + 0.4 * c / np.outer(d, d)
        zero = np.zeros(n)
        ref = stats.multivariate_normal.cdf(zero, mean=zero, cov=r, abseps=1e-13, releps=1e-9,
                                            maxpts=20_000_000, rng=np.random.default_rng(1))
        got = A._orthant(r, np.ones(n, bool))
        assert got == pytest.approx(ref, rel=A.ORTHANT_RELEPS), n
        assert A._orthant(r, np.ones(n, bool)) == got


def test_a_variant_missing_studies_gets_the_study_level_draws():
    """A column with a study missing gives the study-level result on the studies it has, with
    the overlap matrix restricted to them (the draws are made study by study and correlated
    per search)."""
    from betameta import StudyTable
    from betameta.asset import asset

    y = np.array([[0.3, 0.3], [0.25, np.nan], [-0.1, -0.1], [0.35, 0.35]])
    v = np.full((4, 2), 0.01)
    r = np.full((4, 4), 0.2) + 0.8 * np.eye(4)
    keep = [0, 2, 3]
    st = StudyTable(y[keep, 1], v[keep, 1], ("A", "C", "D"))
    for rr in (None, r):
        a = asset_arrays(y, v, r=rr)
        b = asset(st, r=None if rr is None else rr[np.ix_(keep, keep)])
        assert [a.p_value[1], a.p_value_two_sided[1]] == pytest.approx([b.p_value, b.p_value_two_sided],
                                                                       rel=1e-12)
        assert b.subset == ("A", "D") and b.subset_negative == ("C",)
