"""METASOFT's heterogeneity-aware tests for ``(k, m)`` arrays: RE2 and m-values.

**RE2** (Han & Eskin 2011, Am J Hum Genet 88:586). The likelihood-ratio test of
``µ = 0, τ² = 0`` against the random-effects model fitted by maximum likelihood, split as

* ``stat1 = S₁ = Z²_FE = Σyᵢ²/vᵢ − Σ(yᵢ − µ̂_FE)²/vᵢ`` (the fixed-effect part) and
* ``stat2 = S₂ = max(0, Σ log(vᵢ/(vᵢ + τ̂²)) + Σ(yᵢ − µ̂_FE)²/vᵢ − Σ(yᵢ − µ̂)²/(vᵢ + τ̂²))``,

with (µ̂, τ̂²) the ML estimates. Under the null ``S = S₁ + S₂`` is asymptotically a 50:50
mixture of χ²₁ and χ²₂ (τ² = 0 lies on the boundary):
``p_asymptotic = ½ P(χ²₁ > S) + ½ P(χ²₂ > S)``. For few studies that mixture is not yet the
null distribution; as the paper does, the p-value is corrected for k ≤ 50 by a table made by
simulation: ``p = p_asymptotic · r_k(−log10 p_asymptotic)``, ``r_k`` the ratio of the simulated
null tail to the asymptotic one (``betameta/data/re2_correction.json``, written by
``tests/data/make_re2_correction.py``, which records its seed, draws and grid; beyond the grid's
last reliable point the last ratio is kept).

**m-values** (Han & Eskin 2012, PLoS Genet 8:e1002555). Each configuration
``H ∈ {0, 1}ᵏ`` (which studies have an effect) has the prior
``B(|H| + α, k − |H| + β)/B(α, β)``; the studies with an effect share one effect
``b ~ N(0, σ²)``, the others have none, so that against the null

``BF(H) = (1 + σ²W_H)^(−1/2) exp(σ² S_H² / (2(1 + σ²W_H)))``,
``W_H = Σ_{i∈H} 1/vᵢ``, ``S_H = Σ_{i∈H} yᵢ/vᵢ``,

and the m-value of study i is ``P(Hᵢ = 1 | y) = Σ_{H∋i} p(H)BF(H) / Σ_H p(H)BF(H)``. Exact
over all 2ᵏ configurations up to ``max_exact`` studies; above, by a Gibbs sampler over H
(each Hᵢ from its full conditional, vectorised over variants), averaging the conditional
probabilities (Rao–Blackwellised). The prior is a beta-binomial, whose margins over a
subset of studies are the same beta-binomial: a missing study (NaN) therefore drops out
exactly and gets a NaN m-value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from .._results import ArrayResult
from ..errors import InputError
from .classical import classical_kernel, log10_chi2_sf, usable
from .random_effects import random_effects_kernel

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MValueArrays", "Re2Arrays", "mvalue_arrays", "re2_arrays", "re2_p_value"]

_LN10 = np.log(10.0)


@dataclass(frozen=True, repr=False)
class Re2Arrays(ArrayResult):
    """Per-column RE2 results of :func:`re2_arrays` (``(m,)`` arrays; NaN with fewer than 2 studies).

    Parameters
    ----------
    k : numpy.ndarray
        The studies used.
    mu, tau2 : numpy.ndarray
        The ML estimates.
    stat1, stat2 : numpy.ndarray
        The two parts of the statistic (module docstring).
    p_value, neg_log_10_p_value : numpy.ndarray
        The p-value corrected for k, and its −log10.
    neg_log_10_p_asymptotic : numpy.ndarray
        −log10 of the p-value from the χ² mixture alone.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.metasoft import mvalue_arrays, re2_arrays
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> r = re2_arrays(y, v)
    >>> r.k.tolist(), r.tau2.round(4).tolist()
    ([4, 4], [0.0059, 0.0])
    """

    k: np.ndarray
    mu: np.ndarray
    tau2: np.ndarray
    stat1: np.ndarray
    stat2: np.ndarray
    p_value: np.ndarray
    neg_log_10_p_value: np.ndarray
    neg_log_10_p_asymptotic: np.ndarray


@lru_cache(maxsize=1)
def _correction() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the simulated correction: k values, the grid of −log10 p_asymptotic and log10 r_k."""
    text = resources.files("betameta").joinpath("data/re2_correction.json").read_text()
    table = json.loads(text)
    return (np.array(table["k"], dtype=float), np.array(table["grid"], dtype=float),
            np.array(table["log10_ratio"], dtype=float))


def re2_p_value(stat: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``−log10 p`` of the RE2 statistic, corrected for few studies and asymptotic.

    Parameters
    ----------
    stat : numpy.ndarray
        RE2 statistics ``S = STAT1 + STAT2``.
    k : numpy.ndarray
        Studies behind each statistic.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The corrected and the asymptotic ``−log10 p``.

    Notes
    -----
    The asymptotic ``½ P(χ²₁ > S) + ½ P(χ²₂ > S)`` is summed on the log scale (no underflow); the correction
    interpolates the committed table linearly in −log10 p and in k, and leaves k > 50 as it is.

    References
    ----------
    Han & Eskin (2011), Am J Hum Genet 88:586.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.metasoft import re2_p_value
    >>> corrected, asymptotic = re2_p_value(np.array([10.0, 10.0]), np.array([3, 60]))
    >>> corrected.round(4).tolist(), asymptotic.round(4).tolist()
    ([2.6937, 2.3818], [2.3818, 2.3818])
    """
    stat = np.asarray(stat, dtype=float)
    a, b = log10_chi2_sf(stat, 1.0), log10_chi2_sf(stat, 2.0)
    with np.errstate(invalid="ignore"):  # NaN statistics (fewer than 2 studies) stay NaN
        asym = -(np.logaddexp(a * _LN10, b * _LN10) / _LN10 + np.log10(0.5))
    ks, grid, lr = _correction()
    k = np.asarray(k, dtype=float)
    g = np.clip(np.nan_to_num(asym), grid[0], grid[-1])  # NaN (k < 2) masked below
    # Interpolate in k between the table's rows, then in the grid.
    kk = np.clip(np.nan_to_num(k), ks[0], ks[-1])
    j = np.clip(np.searchsorted(ks, kk, side="right") - 1, 0, ks.size - 2)
    w = (kk - ks[j]) / (ks[j + 1] - ks[j])
    pos = np.interp(g, grid, np.arange(grid.size))
    i = np.clip(np.floor(pos).astype(int), 0, grid.size - 2)
    u = pos - i
    row = lambda jj: (1 - u) * lr[jj, i] + u * lr[jj, i + 1]  # noqa: E731
    log_ratio = (1 - w) * row(j) + w * row(j + 1)
    log_ratio = np.where((k > ks[-1]) | ~np.isfinite(asym), 0.0, log_ratio)
    corrected = np.maximum(asym - log_ratio, 0.0)
    return corrected, asym


def re2_arrays(y: np.ndarray, v: np.ndarray) -> Re2Arrays:
    """Return METASOFT's RE2 test of every column of ``(k, m)`` arrays.

    Parameters
    ----------
    y, v : numpy.ndarray
        ``(k, m)`` effects and variances (NaN for a missing study).

    Returns
    -------
    Re2Arrays
        ``(m,)`` arrays: ``k``, the ML ``mu`` and ``tau2``, ``stat1``, ``stat2``, ``p_value`` and
        ``neg_log_10_p_value`` (corrected for few studies) and the asymptotic one.

    Notes
    -----
    ML estimates of (µ, τ²) per column; ``STAT1 = Z²_FE`` (the fixed-effect part) and ``STAT2`` the rest
    of the likelihood ratio of ``µ = 0, τ² = 0`` against the ML fit (module docstring).

    References
    ----------
    Han & Eskin (2011), Am J Hum Genet 88:586.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.metasoft import re2_arrays
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> r = re2_arrays(y, v)
    >>> r.stat1.round(3).tolist(), r.neg_log_10_p_value.round(3).tolist()
    ([21.16, 0.423], [5.234, 0.237])
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if y.ndim == 1:
        y, v = y[:, None], v[:, None]
    ok = usable(y, v)
    fe = classical_kernel(y, v)  # S₁ = Z²_FE; Σ(yᵢ − µ̂_FE)²/vᵢ is Cochran's Q
    k = fe.k
    yy = np.where(ok, y, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat1 = fe.fe_z**2
        ml = random_effects_kernel(y, v, method="ML", ci=False)
        mu, tau2 = ml.coef[:, 0], ml.tau2
        vt = np.where(ok, v + tau2, 1.0)
        stat2 = (np.where(ok, np.log(np.where(ok, v, 1.0) / vt), 0.0).sum(axis=0) + fe.q
                 - np.where(ok, (yy - mu) ** 2 / vt, 0.0).sum(axis=0))
    stat2 = np.maximum(stat2, 0.0)
    few = k < 2
    for a in (mu, tau2, stat1, stat2):
        a[few] = np.nan
    lg, asym = re2_p_value(stat1 + stat2, k)
    lg[few] = asym[few] = np.nan
    return Re2Arrays(k, mu, tau2, stat1, stat2, 10.0**-lg, lg, asym)


@dataclass(frozen=True, repr=False)
class MValueArrays(ArrayResult):
    """m-values of :func:`mvalue_arrays`.

    Parameters
    ----------
    m_value : numpy.ndarray
        ``(k, m)``: P(study i has an effect | y), NaN for a missing study.
    exact : bool
        Whether all 2ᵏ configurations were summed (else sampled).
    sigma : float
        The prior SD of an effect.
    alpha, beta : float
        The beta-binomial prior on the configurations.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.metasoft import mvalue_arrays, re2_arrays
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> m = mvalue_arrays(y, v)
    >>> m.m_value.shape, m.exact
    ((4, 2), True)
    """

    m_value: np.ndarray
    exact: bool
    sigma: float
    alpha: float
    beta: float

    def to_frame(self) -> pd.DataFrame:
        """Return the m-values as a table.

        Returns
        -------
        pandas.DataFrame
            One row per variant, a column ``m_value_<i>`` per study (0-based).

        Examples
        --------
        >>> import numpy as np
        >>> from betameta.kernels.metasoft import mvalue_arrays, re2_arrays
        >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
        >>> v = np.full((4, 2), 0.01)
        >>> mvalue_arrays(y, v).to_frame().round(3).values.tolist()[0]
        [0.991, 0.969, 0.218, 0.997]
        """
        import pandas as pd

        return pd.DataFrame({f"m_value_{i}": row for i, row in enumerate(self.m_value)})


def _log_prior(size: np.ndarray, k: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    return (special.betaln(size + alpha, k - size + beta) - special.betaln(alpha, beta))


def _log_bf(W: np.ndarray, S: np.ndarray, s2: float) -> np.ndarray:
    return -0.5 * np.log1p(s2 * W) + 0.5 * s2 * S**2 / (1.0 + s2 * W)


def mvalue_arrays(y: np.ndarray, v: np.ndarray, *, sigma: float = 0.2, alpha: float = 1.0,
                  beta: float = 1.0, max_exact: int = 14, sweeps: int = 2000,
                  seed: int | np.random.Generator | None = 20261203) -> MValueArrays:
    """Return the m-values of every column of ``(k, m)`` arrays.

    Parameters
    ----------
    y, v : numpy.ndarray
        ``(k, m)`` effects and variances (NaN for a missing study).
    sigma : float
        Prior sd of an effect that is present.
    alpha, beta : float
        The Beta prior of the fraction of studies with an effect.
    max_exact : int
        Up to this many studies all 2ᵏ configurations are summed exactly.
    sweeps : int
        Gibbs sweeps above ``max_exact`` (after a tenth as many discarded).
    seed : int or numpy.random.Generator or None
        Seed of the Gibbs sampler.

    Returns
    -------
    MValueArrays
        ``m_value`` (k, m): the posterior probability that each study has an effect (NaN for a missing
        study), and whether each column was ``exact``.

    References
    ----------
    Han & Eskin (2012), PLoS Genet 8:e1002555.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.metasoft import mvalue_arrays
    >>> y = np.array([[0.30, 0.10], [0.25, -0.05], [0.02, 0.00], [0.35, 0.08]])
    >>> v = np.full((4, 2), 0.01)
    >>> mvalue_arrays(y, v).m_value[:, 0].round(3).tolist()
    [0.991, 0.969, 0.218, 0.997]
    """
    if not (sigma > 0 and alpha > 0 and beta > 0):
        raise InputError("sigma, alpha and beta must be positive")
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if y.ndim == 1:
        y, v = y[:, None], v[:, None]
    ok = usable(y, v)
    w = np.where(ok, 1.0 / np.where(ok, v, 1.0), 0.0)
    z = np.where(ok, y, 0.0) * w  # y/v, 0 where missing: no part in any W_H or S_H
    k, m = y.shape
    s2 = sigma**2
    n_ok = ok.sum(axis=0)
    if k <= max_exact:
        configs = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(float)  # (2^k, k)
        out = np.empty((k, m))
        batch = max(1, (1 << 22) // (2**k))  # ~32 MB of (2^k, batch) doubles at a time
        for lo in range(0, m, batch):
            sl = slice(lo, min(m, lo + batch))
            W, S = configs @ w[:, sl], configs @ z[:, sl]
            # The prior of each configuration over the studies present (the margin of the
            # beta-binomial): missing studies' indicators are summed out exactly.
            size = configs @ ok[:, sl].astype(float)
            lp = _log_prior(size, n_ok[sl][None, :].astype(float), alpha, beta) + _log_bf(W, S, s2)
            lp -= lp.max(axis=0)
            post = np.exp(lp)
            post /= post.sum(axis=0)
            out[:, sl] = configs.T @ post
        exact = True
    else:
        out = _gibbs(w, z, ok, s2, alpha, beta, sweeps, np.random.default_rng(seed))
        exact = False
    out[~ok] = np.nan
    return MValueArrays(out, exact, float(sigma), float(alpha), float(beta))


def _gibbs(w, z, ok, s2, alpha, beta, sweeps, rng) -> np.ndarray:
    """Rao–Blackwellised Gibbs estimate of P(Hᵢ = 1 | y), vectorised over columns."""
    k, m = w.shape
    n_ok = ok.sum(axis=0).astype(float)
    H = (rng.random((k, m)) < 0.5) & ok
    W, S, size = (H * w).sum(axis=0), (H * z).sum(axis=0), H.sum(axis=0).astype(float)
    acc = np.zeros((k, m))
    burn = max(1, sweeps // 10)
    for sweep in range(burn + sweeps):
        for i in range(k):
            hi = H[i]
            W0, S0, n0 = W - hi * w[i], S - hi * z[i], size - hi
            W1, S1, n1 = W0 + w[i], S0 + z[i], n0 + 1
            log_odds = (_log_prior(n1, n_ok, alpha, beta) + _log_bf(W1, S1, s2)
                        - _log_prior(n0, n_ok, alpha, beta) - _log_bf(W0, S0, s2))
            p1 = np.where(ok[i], special.expit(log_odds), 0.0)
            new = rng.random(m) < p1
            H[i] = new
            W, S, size = W0 + new * w[i], S0 + new * z[i], n0 + new
            if sweep >= burn:
                acc[i] += p1
    return acc / sweeps
