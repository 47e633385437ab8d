"""Compiled loops of :mod:`betameta.kernels.asset` (numba).

The exact subset search in Gray-code order and the DLM sums, per variant, held equal to the NumPy reference
there.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True, nogil=True, error_model="numpy")
def _search(z, w, r, n, one_tail):
    """Best subset of the first ``n`` studies by |Z| (or by Z, ``one_tail``): its bitmask and Z."""
    rw = np.zeros(n)
    mask = 0
    a = 0.0
    var = 0.0
    best_mask = 0
    best_z = math.nan
    best_score = -math.inf
    for g in range(1, 1 << n):
        j = 0
        while not (g >> j) & 1:  # the study that changes: g's lowest set bit
            j += 1
        if (mask >> j) & 1:  # leaves S
            for i in range(n):
                rw[i] -= r[i, j] * w[j]
            var -= 2.0 * w[j] * rw[j] + w[j] * w[j]
            a -= w[j] * z[j]
        else:  # joins S
            var += 2.0 * w[j] * rw[j] + w[j] * w[j]
            for i in range(n):
                rw[i] += r[i, j] * w[j]
            a += w[j] * z[j]
        mask ^= 1 << j
        zs = a / math.sqrt(var)
        score = zs if one_tail else abs(zs)
        if score > best_score:
            best_score = score
            best_z = zs
            best_mask = mask
    return best_mask, best_z


@njit(cache=True, nogil=True, error_model="numpy")
def _dlm(t, w, r, n, x, e, one_tail):
    """Return the DLM sum of :func:`betameta.kernels.asset._dlm_reference` over the first ``n`` studies.

    ``x`` (N, n) the draws of those studies.
    """
    samples = e.shape[0]
    lam = max(t, 1.0)
    rw = np.empty(n)
    den = np.empty(n)
    zc = np.empty(n)
    total = 0.0
    for mask in range(1, 1 << n):
        var = 0.0
        for i in range(n):
            acc = 0.0
            for jj in range(n):
                if (mask >> jj) & 1:
                    acc += r[i, jj] * w[jj]
            rw[i] = acc
            if (mask >> i) & 1:
                var += w[i] * acc
        root = math.sqrt(var)
        single = (mask & (mask - 1)) == 0
        for j in range(n):  # the neighbours' variances: study j flipped
            if (mask >> j) & 1:
                den[j] = math.sqrt(var - 2.0 * w[j] * rw[j] + w[j] * w[j]) if not single else 0.0
            else:
                den[j] = math.sqrt(var + 2.0 * w[j] * rw[j] + w[j] * w[j])
        acc_sub = 0.0
        for q in range(samples):
            s = t + e[q] / lam
            ux = 0.0
            for i in range(n):
                if (mask >> i) & 1:
                    ux += w[i] * x[q, i]
            ux /= root
            shift = s - ux
            good = True
            for i in range(n):
                zc[i] = x[q, i] + rw[i] / root * shift
                if one_tail and zc[i] < 0.0:
                    good = False
            if not good:
                continue
            top = s * root  # Σ_S wᵢzᵢ = s·√V by construction
            for j in range(n):
                if (mask >> j) & 1:
                    if single:
                        continue
                    zt = (top - w[j] * zc[j]) / den[j]
                else:
                    zt = (top + w[j] * zc[j]) / den[j]
                if (zt > s) if one_tail else (abs(zt) > s):
                    good = False
                    break
            if good:
                acc_sub += math.exp(-0.5 * s * s - _LOG_SQRT_2PI + e[q]) / lam
        total += acc_sub / samples
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def asset_columns(z, w, ok, r, identity, g, e, subset, pos, neg, best, dlm):
    """Fill ``subset``, ``pos``, ``neg`` (k, m) and ``best``.

    ``dlm`` (3, m) as :func:`betameta.kernels.asset._reference_column` does, for every column; ``g`` the
    standard normal draws (samples, k), correlated per search by the Cholesky factor of its studies' ``r``
    unless ``identity``.
    """
    k, m = z.shape
    samples = e.shape[0]
    idx = np.empty(k, np.int64)
    zc = np.empty(k)
    wc = np.empty(k)
    rc = np.empty((k, k))
    xc = np.empty((samples, k))
    for j in range(m):
        for slot in range(3):
            n = 0
            for i in range(k):
                side_ok = slot == 0 or (slot == 1 and z[i, j] >= 0.0) or (slot == 2 and z[i, j] < 0.0)
                if ok[i, j] and side_ok:
                    idx[n] = i
                    n += 1
            if n == 0:
                continue
            for a in range(n):
                zc[a] = -z[idx[a], j] if slot == 2 else z[idx[a], j]
                wc[a] = w[idx[a], j]
                for b in range(n):
                    rc[a, b] = r[idx[a], idx[b]]
            if identity:
                xc[:, :n] = g[:, :n]
            else:
                low = np.linalg.cholesky(np.ascontiguousarray(rc[:n, :n]))
                for q in range(samples):
                    for a in range(n):
                        acc = 0.0
                        for b in range(a + 1):
                            acc += g[q, b] * low[a, b]
                        xc[q, a] = acc
            one_tail = slot > 0
            mask, zb = _search(zc, wc, rc, n, one_tail)
            for a in range(n):
                if (mask >> a) & 1:
                    if slot == 0:
                        subset[idx[a], j] = True
                    elif slot == 1:
                        pos[idx[a], j] = True
                    else:
                        neg[idx[a], j] = True
            best[slot, j] = zb
            dlm[slot, j] = _dlm(abs(zb) if slot == 0 else zb, wc, rc, n, xc, e, one_tail)
