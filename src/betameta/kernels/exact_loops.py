"""Compiled loops of the exact engine (numba, parallel over meta-analyses).

The conditionals given τ, the normal-mixture quantiles of :mod:`betameta.kernels.exact`, and
:func:`grid_summaries` (every genome-wide summary from the quadrature's nodes), one column at a time where
NumPy makes (k, n, m) temporaries. The formulas are those of the NumPy functions they replace
(:func:`~betameta.kernels.exact.conditional`, :func:`~betameta.kernels.exact.theta_conditionals`,
:func:`~betameta.kernels.exact.zeta2_conditional_mean`,
:func:`~betameta.kernels.exact.normal_mixture_quantile`), which stay the reference and are used below
:data:`~betameta.kernels.classical.COMPILED_FROM` columns; a test holds the two equal.

Imported on first use (numba takes ~0.3 s to load), not with the package.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_LOG2PI = math.log(2 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2 * math.pi)
_LOG10 = math.log(10.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _log_sum(vt, kk):
    """``Σ log vtᵢ`` with one log per ~10 terms.

    A running product, folded into the sum before it could leave [1e-200, 1e200] (terms outside [1e-100,
    1e100] go in directly).
    """
    total = 0.0
    prod = 1.0
    for i in range(kk):
        x = vt[i]
        if x < 1e-100 or x > 1e100:
            total += math.log(x)
            continue
        prod *= x
        if prod < 1e-100 or prod > 1e100:
            total += math.log(prod)
            prod = 1.0
    return total + math.log(prod)


@njit(cache=True, nogil=True, error_model="numpy")
def _present(y, v, j, ys, vs):
    """Return the studies of column j with finite effect and variance into ``ys``, ``vs``; their number."""
    kk = 0
    for i in range(y.shape[0]):
        yi, vi = y[i, j], v[i, j]
        if yi == yi and vi == vi and abs(vi) < np.inf and abs(yi) < np.inf:
            ys[kk] = yi
            vs[kk] = vi
            kk += 1
    return kk


@njit(cache=True, nogil=True, error_model="numpy")
def _conditional_at(t2, ys, vs, kk, mu_mean, mu_sd, vt, wt):
    """Return the conditionals given τ of one column.

    ``(log p(y|τ), µ̂_τ, V_τ)`` at τ² = ``t2`` for the ``kk`` studies in ``ys``/``vs``
    (``vt``, ``wt``: scratch of length ≥ kk).
    """
    proper = mu_sd < np.inf
    sw = 0.0
    swy = 0.0
    for i in range(kk):
        vt[i] = vs[i] + t2
        wt[i] = 1.0 / vt[i]
        sw += wt[i]
        swy += wt[i] * ys[i]
    sum_logv = _log_sum(vt, kk)
    if mu_sd == 0.0:
        rss = 0.0
        for i in range(kk):
            d = ys[i] - mu_mean
            rss += d * d * wt[i]
        return -0.5 * (kk * _LOG2PI + sum_logv + rss), mu_mean, 0.0
    if kk == 0 and not proper:  # nothing to integrate µ against (NaN, as NumPy's 0/0)
        return np.nan, np.nan, np.inf
    n_obs = float(kk)
    if proper:
        p0 = 1.0 / (mu_sd * mu_sd)
        sw += p0
        swy += p0 * mu_mean
        n_obs += 1.0
    mh = swy / sw
    rss = 0.0
    for i in range(kk):
        d = ys[i] - mh
        rss += d * d * wt[i]
    extra = 0.0
    if proper:
        extra = math.log(mu_sd * mu_sd) + (mu_mean - mh) ** 2 / (mu_sd * mu_sd)
    return -0.5 * ((n_obs - 1.0) * _LOG2PI + sum_logv + extra + rss + math.log(sw)), mh, 1.0 / sw


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def conditional(tau, y, v, mu_mean, mu_sd, ll, mu_hat, var):
    """``log p(y|τ)``, ``µ̂_τ`` and ``V_τ`` into ``ll``, ``mu_hat``, ``var`` (n, m).

    ``mu_sd`` 0 for µ known, inf for a flat prior. NaN in y or v marks a missing study.
    """
    k, m = y.shape
    n = tau.shape[0]
    for j in prange(m):
        ys = np.empty(k)
        vs = np.empty(k)
        vt = np.empty(k)
        wt = np.empty(k)
        kk = _present(y, v, j, ys, vs)
        for g in range(n):
            ll[g, j], mu_hat[g, j], var[g, j] = _conditional_at(
                tau[g, j] * tau[g, j], ys, vs, kk, mu_mean, mu_sd, vt, wt)


@njit(cache=True, nogil=True, error_model="numpy")
def _beta_f_at(t2, mh, vr, ys, vs, aa, kk):
    """βF's conditional moments and the conditional mean of ζ² at one τ.

    βF's conditional mean and variance and ``E[ζ²|τ,y]`` at τ² = ``t2`` (µ̂_τ = ``mh``,
    V_τ = ``vr``) for the ``kk`` studies in ``ys``/``vs`` with fixed-effect weights ``aa``:
    the formulas of :func:`~betameta.kernels.exact.theta_conditionals` and
    :func:`~betameta.kernels.exact.zeta2_conditional_mean`.
    """
    m_bf = 0.0
    within = 0.0
    ac = 0.0
    r_bar = 0.0
    ary = 0.0
    z_within = 0.0
    for i in range(kk):
        yi, vi, a = ys[i], vs[i], aa[i]
        vt = vi + t2
        c, r = vi / vt, t2 / vt
        m_bf += a * (r * yi + c * mh)
        within += a * a * (vi * r)
        ac += a * c
        r_bar += a * r
        ary += a * (r * yi)
        z_within += a * vi * r * (1.0 - a)
    spread = 0.0
    dev = 0.0
    for i in range(kk):
        yi, vi, a = ys[i], vs[i], aa[i]
        r = t2 / (vi + t2)
        spread += a * (r - r_bar) ** 2
        d = r * yi - ary - (r - r_bar) * mh
        dev += a * d * d
    return m_bf, within + ac * ac * vr, z_within + vr * spread + dev


@njit(cache=True, nogil=True, error_model="numpy")
def _fixed_weights(vs, kk, aa):
    """Return the fixed-effect weights ``(1/vᵢ)/Σ1/v`` of the ``kk`` studies in ``vs`` into ``aa``."""
    sw = 0.0
    for i in range(kk):
        sw += 1.0 / vs[i]
    for i in range(kk):
        aa[i] = (1.0 / vs[i]) / sw


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def beta_f_zeta2(tau, y, v, mu_hat, var, bf_mean, bf_var, z2):
    """βF's conditional mean and variance and ``E[ζ²|τ,y]`` (n, m) (:func:`_beta_f_at`)."""
    k, m = y.shape
    n = tau.shape[0]
    for j in prange(m):
        ys = np.empty(k)
        vs = np.empty(k)
        aa = np.empty(k)
        kk = _present(y, v, j, ys, vs)
        _fixed_weights(vs, kk, aa)
        for g in range(n):
            bf_mean[g, j], bf_var[g, j], z2[g, j] = _beta_f_at(
                tau[g, j] * tau[g, j], mu_hat[g, j], var[g, j], ys, vs, aa, kk)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _ndtr(x):
    return 0.5 * math.erfc(-x * _SQRT_HALF)


@njit(cache=True, nogil=True, error_model="numpy")
def _mixture_quantile_col(w, mean, sd, z, q, tol, w_min):
    """One column of :func:`mixture_quantile` (1-d arrays of the n components)."""
    n = w.shape[0]
    lo = np.inf
    hi = -np.inf
    big = 0.0
    for g in range(n):
        wg = w[g] if w[g] >= w_min else 0.0
        if wg > 0:
            comp = mean[g] + sd[g] * z
            lo = min(lo, comp)
            hi = max(hi, comp)
        big += wg * mean[g]
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    for g in range(n):
        wg = w[g] if w[g] >= w_min else 0.0
        d = mean[g] - big
        s2 = sd[g] * sd[g]
        m2 += wg * (s2 + d * d)
        m3 += wg * d * (d * d + 3 * s2)
        m4 += wg * (d ** 4 + 6 * d * d * s2 + 3 * s2 * s2)
    spread = math.sqrt(m2)
    g1 = m3 / m2 ** 1.5 if m2 > 0 else 0.0
    g2 = m4 / (m2 * m2) - 3.0 if m2 > 0 else 0.0
    cf = z + (z * z - 1) * g1 / 6 + (z ** 3 - 3 * z) * g2 / 24 - (2 * z ** 3 - 5 * z) * g1 * g1 / 36
    x = min(max(big + spread * cf, lo), hi)
    steps = np.full(3, np.inf)
    for it in range(200):
        f = -q
        dens = 0.0
        slope = 0.0
        curve = 0.0
        for g in range(n):
            wg = w[g]
            if wg < w_min:
                continue
            s = sd[g]
            if s > 0:
                zz = (x - mean[g]) / s
                f += wg * _ndtr(zz)
                pg = wg * math.exp(-0.5 * zz * zz) * _INV_SQRT_2PI / s
                dens += pg
                slope -= pg * zz / s
                curve += pg * (zz * zz - 1.0) / (s * s)
            elif x >= mean[g]:
                f += wg
        if abs(f) < 1e-15:
            break
        if f < 0:
            lo = x
        else:
            hi = x
        halley = x - 2 * f * dens / (2 * dens * dens - f * slope)
        newton = x - f / dens
        if abs(halley) < np.inf and lo <= halley <= hi:
            new = halley
        elif abs(newton) < np.inf and lo <= newton <= hi:
            new = newton
        else:
            new = 0.5 * (lo + hi)
        if abs(new - x) > 0.5 * steps[(it + 1) % 3]:  # steps that do not shrink: bisect
            new = 0.5 * (lo + hi)
        step = abs(new - x)
        steps[it % 3] = step
        # Halley's error after the step is ~K·step³ (K from the derivatives at x): a small
        # enough step is final without another evaluation of the mixture.
        err_k = abs(slope * slope / (4 * dens * dens) - curve / (6 * dens))
        done = step <= tol * (abs(x) + spread) or (
            new == halley and step <= 1e-3 * spread
            and err_k * step ** 3 <= 0.01 * tol * (abs(x) + spread))
        x = new
        if done:
            break
    return x


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def mixture_quantile(w, mean, sd, z, q, tol, w_min, out):
    """Return the ``q`` quantile of ``Σ wⱼ N(meanⱼ, sdⱼ²)`` per column (``z = Φ⁻¹(q)``).

    The same start, safeguarded Halley iteration and stopping rules as the NumPy reference, over the
    components of weight ≥ ``w_min``.
    """
    m = w.shape[1]
    for j in prange(m):
        out[j] = _mixture_quantile_col(np.ascontiguousarray(w[:, j]), np.ascontiguousarray(mean[:, j]),
                                       np.ascontiguousarray(sd[:, j]), z, q, tol, w_min)


@njit(cache=True, nogil=True, error_model="numpy")
def _tail(log_f_end, lg0, lg1, slope_hi, eps):
    """:meth:`~betameta.kernels.exact.TauGrid.tail_integral` of one column."""
    if log_f_end == -np.inf or lg0 == -np.inf:
        return 0.0
    rho = (lg1 - lg0) / _LOG10
    rate = -(slope_hi + 1.0 + rho)
    if not rate > eps:
        return np.inf
    return math.exp(log_f_end + lg0) / rate


@njit(cache=True, nogil=True, error_model="numpy")
def _legendre(x, n_max, p):
    """``P_0(x) … P_n_max(x)`` into ``p`` (Bonnet's recurrence)."""
    p[0] = 1.0
    if n_max >= 1:
        p[1] = x
    for n in range(1, n_max):
        p[n + 1] = ((2 * n + 1) * x * p[n] - n * p[n - 1]) / (n + 1)


@njit(cache=True, nogil=True, error_model="numpy")
def _panel_cdf(c, x, p):
    """``∫₋₁ˣ Σ cₙPₙ`` and ``Σ cₙPₙ(x)`` (``∫₋₁ˣ Pₙ = (Pₙ₊₁ − Pₙ₋₁)/(2n + 1)``, n ≥ 1)."""
    order = c.shape[0]
    _legendre(x, order, p)
    val = c[0] * (x + 1.0)
    dens = c[0]
    for n in range(1, order):
        val += c[n] * (p[n + 1] - p[n - 1]) / (2 * n + 1)
        dens += c[n] * p[n]
    return val, dens


@njit(cache=True, nogil=True, error_model="numpy")
def _tau_quantile(q, w, gw, edges, panel_cdf, vander, c, p):
    """:meth:`~betameta.kernels.exact.TauGrid.quantile` of one column.

    The panel holding ``q``, its Legendre series of the CDF (the normalised integrand at node g of the
    panel is its weight over ``gw[g]``), 8 bisections and 6 guarded Newton steps.
    """
    order = gw.shape[0]
    n_panels = panel_cdf.shape[0] - 1
    idx = 0
    for i in range(1, n_panels):
        if q > panel_cdf[i]:
            idx += 1
    idx = min(max(idx, 0), n_panels - 1)
    base = panel_cdf[idx]
    for n in range(order):
        acc = 0.0
        for g in range(order):
            acc += vander[g, n] * w[g * n_panels + idx]
        c[n] = acc * (2 * n + 1) / 2.0
    lo, hi = -1.0, 1.0
    for _ in range(8):
        mid = 0.5 * (lo + hi)
        if base + _panel_cdf(c, mid, p)[0] < q:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    for _ in range(6):
        val, dens = _panel_cdf(c, t, p)
        f = base + val - q
        if f < 0:
            lo = t
        else:
            hi = t
        step = t - f / dens if dens != 0.0 else np.nan
        t = step if (step >= lo and step <= hi) else 0.5 * (lo + hi)
    a, b = edges[idx], edges[idx + 1]
    return math.exp(0.5 * (a + b) + 0.5 * (b - a) * t)


#: Rows of :func:`grid_summaries`' output, in order.
SUMMARY_ROWS = ("log_marginal", "tau_mean", "tau_median", "tau_ci_low", "tau_ci_high", "mu_mean",
                "mu_sd", "mu_ci_low", "mu_ci_high", "beta_f_mean", "beta_f_sd", "zeta2_mean",
                "proper")


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def grid_summaries(t_all, lp, edges, x, gw, vander, y, v, mu_mean, mu_sd, support, slope_lo,
                   slope_hi, probs, z_lo, z_hi, eps, w_min, out):
    """Every posterior summary of :func:`~betameta.kernels.bayes.bayes_arrays`.

    One column at a time from the quadrature's nodes, without the (n, m) arrays NumPy builds.

    ``t_all`` (G·P + 2, m): τ at the Gauss nodes of each panel (node g of panel p at
    g·P + p; ``edges`` (P + 1, m) in log τ) and at the two tail probes; ``lp``
    (G·P + 1, m): the prior's log density at the nodes and the first probe (the last
    edge); ``support`` = the prior's (lo, hi). The conditionals given τ are evaluated here.
    The steps and formulas are those of :func:`~betameta.kernels.exact.tau_grid`,
    :class:`~betameta.kernels.exact.TauGrid` and :func:`~betameta.kernels.exact.mixtures`,
    which are the reference. ``probs`` = (q_low, 0.5, q_high); ``out`` (13, m), rows
    :data:`SUMMARY_ROWS` (proper as 1.0/0.0; everything NaN where improper).
    """
    order = gw.shape[0]
    n_panels = edges.shape[0] - 1
    k, m = y.shape
    n = order * n_panels
    log_gw = np.log(gw)
    mu_proper = mu_sd < np.inf
    lo_s, hi_s = support[0], support[1]
    log_hi = math.log(hi_s) if hi_s < np.inf else np.inf
    for j in prange(m):
        proper = slope_hi[j] < -1.0 - eps and slope_lo[j] > -1.0 + eps
        if not proper:
            for r in range(out.shape[0] - 1):
                out[r, j] = np.nan
            out[out.shape[0] - 1, j] = 0.0
            continue
        ys = np.empty(k)
        vs = np.empty(k)
        vt = np.empty(k)
        wt = np.empty(k)
        kk = _present(y, v, j, ys, vs)
        mu_hat = np.empty(n + 2)
        var = np.empty(n + 2)
        lf = np.empty(n)
        lf_end = -np.inf
        for g in range(n + 2):
            t = t_all[g, j]
            ll, mu_hat[g], var[g] = _conditional_at(t * t, ys, vs, kk, mu_mean, mu_sd, vt, wt)
            if g <= n:
                post = lp[g, j] + ll
                if not (t >= lo_s and t <= hi_s and abs(post) < np.inf):
                    post = -np.inf
                if g < n:
                    lf[g] = post + math.log(t)
                elif edges[n_panels, j] < log_hi:
                    lf_end = post + edges[n_panels, j]
        log_half = np.empty(n_panels)
        for pp in range(n_panels):
            log_half[pp] = math.log(0.5 * (edges[pp + 1, j] - edges[pp, j]))
        w = np.empty(n)
        top = -np.inf
        for g in range(order):
            for pp in range(n_panels):
                val = lf[g * n_panels + pp] + log_gw[g] + log_half[pp]
                w[g * n_panels + pp] = val
                if val > top:
                    top = val
        acc = 0.0
        for i in range(n):
            w[i] = math.exp(w[i] - top)
            acc += w[i]
        log_z = top + math.log(acc)
        panel_cdf = np.zeros(n_panels + 1)
        for i in range(n):
            w[i] /= acc
        for pp in range(n_panels):
            mass = 0.0
            for g in range(order):
                mass += w[g * n_panels + pp]
            panel_cdf[pp + 1] = panel_cdf[pp] + mass
        log_f_end = lf_end - log_z
        s_hi = slope_hi[j]
        t_end, t_far = t_all[n, j], t_all[n + 1, j]
        lt0, lt1 = math.log(t_end), math.log(t_far)
        fin1 = s_hi + 1.0 < -1.0 - eps
        fin2 = s_hi + 2.0 < -1.0 - eps
        # τ: mean with its tail, quantiles on the panel interpolants
        body = 0.0
        for i in range(n):
            body += w[i] * t_all[i, j]
        out[0, j] = log_z
        out[1, j] = body + _tail(log_f_end, lt0, lt1, s_hi, eps) if fin1 else np.inf
        ej = np.ascontiguousarray(edges[:, j])
        c = np.empty(order)
        pbuf = np.empty(order + 1)
        for r, q in enumerate((probs[1], probs[0], probs[2])):  # median, low, high
            out[2 + r, j] = _tau_quantile(q, w, gw, ej, panel_cdf, vander, c, pbuf)
        # µ: the normal mixture over the nodes, its tail from the probes
        means = mu_hat[:n]
        sds = np.empty(n)
        for i in range(n):
            sds[i] = math.sqrt(var[i])
        tm0, tm1 = mu_hat[n], mu_hat[n + 1]
        ts0, ts1 = math.sqrt(var[n]), math.sqrt(var[n + 1])
        mean_mu = _mixture_mean(w, means, tm0, tm1, log_f_end, s_hi, eps)
        out[5, j] = mean_mu if (fin1 or mu_proper) else np.nan
        out[6, j] = (_mixture_sd(w, means, sds, tm0, tm1, ts0, ts1, mean_mu, log_f_end, s_hi, eps)
                     if (fin2 or mu_proper) else np.inf)
        out[7, j] = _mixture_quantile_col(w, means, sds, z_lo, probs[0], 1e-13, w_min)
        out[8, j] = _mixture_quantile_col(w, means, sds, z_hi, probs[2], 1e-13, w_min)
        # βF and ζ²: their conditionals at the nodes and probes
        aa = np.empty(k)
        _fixed_weights(vs, kk, aa)
        bf_m = np.empty(n + 2)
        bf_s = np.empty(n + 2)
        zeta2 = 0.0
        for g in range(n + 2):
            m_bf, var_bf, z2g = _beta_f_at(t_all[g, j] * t_all[g, j], mu_hat[g], var[g], ys, vs, aa, kk)
            bf_m[g] = m_bf
            bf_s[g] = math.sqrt(var_bf)
            if g < n:
                zeta2 += w[g] * z2g
        mean_bf = _mixture_mean(w, bf_m[:n], bf_m[n], bf_m[n + 1], log_f_end, s_hi, eps)
        out[9, j] = mean_bf
        out[10, j] = _mixture_sd(w, bf_m[:n], bf_s[:n], bf_m[n], bf_m[n + 1], bf_s[n], bf_s[n + 1],
                                 mean_bf, log_f_end, s_hi, eps)
        out[11, j] = zeta2
        out[12, j] = 1.0


@njit(cache=True, nogil=True, error_model="numpy")
def _log_pos(x):
    return math.log(x) if x > 0 else -np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def _mixture_mean(w, means, tm0, tm1, log_f_end, s_hi, eps):
    """:meth:`~betameta.kernels.exact.Mixture._mean` of one column."""
    body = 0.0
    for i in range(w.shape[0]):
        body += w[i] * means[i]
    pos = _tail(log_f_end, _log_pos(tm0), _log_pos(tm1), s_hi, eps)
    neg = _tail(log_f_end, _log_pos(-tm0), _log_pos(-tm1), s_hi, eps)
    return body + pos - neg


@njit(cache=True, nogil=True, error_model="numpy")
def _mixture_sd(w, means, sds, tm0, tm1, ts0, ts1, centre, log_f_end, s_hi, eps):
    """:meth:`~betameta.kernels.exact.Mixture.sd` of one column (before the existence rule)."""
    body = 0.0
    for i in range(w.shape[0]):
        body += w[i] * (sds[i] * sds[i] + (means[i] - centre) ** 2)
    g0 = ts0 * ts0 + (tm0 - centre) ** 2
    g1 = ts1 * ts1 + (tm1 - centre) ** 2
    return math.sqrt(body + _tail(log_f_end, _log_pos(g0), _log_pos(g1), s_hi, eps))
