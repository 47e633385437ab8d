"""Sample overlap between studies.

The null correlation of their z-scores, and the fixed effect that allows for it.

**Estimate** (METAL's OVERLAP idea, for every pair of studies). Variants where both studies'
``|z| < 1`` are mostly null; there ``(zᵢ, zⱼ)`` is a bivariate normal with correlation ρ,
truncated to the box ``[−1, 1]²``. The truncation shrinks the plain correlation (to about
0.29ρ for small ρ), so ρ is found by matching moments: the mean of ``zᵢzⱼ`` over those
variants is set equal to ``g(ρ) = E[XY | |X| < 1, |Y| < 1]`` and solved for ρ (``g`` is
increasing; computed by a 48 × 48 Gauss–Legendre rule over the box).

**Use.** With ``R`` the correlation matrix, study i's and j's estimates covary as
``rᵢⱼsᵢsⱼ``: the fixed effect by generalised least squares,
``β̂ = 1'Σ⁻¹y / 1'Σ⁻¹1``, ``Var β̂ = 1/1'Σ⁻¹1``, its heterogeneity
``Q = (y − β̂)'Σ⁻¹(y − β̂)`` on k − 1 df, over the studies each variant has (a missing study
drops out: its row and column are left out of Σ); and for METAL's sample-size scheme its
weights kept with the variance corrected: ``Z = Σ√Nᵢzᵢ / √(Σᵢⱼ √(NᵢNⱼ) rᵢⱼ)``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from .classical import chi2_sf, log10_norm_sf2

__all__ = ["box_moment", "gls_fixed_effect", "null_correlation", "null_z_moments", "samplesize_z"]

_X, _W = np.polynomial.legendre.leggauss(48)


def box_moment(rho: float) -> float:
    """Return ``E[XY | |X| < 1, |Y| < 1]`` for a standard bivariate normal with correlation ρ.

    Parameters
    ----------
    rho : float
        The correlation.

    Returns
    -------
    float
        The moment.

    Notes
    -----
    By Gauss–Legendre quadrature over the box; what the null variants' mean product of two studies' z-scores
    estimates (:func:`null_correlation` inverts it).

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.overlap import box_moment
    >>> round(box_moment(0.5), 6)
    0.051841
    """
    x, y = np.meshgrid(_X, _X)
    w = np.outer(_W, _W)
    q = (x * x - 2 * rho * x * y + y * y) / (1 - rho * rho)
    dens = np.exp(-0.5 * q)  # the normalising constant cancels in the ratio
    return float((w * x * y * dens).sum() / (w * dens).sum())


def null_correlation(mean_product: float) -> float:
    """Return the correlation ρ whose :func:`box_moment` is ``mean_product``.

    Parameters
    ----------
    mean_product : float
        The mean of zᵢzⱼ over the variants with both ``|z| < 1``.

    Returns
    -------
    float
        ρ, clipped to ±0.999 where the sample moment lies beyond what any ρ gives.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.overlap import null_correlation
    >>> from betameta.kernels.overlap import box_moment
    >>> round(null_correlation(box_moment(0.3)), 6)
    0.3
    """
    lo, hi = box_moment(-0.999), box_moment(0.999)
    if not np.isfinite(mean_product):
        return float("nan")
    if mean_product <= lo:
        return -0.999
    if mean_product >= hi:
        return 0.999
    return float(optimize.brentq(lambda r: box_moment(r) - mean_product, -0.999, 0.999, xtol=1e-12))


def null_z_moments(beta: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the sums behind the overlap estimate (NumPy reference).

    Parameters
    ----------
    beta, se : numpy.ndarray
        ``(m, k)`` aligned effects and standard errors (NaN where a study lacks a variant).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        For every pair of studies ``Σzᵢzⱼ``, ``Σ(zᵢzⱼ)²`` and the count over the variants where both
        ``|z| < 1``, as three (k, k) arrays (diagonal: each study alone).

    Notes
    -----
    The compiled :func:`betameta.kernels.loops.null_z_moments` is held equal to it.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.overlap import null_z_moments
    >>> s, s2, n = null_z_moments(np.array([[0.1, 0.2], [0.5, -0.3], [-0.2, 0.1]]), np.ones((3, 2)))
    >>> s.round(4).tolist(), n.tolist()
    ([[0.3, -0.15], [-0.15, 0.14]], [[3, 3], [3, 3]])
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        z = beta / se
    inside = np.abs(z) < 1  # False where missing
    zz = np.where(inside, z, 0.0)
    one = inside.astype(float)  # float products: BLAS, and exact for counts below 2⁵³
    return zz.T @ zz, (zz * zz).T @ (zz * zz), (one.T @ one).astype(np.int64)


def _present_cov(v: np.ndarray, r: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(m, k, k) covariance over the studies present.

    A missing study gets variance 1 and no covariance, so that its block of Σ⁻¹ stays apart (and is then
    left out by ``ok``).
    """
    s = np.sqrt(np.where(ok, v, 1.0)).T  # (m, k)
    both = (ok.T[:, :, None] & ok.T[:, None, :])
    cov = np.where(both, r[None] * s[:, :, None] * s[:, None, :], 0.0)
    k = r.shape[0]
    idx = np.arange(k)
    cov[:, idx, idx] = np.where(ok.T, s * s, 1.0)
    return cov


def gls_fixed_effect(y: np.ndarray, v: np.ndarray, r: np.ndarray, ok: np.ndarray) -> dict[str, np.ndarray]:
    """Return the GLS fixed effect under sample overlap.

    Parameters
    ----------
    y, v : numpy.ndarray
        ``(k, m)`` effects and variances (NaN for a missing study).
    r : numpy.ndarray
        The studies' null z correlation (k, k).
    ok : numpy.ndarray
        Which studies are used (k, m).

    Returns
    -------
    dict of numpy.ndarray
        ``estimate``, ``se``, ``z``, ``log10_p``, ``q`` and ``q_p``/``q_log10p`` on ``k − 1`` df, per
        column; NaN without studies.

    Notes
    -----
    With ``Σᵢⱼ = rᵢⱼ√(vᵢvⱼ)`` over the studies present, ``β̂ = 1'Σ⁻¹y / 1'Σ⁻¹1``, ``se = (1'Σ⁻¹1)^(−½)`` and
    ``Q = (y − β̂)'Σ⁻¹(y − β̂)``; the identity gives the ordinary fixed effect and Q.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.overlap import gls_fixed_effect
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> r = np.full((4, 4), 0.3) + 0.7 * np.eye(4)
    >>> fit = gls_fixed_effect(y, v, r, np.isfinite(y))
    >>> fit['estimate'].round(4).tolist(), fit['se'].round(4).tolist()
    ([0.23, 0.0325], [0.0689, 0.0689])
    """
    a = ok.T.astype(float)  # (m, k): the present studies' ones vector
    yy = np.where(ok, y, 0.0).T
    cov = _present_cov(v, r, ok)
    solved = np.linalg.solve(cov, np.stack([a, yy], axis=-1))  # Σ⁻¹a and Σ⁻¹y, (m, k, 2)
    ia, iy = solved[..., 0] * a, solved[..., 1] * a
    with np.errstate(invalid="ignore", divide="ignore"):
        info = ia.sum(axis=1)
        est = iy.sum(axis=1) / info
        se = 1.0 / np.sqrt(info)
        # Σ⁻¹(y − β̂a) = Σ⁻¹y − β̂Σ⁻¹a: the residuals need no second solve.
        resid = (yy - est[:, None]) * a
        q = np.einsum("mk,mk->m", resid, iy - est[:, None] * ia)
        z = est / se
    k = a.sum(axis=1)
    none = k == 0
    est[none] = se[none] = z[none] = np.nan
    q = np.where(k >= 2, np.maximum(q, 0.0), np.nan)
    q_p, q_log10p = chi2_sf(q, np.where(k >= 2, k - 1, 1))
    return {"estimate": est, "se": se, "z": z, "log10_p": log10_norm_sf2(z), "q": q,
            "q_p": np.where(k >= 2, q_p, np.nan), "q_log10p": np.where(k >= 2, q_log10p, np.nan)}


def samplesize_z(y: np.ndarray, v: np.ndarray, r: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Return METAL's sample-size Z with its variance corrected for overlap.

    Parameters
    ----------
    y, v : numpy.ndarray
        The scheme's inverse-variance inputs ``y = z/√N``, ``v = 1/N`` (k, m).
    r : numpy.ndarray
        The null z correlation (k, k).
    ok : numpy.ndarray
        Which studies are used.

    Returns
    -------
    numpy.ndarray
        Z per column.

    Notes
    -----
    ``Z = Σ(yᵢ/vᵢ) / √(Σᵢⱼ rᵢⱼ/√(vᵢvⱼ))``: METAL's ``Σ√Nᵢ zᵢ / √ΣNᵢ`` when r is the identity.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.overlap import samplesize_z
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> samplesize_z(y, v, np.eye(4), np.isfinite(y)).round(4).tolist()
    [4.6, 0.65]
    """
    root_n = np.where(ok, 1.0 / np.sqrt(np.where(ok, v, 1.0)), 0.0)  # √N, 0 where missing
    num = (np.where(ok, y, 0.0) * root_n * root_n).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / np.sqrt(np.einsum("im,ij,jm->m", root_n, r, root_n))
