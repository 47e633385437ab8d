"""METASOFT's binary-effects test (betameta.kernels.binary_effects): the statistic against the
formulas written out study by study, the importance-sampled p against plain simulation of the
null and, for two studies, against a numerical integral over the plane; the compiled loop
against the NumPy reference; calibration on fresh null data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from betameta import StudyTable
from betameta.kernels.binary_effects import be_statistic, binary_effects_arrays
from betameta.metasoft import binary_effects


def scalar_be(beta, se):
    """Z_BE as METASOFT defines it, one study at a time: h-values from the leave-one-out
    fixed effect (unnormalised Gaussian kernels), then Σhwz/√Σ(hw)², w = 1/SE."""
    k = len(beta)
    h = []
    for i in range(k):
        others = [j for j in range(k) if j != i]
        wsum = sum(1 / se[j] ** 2 for j in others)
        b_rest = sum(beta[j] / se[j] ** 2 for j in others) / wsum
        f1 = math.exp(-((beta[i] - b_rest) ** 2) / (2 * (se[i] ** 2 + 1 / wsum)))
        f0 = math.exp(-(beta[i] ** 2) / (2 * se[i] ** 2))
        h.append(f1 / (f0 + f1))
    num = sum(h[i] / se[i] * beta[i] / se[i] for i in range(k))
    den = math.sqrt(sum((h[i] / se[i]) ** 2 for i in range(k)))
    return num / den, h


def null_stats(w, draws, rng):
    """Z_BE of ``draws`` null meta-analyses with weights w (plain simulation)."""
    z = rng.standard_normal((len(w), draws))
    return be_statistic(z, np.broadcast_to(w[:, None], z.shape), np.ones(z.shape, bool))[0]


def test_statistic_and_h_values_equal_the_formulas_written_out():
    rng = np.random.default_rng(11)
    y = rng.normal(0.1, 0.15, (5, 30))
    se = rng.uniform(0.05, 0.2, (5, 30))
    r = binary_effects_arrays(y, se**2, samples=10, samples_large=10)
    for j in range(30):
        stat, h = scalar_be(y[:, j], se[:, j])
        # the same sums in another order: agreement to rounding
        assert r.stat[j] == pytest.approx(stat, rel=1e-12)
        np.testing.assert_allclose(r.h_value[:, j], h, rtol=1e-12)


def test_importance_sampled_p_agrees_with_plain_simulation_of_the_null():
    """Four meta-analyses with p from 0.1 to 1e-3; 20,000 importance draws (relative sd 0.7-2%
    at these p, measured over 8 seeds) against 2,000,000 plain null draws with the same
    weights (relative sd √((1 − p)/(p·2e6)) ≤ 2.2% at p = 1e-3): 8% is about 3 combined sds."""
    rng = np.random.default_rng(12)
    se = np.array([0.08, 0.1, 0.12, 0.15])
    ys = np.array([[0.15, 0.1, 0.0, 0.05], [0.18, 0.12, 0.02, 0.0], [0.2, 0.15, 0.01, 0.1],
                   [0.25, 0.22, 0.0, 0.05]]).T
    r = binary_effects_arrays(ys, np.broadcast_to((se**2)[:, None], ys.shape), samples=20_000,
                              samples_large=20_000)
    null = np.abs(null_stats(1 / se, 2_000_000, rng))
    for j in range(4):
        plain = (null >= abs(r.stat[j])).mean()
        assert 5e-4 < plain < 0.2
        assert r.p_value[j] == pytest.approx(plain, rel=0.08)


def test_a_small_p_agrees_with_a_numerical_integral_for_two_studies():
    """k = 2: P(|Z_BE| ≥ c) as a sum of the bivariate normal density over a 0.004-wide grid
    of [−9, 9]² (the cells the boundary cuts are counted whole or not at all: going from 0.008
    to 0.004 to 0.002 moves the sum by 0.4% and 0.2%); the refined importance estimate
    (100,000 draws, 1.4% off here, spread 0.3% over seeds) within 5% at p ≈ 5e-7."""
    se = np.array([0.1, 0.2])
    y = np.array([[0.45], [0.55]])
    r = binary_effects_arrays(y, (se**2)[:, None])
    assert r.samples[0] == 100_000
    g = np.arange(-9, 9, 0.004) + 0.002
    c = abs(r.stat[0])
    total = 0.0
    for lo in range(0, g.size, 500):
        z1 = g[lo:lo + 500][:, None]
        z = np.stack(np.broadcast_arrays(z1, g[None, :]))
        s = be_statistic(z, np.broadcast_to((1 / se)[:, None, None], z.shape), np.ones(z.shape, bool))[0]
        dens = stats.norm.pdf(z[0]) * stats.norm.pdf(z[1])
        total += (dens * (np.abs(s) >= c)).sum() * 0.004**2
    assert 1e-8 < total < 1e-5
    assert r.p_value[0] == pytest.approx(total, rel=0.05)


def test_compiled_loop_equals_the_numpy_reference():
    """Same draws, same operations: equal to 1e-12 relative, on columns with a missing study,
    two studies, one study (NaN), an infinite and a zero variance (those studies unused)."""
    rng = np.random.default_rng(13)
    y = rng.normal(0.1, 0.15, (4, 40)) + np.where(rng.random((4, 40)) < 0.4, 0.3, 0.0)
    v = rng.uniform(0.004, 0.03, (4, 40))
    y[0, :6] = np.nan
    y[1:, 6] = np.nan  # one study left
    y[2:, 7] = np.nan  # two
    v[3, 8] = np.inf
    v[2, 9] = 0.0
    kw = {"samples": 500, "samples_large": 3000, "seed": 5}
    a = binary_effects_arrays(y, v, compiled=False, **kw)
    b = binary_effects_arrays(y, v, **kw)
    np.testing.assert_allclose(b.p_value, a.p_value, rtol=1e-12)
    np.testing.assert_array_equal(b.samples, a.samples)
    assert np.isnan(a.p_value[6]) and np.isfinite(a.p_value[7])
    assert a.k[8] == 3 and a.k[9] == 3 and np.isnan(a.h_value[3, 8])
    assert (a.samples == 3000).any() and (a.samples == 500).any()


def test_p_values_are_uniform_under_the_null():
    """2,000 null meta-analyses of 5 studies with unequal SEs: the p-values' KS distance from
    uniform is below its 1% critical value (1.63/√2000 = 0.036), and 5% of them fall below
    0.05 within binomial error (±1.5 points at 3 sds). 5,000 draws: every variant shares one
    set, so its importance-sampling error is common to all of them rather than averaging out
    (with the default 1,000 the KS distance is 0.035-0.039 over four seeds, from that error)."""
    rng = np.random.default_rng(14)
    se = rng.uniform(0.05, 0.2, (5, 2000))
    y = rng.standard_normal(se.shape) * se
    p = binary_effects_arrays(y, se**2, samples=5000, samples_large=5000).p_value
    assert stats.kstest(p, "uniform").statistic < 0.036
    assert abs((p < 0.05).mean() - 0.05) < 0.015


def test_a_variant_missing_studies_gets_the_study_level_draws():
    """The draws are made study by study: a column with a study missing has the p of the
    study-level call on the studies it has."""
    y = np.array([[0.3, 0.3], [0.25, np.nan], [0.02, 0.02], [0.3, 0.3]])
    v = np.full((4, 2), 0.01)
    st = StudyTable(y[[0, 2, 3], 1], v[[0, 2, 3], 1], ("A", "C", "D"))
    assert binary_effects_arrays(y, v).p_value[1] == pytest.approx(binary_effects(st).p_value, rel=1e-12)


def test_seed_fixes_the_p_value_and_the_study_level_view():
    st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
    a, b = binary_effects(st), binary_effects(st)
    assert a.p_value == b.p_value and a.samples == 100_000  # p < 1e-4: refined
    other = binary_effects(st, seed=1)
    assert other.p_value != a.p_value and other.p_value == pytest.approx(a.p_value, rel=0.1)
    stat, h = scalar_be(st.yi, st.sei)
    assert a.stat == pytest.approx(stat, rel=1e-12)
    assert list(a.to_frame()["h_value"]) == pytest.approx(h, rel=1e-12)
    assert "Z_BE" in str(a.summary())
