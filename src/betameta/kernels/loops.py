"""Compiled loops of :mod:`betameta.kernels` (numba).

One pass per meta-analysis where NumPy would make a dozen (k, m) temporaries. The formulas and their
references are in :func:`betameta.kernels.classical_kernel` and :func:`betameta.kernels.chi2_sf`; the sums run
over the studies in order, as NumPy's reductions over the first axis do, so the results are those of the same
formulas written with arrays.

Imported on first use (numba takes ~0.3 s to load), not with the package.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .random_effects import BOUNDARY

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
    """Per column of ``y`` and ``v`` (k, m).

    The number of usable studies and the rows named by :data:`CLASSICAL_ROWS` (a (13, m) array). A study
    is used where its effect and variance are finite and the variance positive; heterogeneity and random
    effects are NaN with fewer than two studies.
    """
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
    """Closed-form χ² survival function for small integer df.

    ``P(χ²_df > x)`` into ``sf`` where ``df`` is an integer in [1, :data:`CLOSED_DF_MAX`]
    and ``x`` finite and ≥ 0 (the closed form of :func:`betameta.kernels.chi2_sf`); NaN
    elsewhere. Returns how many elements were left NaN that way.
    """
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


# --- random effects, intercept-only model (betameta.kernels.random_effects) ----------------

@njit(cache=True, nogil=True, error_model="numpy")
def _re_sums(y, v, j, t):
    """For column ``j`` at τ² = ``t`` (scaled data, missing studies with v = inf).

    The largest weight c, and with u = w/c: Σu, Σu², Σu³, Σ(u r)² and Σ u r y (r = y − µ̂).
    """
    k = y.shape[0]
    c = 0.0
    for i in range(k):
        if v[i, j] < np.inf:
            w = 1.0 / (v[i, j] + t)
            if w > c:
                c = w
    su = su2 = su3 = suy = 0.0
    for i in range(k):
        if v[i, j] < np.inf:
            u = (1.0 / (v[i, j] + t)) / c
            su += u
            su2 += u * u
            su3 += u * u * u
            suy += u * y[i, j]
    mu = suy / su
    puy2 = ypuy = 0.0
    for i in range(k):
        if v[i, j] < np.inf:
            u = (1.0 / (v[i, j] + t)) / c
            pu = u * (y[i, j] - mu)
            puy2 += pu * pu
            ypuy += pu * y[i, j]
    return c, su, su2, su3, puy2, ypuy, mu


@njit(cache=True, nogil=True, error_model="numpy")
def _re_root(y, v, j, target, unit, guess):
    """τ² ≥ 0 with Q(τ²) = target for column j (0 where Q(0) ≤ target).

    Newton from below on the convex decreasing Q inside a bracket (the NumPy kernel's ``_root``, per
    column).
    """
    if not (target == target):
        return np.nan
    c, _su, _su2, _su3, _puy2, ypuy, _mu = _re_sums(y, v, j, 0.0)
    if not (c * ypuy > target):
        return 0.0
    hi = max(unit, guess if guess == guess else 0.0)
    for _ in range(200):
        c, _su, _su2, _su3, _puy2, ypuy, _mu = _re_sums(y, v, j, hi)
        if not (c * ypuy > target):
            break
        hi *= 10.0
    lo = 0.0
    t = 0.0
    for _ in range(100):
        c, _su, _su2, _su3, puy2, ypuy, _mu = _re_sums(y, v, j, t)
        f = c * ypuy - target
        if f > 0:
            lo = t
        else:
            hi = t
        step = t + f / (c * c * puy2)
        new = step if (step >= lo and step <= hi) else 0.5 * (lo + hi)
        moved = abs(new - t)
        t = new
        if not (moved > 4 * 2.220446049250313e-16 * new + 1e-15 * unit) or f == 0:
            break
    return t


@njit(cache=True, nogil=True, error_model="numpy")
def _scoring_step(y, v, j, tau2, method, n, d):
    """Return the Fisher-scoring step of ML (4), REML (3) or EB (else) at ``tau2`` (0 for NaN)."""
    c, su, su2, su3, puy2, ypuy, _ = _re_sums(y, v, j, tau2)
    if method == 4:  # ML
        delta = (puy2 - su / c) / su2
    elif method == 3:  # REML
        tr = su - su2 / su
        trsq = su2 - 2.0 * su3 / su + (su2 / su) ** 2
        delta = (puy2 - tr / c) / trsq
    else:  # EB
        delta = (ypuy * n / d - n / c) / su
    return 0.0 if delta != delta else delta


@njit(cache=True, nogil=True, error_model="numpy")
def random_effects_intercept(y, v, unit, df, method, target_lo, target_hi):
    """Per column of the scaled (k, m) ``y`` and ``v`` (v = inf for a missing study).

    Τ² by ``method`` (an index into :data:`betameta._options.TAU2_METHODS`: FE DL PM REML ML HE SJ EB),
    its Q-profile bounds (roots of Q = ``target_lo``/``target_hi``), the estimate µ̂, its variance 1/Σw
    and Q(τ̂²): the NumPy kernel's steps, one column at a time.
    """
    k, m = y.shape
    out = np.full((6, m), np.nan)
    for j in range(m):
        d = df[j]
        if d < (0 if method == 0 else 1):
            continue
        n = d + 1.0
        if method == 0:
            tau2 = 0.0
        elif method == 1:
            c, su, su2, _, _, ypuy, _ = _re_sums(y, v, j, 0.0)
            tau2 = _max0((ypuy - d / c) / (su - su2 / su))
        else:
            # The unweighted projection: y'P₀y and tr(P₀V).
            sy = sv = 0.0
            for i in range(k):
                if v[i, j] < np.inf:
                    sy += y[i, j]
                    sv += v[i, j]
            ybar = sy / n
            yp0y = 0.0
            for i in range(k):
                if v[i, j] < np.inf:
                    yp0y += (y[i, j] - ybar) * y[i, j]
            he = (yp0y - (sv - sv / n)) / d
            if method == 5:
                tau2 = _max0(he)
            elif method == 6:
                tau0 = yp0y / n
                if tau0 > 0:
                    c, _, _, _, _, ypuy, _ = _re_sums(y, v, j, tau0)
                    tau2 = tau0 * c * ypuy / d
                else:
                    tau2 = 0.0
            elif method == 2:
                tau2 = _re_root(y, v, j, d, unit[j], _max0(he))
            else:
                tau2 = _max0(he) if he == he else 0.0
                for _ in range(10_000):
                    delta = _scoring_step(y, v, j, tau2, method, n, d)
                    while tau2 + delta < 0:
                        delta /= 2.0
                    tau2 += delta
                    if not (abs(delta) > 1e-12 * max(unit[j], tau2)):
                        break
                # Halving stops a whisker above 0: the maximum is 0 itself where the step from 0 is down.
                if tau2 <= BOUNDARY * unit[j] and _scoring_step(y, v, j, 0.0, method, n, d) <= 0:
                    tau2 = 0.0
        c, su, _, _, _, ypuy, mu = _re_sums(y, v, j, tau2)
        out[0, j] = tau2
        out[1, j] = _re_root(y, v, j, target_lo[j], unit[j], 0.0)
        out[2, j] = _re_root(y, v, j, target_hi[j], unit[j], 0.0)
        out[3, j] = mu
        out[4, j] = 1.0 / (c * su)
        out[5, j] = c * ypuy
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def null_z_moments(beta, se, sums, squares, counts):
    """Add to ``sums``.

    ``squares`` and ``counts`` (k, k) the pair sums of :func:`betameta.kernels.overlap.null_z_moments`
    over the rows of ``beta`` and ``se`` (m, k), in one pass and without (m, k) temporaries.
    """
    m, k = beta.shape
    z = np.empty(k)
    inside = np.empty(k, np.bool_)
    for i in range(m):
        for j in range(k):
            z[j] = beta[i, j] / se[i, j]
            inside[j] = abs(z[j]) < 1.0
        for a in range(k):
            if inside[a]:
                for b in range(k):
                    if inside[b]:
                        p = z[a] * z[b]
                        sums[a, b] += p
                        squares[a, b] += p * p
                        counts[a, b] += 1


@njit(cache=True, nogil=True, error_model="numpy")
def _be_stat(z, w, n):
    """Z_BE of the first ``n`` entries of ``z`` and ``w`` (kernels.binary_effects)."""
    sw = 0.0
    swb = 0.0
    for i in range(n):
        sw += w[i] * w[i]
        swb += w[i] * z[i]
    num = 0.0
    den = 0.0
    for i in range(n):
        w2 = w[i] * w[i]
        rest_w = sw - w2
        rest_b = (swb - w[i] * z[i]) / rest_w
        d = z[i] / w[i] - rest_b
        x = -(d * d) / (2.0 * (1.0 / w2 + 1.0 / rest_w)) + 0.5 * z[i] * z[i]
        h = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        num += h * w[i] * z[i]
        den += (h * w[i]) ** 2
    return num / math.sqrt(den)


@njit(cache=True, nogil=True, error_model="numpy")
def binary_effects_tail(zabs, w, ok, u, g, b, samples, out):
    """Importance-sampling tail of the binary-effects statistic.

    Writes to ``out`` the importance-sampling tail of
    :func:`betameta.kernels.binary_effects._tail_reference` for each column of ``w``, ``ok``
    (k, m), from the first ``samples`` common draws ``u`` (S,), ``g``, ``b`` (S, k).
    """
    k, m = w.shape
    wc = np.empty(k)
    zs = np.empty(k)
    mu = np.empty(k)
    sd = np.empty(k)
    terms = np.empty(k)
    for j in range(m):
        n = 0
        for i in range(k):
            if ok[i, j]:
                wc[n] = w[i, j]
                n += 1
        if n < 2:
            out[j] = math.nan
            continue
        mw = 0.0
        mw2 = 0.0
        for i in range(n):
            mw += wc[i]
            mw2 += wc[i] * wc[i]
        mw /= n
        mw2 /= n
        spread = max(mw2 - mw * mw, 0.0)
        for a in range(1, n + 1):
            mu[a - 1] = zabs[j] * mw / math.sqrt(a * mw2)
            sd[a - 1] = math.sqrt(1.0 + zabs[j] ** 2 * spread / (a * mw2))
        total = 0.0
        for s in range(samples):
            a = min(int(u[s] * n) + 1, n)  # u ≥ 0: truncation is floor
            frac = a / n
            for i in range(n):
                zs[i] = g[s, i] * sd[a - 1] + mu[a - 1] if b[s, i] <= frac else g[s, i]
            if not _be_stat(zs, wc, n) >= zabs[j]:
                continue
            top = -math.inf
            for aa in range(1, n + 1):
                fa = aa / n
                lt = -math.log(n)
                for i in range(n):
                    e = zs[i] - mu[aa - 1]
                    r = fa / sd[aa - 1] * math.exp(0.5 * zs[i] * zs[i] - e * e / (2.0 * sd[aa - 1] ** 2))
                    lt += math.log((1.0 - fa) + r)
                terms[aa - 1] = lt
                top = max(top, lt)
            acc = 0.0
            for aa in range(n):
                acc += math.exp(terms[aa] - top)
            total += math.exp(-(top + math.log(acc)))
        out[j] = total / samples
