"""Compiled loops of the exact engine (numba, parallel over meta-analyses): the conditionals
given τ and the normal-mixture quantiles of :mod:`betameta.kernels.exact`, one column at a
time where NumPy makes (k, n, m) temporaries. The formulas are those of the NumPy functions
they replace (:func:`~betameta.kernels.exact.conditional`,
:func:`~betameta.kernels.exact.theta_conditionals`,
:func:`~betameta.kernels.exact.zeta2_conditional_mean`,
:func:`~betameta.kernels.exact.normal_mixture_quantile`), which stay the reference and
are used below :data:`~betameta.kernels.classical.COMPILED_FROM` columns; a test holds
the two equal.

Imported on first use (numba takes ~0.3 s to load), not with the package.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_LOG2PI = math.log(2 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2 * math.pi)


@njit(cache=True, nogil=True, parallel=True)
def conditional(tau, y, v, mu_mean, mu_sd, ll, mu_hat, var):
    """``log p(y|τ)``, ``µ̂_τ`` and ``V_τ`` into ``ll``, ``mu_hat``, ``var`` (n, m); ``mu_sd``
    0 for µ known, inf for a flat prior. NaN in y or v marks a missing study."""
    k, m = y.shape
    n = tau.shape[0]
    proper = mu_sd < np.inf
    for j in prange(m):
        kk = 0
        for i in range(k):
            if y[i, j] == y[i, j] and v[i, j] == v[i, j] and abs(v[i, j]) < np.inf \
                    and abs(y[i, j]) < np.inf:
                kk += 1
        for g in range(n):
            t2 = tau[g, j] * tau[g, j]
            sum_logv = 0.0
            sw = 0.0
            swy = 0.0
            for i in range(k):
                yi, vi = y[i, j], v[i, j]
                if not (yi == yi and vi == vi and abs(vi) < np.inf and abs(yi) < np.inf):
                    continue
                vt = vi + t2
                w = 1.0 / vt
                sum_logv += math.log(vt)
                sw += w
                swy += w * yi
            if mu_sd == 0.0:
                rss = 0.0
                for i in range(k):
                    yi, vi = y[i, j], v[i, j]
                    if yi == yi and vi == vi and abs(vi) < np.inf and abs(yi) < np.inf:
                        d = yi - mu_mean
                        rss += d * d / (vi + t2)
                ll[g, j] = -0.5 * (kk * _LOG2PI + sum_logv + rss)
                mu_hat[g, j] = mu_mean
                var[g, j] = 0.0
                continue
            if kk == 0 and not proper:  # nothing to integrate µ against (NaN, as NumPy's 0/0)
                ll[g, j] = np.nan
                mu_hat[g, j] = np.nan
                var[g, j] = np.inf
                continue
            n_obs = float(kk)
            if proper:
                p0 = 1.0 / (mu_sd * mu_sd)
                sw += p0
                swy += p0 * mu_mean
                n_obs += 1.0
            mh = swy / sw
            rss = 0.0
            for i in range(k):
                yi, vi = y[i, j], v[i, j]
                if yi == yi and vi == vi and abs(vi) < np.inf and abs(yi) < np.inf:
                    d = yi - mh
                    rss += d * d / (vi + t2)
            extra = 0.0
            if proper:
                extra = math.log(mu_sd * mu_sd) + (mu_mean - mh) ** 2 / (mu_sd * mu_sd)
            ll[g, j] = -0.5 * ((n_obs - 1.0) * _LOG2PI + sum_logv + extra + rss + math.log(sw))
            mu_hat[g, j] = mh
            var[g, j] = 1.0 / sw


@njit(cache=True, nogil=True, parallel=True)
def beta_f_zeta2(tau, y, v, mu_hat, var, bf_mean, bf_var, z2):
    """βF's conditional mean and variance and ``E[ζ²|τ,y]`` (n, m), as
    :func:`~betameta.kernels.exact.theta_conditionals` and
    :func:`~betameta.kernels.exact.zeta2_conditional_mean` compute them."""
    k, m = y.shape
    n = tau.shape[0]
    for j in prange(m):
        sw = 0.0
        for i in range(k):
            if y[i, j] == y[i, j] and v[i, j] == v[i, j]:
                sw += 1.0 / v[i, j]
        for g in range(n):
            t2 = tau[g, j] * tau[g, j]
            mh, vr = mu_hat[g, j], var[g, j]
            m_bf = 0.0
            within = 0.0
            ac = 0.0
            r_bar = 0.0
            ary = 0.0
            z_within = 0.0
            for i in range(k):
                yi, vi = y[i, j], v[i, j]
                if not (yi == yi and vi == vi):
                    continue
                a = (1.0 / vi) / sw
                vt = vi + t2
                c, r = vi / vt, t2 / vt
                m_bf += a * (r * yi + c * mh)
                within += a * a * (vi * r)
                ac += a * c
                r_bar += a * r
                ary += a * (r * yi)
                z_within += a * vi * r * (1.0 - a)
            bf_mean[g, j] = m_bf
            bf_var[g, j] = within + ac * ac * vr
            spread = 0.0
            dev = 0.0
            for i in range(k):
                yi, vi = y[i, j], v[i, j]
                if not (yi == yi and vi == vi):
                    continue
                a = (1.0 / vi) / sw
                vt = vi + t2
                r = t2 / vt
                spread += a * (r - r_bar) ** 2
                d = r * yi - ary - (r - r_bar) * mh
                dev += a * d * d
            z2[g, j] = z_within + vr * spread + dev


@njit(cache=True, nogil=True, inline="always")
def _ndtr(x):
    return 0.5 * math.erfc(-x * _SQRT_HALF)


@njit(cache=True, nogil=True, parallel=True)
def mixture_quantile(w, mean, sd, z, q, tol, w_min, out):
    """The ``q`` quantile of ``Σ wⱼ N(meanⱼ, sdⱼ²)`` per column (``z = Φ⁻¹(q)``): the same
    safeguarded Newton iteration, start and stopping rule as the NumPy reference, over the
    components of weight ≥ ``w_min``."""
    n, m = w.shape
    for j in prange(m):
        lo = np.inf
        hi = -np.inf
        big = 0.0
        for g in range(n):
            wg = w[g, j] if w[g, j] >= w_min else 0.0
            if wg > 0:
                comp = mean[g, j] + sd[g, j] * z
                lo = min(lo, comp)
                hi = max(hi, comp)
            big += wg * mean[g, j]
        var = 0.0
        for g in range(n):
            wg = w[g, j] if w[g, j] >= w_min else 0.0
            var += wg * (sd[g, j] * sd[g, j] + (mean[g, j] - big) ** 2)
        spread = math.sqrt(var)
        x = min(max(big + z * spread, lo), hi)
        for _ in range(100):
            f = -q
            d = 0.0
            for g in range(n):
                wg = w[g, j]
                if wg < w_min:
                    continue
                s = sd[g, j]
                if s > 0:
                    zz = (x - mean[g, j]) / s
                    f += wg * _ndtr(zz)
                    d += wg * math.exp(-0.5 * zz * zz) * _INV_SQRT_2PI / s
                elif x >= mean[g, j]:
                    f += wg
            if f < 0:
                lo = x
            else:
                hi = x
            step = x - f / d if d != 0.0 else np.nan
            new = step if (step == step and lo <= step <= hi) else 0.5 * (lo + hi)
            done = abs(new - x) <= tol * (abs(x) + spread)
            x = new
            if done or abs(f) < 1e-15:
                break
        out[j] = x
