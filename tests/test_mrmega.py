"""MR-MEGA per variant against a brute-force weighted least squares written here.

For each sampled variant the studies present are regressed on ``[1, axes]`` by
``numpy.linalg.lstsq`` on √w-scaled rows (an independent route to the same estimates: no
normal equations), and the three χ² statistics are formed from their definitions (Mägi et
al. 2017): Σw y² − RSS, Q − RSS, RSS. Tolerance 1e-10 relative (both are double-precision
least squares on well-conditioned designs; a wrong df or weight moves them by far more).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from betameta.errors import InputError
from betameta.kernels.mrmega import check_axes, mds_axes, mrmega_arrays


def _data(seed=3, k=8, m=400):
    rng = np.random.default_rng(seed)
    freqs = rng.uniform(0.05, 0.95, (2000, k))
    freqs[:, 4:] = np.clip(freqs[:, 4:] + rng.normal(0, 0.15, (2000, k - 4)), 0.01, 0.99)
    dist = ((freqs[:, :, None] - freqs[:, None, :]) ** 2).mean(axis=0)
    se = rng.uniform(0.02, 0.2, (k, m))
    y = rng.normal(0, 1, (k, m)) * se + rng.normal(0, 0.1, (1, m))
    y[rng.random((k, m)) < 0.15] = np.nan
    y[3:, :5] = np.nan  # three studies: too few for T = 2 (k - 2 <= T)
    return y, se**2, dist


def test_axes_are_classical_mds_of_the_squared_distances():
    _, _, dist = _data()
    axes = mds_axes(dist, 3)
    # Principal coordinates reproduce the distances they span: D ≈ squared Euclidean
    # distances of the full coordinates, and the axes are centred and orthogonal.
    full = mds_axes(dist, dist.shape[0] - 1)
    recon = ((full[:, None, :] - full[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(recon, dist, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(axes.sum(axis=0), 0.0, atol=1e-12)
    gram = axes.T @ axes
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-12)
    assert np.all(np.diff(np.diag(gram)) <= 0)  # largest first
    with pytest.raises(InputError, match="symmetric"):
        mds_axes(dist + np.triu(np.ones_like(dist)) * 0.1, 2)
    with pytest.raises(InputError, match="at most 5 axes"):
        check_axes(6, 8)


@pytest.mark.parametrize("n_axes", [0, 1, 2])
def test_equals_brute_force_weighted_least_squares(n_axes):
    y, v, dist = _data()
    axes = mds_axes(dist, n_axes)
    r = mrmega_arrays(y, v, axes)
    X = np.concatenate([np.ones((y.shape[0], 1)), axes], axis=1)
    checked = 0
    for j in range(y.shape[1]):
        keep = np.isfinite(y[:, j])
        k = int(keep.sum())
        if k - 2 <= n_axes:
            assert not r.fitted[j] and np.isnan(r.chisq_assoc[j]) and np.isnan(r.beta[j]).all()
            continue
        w = 1.0 / v[keep, j]
        sw = np.sqrt(w)
        Xk, yk = X[keep], y[keep, j]
        b, *_ = np.linalg.lstsq(Xk * sw[:, None], yk * sw, rcond=None)
        rss = float((w * (yk - Xk @ b) ** 2).sum())
        cov = np.linalg.inv((Xk * w[:, None]).T @ Xk)
        q = float((w * (yk - (w * yk).sum() / w.sum()) ** 2).sum())
        assoc, anc = float((w * yk**2).sum()) - rss, q - rss
        np.testing.assert_allclose(r.beta[j], b, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(r.se[j], np.sqrt(np.diag(cov)), rtol=1e-10)
        np.testing.assert_allclose([r.chisq_assoc[j], r.chisq_residual_het[j]], [assoc, rss], rtol=1e-10)
        assert r.chisq_ancestry_het[j] == pytest.approx(anc, rel=1e-9, abs=1e-12)
        assert r.chisq_assoc_p[j] == pytest.approx(stats.chi2.sf(assoc, n_axes + 1), rel=1e-9)
        assert r.chisq_residual_het_p[j] == pytest.approx(stats.chi2.sf(rss, k - n_axes - 1), rel=1e-9)
        if n_axes:
            assert r.chisq_ancestry_het_p[j] == pytest.approx(stats.chi2.sf(anc, n_axes), rel=1e-8,
                                                              abs=1e-14)
        assert r.ln_bf[j] == pytest.approx((assoc - (n_axes + 1) * np.log(k)) / 2, rel=1e-10)
        checked += 1
    assert checked > 300
