"""Compiled loops of :mod:`betameta.kernels` (numba): one pass per meta-analysis where
NumPy would make a dozen (k, m) temporaries. The formulas and their references are in
:func:`betameta.kernels.classical_kernel` and :func:`betameta.kernels.chi2_sf`; the sums
run over the studies in order, as NumPy's reductions over the first axis do, so the
results are those of the same formulas written with arrays.

Imported on first use (numba takes ~0.3 s to load), not with the package.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Rows of :func:`classical`'s output, in order.
CLASSICAL_ROWS = ("sum_w", "fe_estimate", "fe_se", "fe_z", "q", "i2", "h2", "zeta2", "tau2_dl",
                  "re_estimate", "re_se", "re_z", "z2")
#: Integer degrees of freedom up to this use the closed form of the χ² survival function.
CLOSED_DF_MAX = 20
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@njit(cache=True, nogil=True, inline="always")
def _max0(x):
    """``max(0, x)``, NaN staying NaN (as ``np.maximum``)."""
    return x if x > 0.0 or x != x else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def classical(y, v):
    """Per column of ``y`` and ``v`` (k, m): the number of usable studies and the rows named by
    :data:`CLASSICAL_ROWS` (a (13, m) array). A study is used where its effect and variance
    are finite and the variance positive; heterogeneity and random effects are NaN with
    fewer than two studies."""
    k, m = y.shape
    n_used = np.zeros(m, np.int64)
    out = np.empty((len(CLASSICAL_ROWS), m))
    for i in range(m):
        n = 0
        sw = sw2 = swy = swyy = 0.0
        for j in range(k):
            yj, vj = y[j, i], v[j, i]
            if math.isfinite(yj) and math.isfinite(vj) and vj > 0.0:
                w = 1.0 / vj
                n += 1
                sw += w
                sw2 += w * w
                swy += w * yj
                swyy += w * yj * yj
        fe = swy / sw
        fe_se = 1.0 / math.sqrt(sw)
        # Q from the Z² identity loses digits when Z²_F dominates; sum residuals instead.
        q = 0.0
        for j in range(k):
            yj, vj = y[j, i], v[j, i]
            if math.isfinite(yj) and math.isfinite(vj) and vj > 0.0:
                q += (1.0 / vj) * (yj - fe) ** 2
        df = n - 1.0
        if n < 2:
            q = np.nan
        i2 = (_max0((q - df) / q) if q > 0.0 else 0.0) if n >= 2 else np.nan
        tau2 = _max0((q - df) / (sw - sw2 / sw))
        swr = swry = 0.0
        for j in range(k):
            yj, vj = y[j, i], v[j, i]
            if math.isfinite(yj) and math.isfinite(vj) and vj > 0.0:
                wr = 1.0 / (vj + tau2)
                swr += wr
                swry += wr * yj
        re = swry / swr
        re_se = 1.0 / math.sqrt(swr)
        n_used[i] = n
        out[0, i], out[1, i], out[2, i], out[3, i] = sw, fe, fe_se, fe / fe_se
        out[4, i], out[5, i], out[6, i], out[7, i], out[8, i] = q, i2, q / df, _max0((q - df) / sw), tau2
        out[9, i], out[10, i], out[11, i], out[12, i] = re, re_se, re / re_se, swyy
    return n_used, out


@njit(cache=True, nogil=True, error_model="numpy")
def chi2_sf_integer_df(x, df, sf):
    """``P(χ²_df > x)`` into ``sf`` where ``df`` is an integer in [1, :data:`CLOSED_DF_MAX`]
    and ``x`` finite and ≥ 0 (the closed form of :func:`betameta.kernels.chi2_sf`); NaN
    elsewhere. Returns how many elements were left NaN that way."""
    left = 0
    for i in range(x.size):
        xi, d = x[i], df[i]
        if not (d >= 1.0 and d <= CLOSED_DF_MAX and d == math.floor(d) and xi >= 0.0 and xi < np.inf):
            sf[i] = np.nan
            left += 1
            continue
        t = xi / 2.0
        e = math.exp(-t)
        if d % 2.0 == 1.0:
            r = math.sqrt(t)
            q, term, s = math.erfc(r), _TWO_OVER_SQRT_PI * r * e, 0.5
        else:
            q, term, s = e, t * e, 1.0
        a = d / 2.0
        while s < a:
            q += term
            s += 1.0
            term *= t / s
        sf[i] = q
    return left
