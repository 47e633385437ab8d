"""Compiled per-variant kernel of the partition model (numba, parallel over variants).

For cluster c with ``S_c = Σ bᵢ/vᵢ`` and ``W_c = Σ 1/vᵢ`` (one matrix product for all
clusters), integrating the shared effect ``β_c ~ N(µ, τ²)`` and then
``µ ~ N(0, ψ²)`` gives the Bayes factor of partition Z against the null (all β = 0):

``log BF(Z, τ²) = Σ_c [−½ log(1 + τ²W_c) + ½ a_c τ² S_c²] − ½ log(1 + ψ²B) + ψ²A²/(2(1 + ψ²B))``

with ``a_c = 1/(1 + τ²W_c)``, ``A = Σ a_c S_c``, ``B = Σ a_c W_c``. Given (Z, τ²),
``µ ~ N(A s², s²)`` with ``s² = ψ²/(1 + ψ²B)``, and
``β_c ~ N(a_c(m_µ + τ²S_c), τ²a_c + a_c² s²)``. τ² is integrated on per-variant
Gauss–Legendre nodes built per variant inside the kernel (:func:`_nodes`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _log_prior_tau2(t, prior):
    # prior = (family, a, b, const, log_upper, fixed): family 0 is Gamma(a, rate b), whose log
    # density is const + (a − 1) log t − b t; family 1 is U(0, exp(log_upper)).
    if prior[0] == 0.0:
        return prior[3] + (prior[1] - 1.0) * np.log(t) - prior[2] * t
    return -prior[4] if t <= np.exp(prior[4]) else -np.inf


@njit(cache=True, nogil=True)
def _nodes(v, prior, x1n, w1n, xn, wn, n_last, t, logw):
    """Quadrature over τ² for one variant; returns the number of nodes written to t, logw.

    4-point Gauss–Legendre in τ² on [0, 1/ΣW] (the integrand is nearly constant there),
    then 8-point panels in u = log τ² on [1/ΣW, 1/min W] and six equal panels up to the
    prior's 1 − 1e-15 quantile: 60 nodes. A point-mass prior is one node.
    """
    if prior[5] >= 0.0:
        t[0] = prior[5]
        logw[0] = 0.0
        return 1
    wsum = 0.0
    wmax_v = 0.0
    for i in range(v.size):
        wsum += 1.0 / v[i]
        wmax_v = max(wmax_v, v[i])
    hi = prior[4]
    e1 = min(-np.log(wsum), hi - 1e-9)
    e2 = min(max(np.log(wmax_v), e1), hi)
    x1 = np.exp(e1)
    g = 0
    for j in range(x1n.size):
        t[g] = 0.5 * x1 * (1.0 + x1n[j])
        logw[g] = np.log(0.5 * x1 * w1n[j]) + _log_prior_tau2(t[g], prior)
        g += 1
    for panel in range(n_last + 1):
        if panel == 0:
            a, b = e1, e2
        else:
            a = e2 + (hi - e2) * (panel - 1) / n_last
            b = e2 + (hi - e2) * panel / n_last
        half = 0.5 * (b - a)
        mid = 0.5 * (a + b)
        for j in range(xn.size):
            u = mid + half * xn[j]
            t[g] = np.exp(u)
            logw[g] = np.log(half * wn[j]) + _log_prior_tau2(t[g], prior) + u
            g += 1
    return g


@njit(cache=True, nogil=True)
def _one_variant(b, v, prior, x1n, w1n, xn, wn, n_last, psi2, membership_idx, membership_ptr,
                 part_ptr, part_clusters, study_cluster, log_prior, one_cluster, n_clusters_of,
                 out_scalars, out_mean, out_sd, out_cocl, want_cocl):
    # Work per (partition, node) is one sqrt and one exp: the log-determinant terms are
    # carried as a product, R = [Π_c (1 + τ²W_c) · (1 + ψ²B)]^(-1/2), and only the
    # quadratic exponent E goes through exp. Cluster terms are shared by all partitions.
    n_cl = membership_ptr.size - 1
    n_part = part_ptr.size - 1
    k = b.size
    t = np.empty(x1n.size + xn.size * (n_last + 1))
    logw = np.empty(t.size)
    G = _nodes(v, prior, x1n, w1n, xn, wn, n_last, t, logw)
    S = np.zeros(n_cl)
    W = np.zeros(n_cl)
    for c in range(n_cl):
        for j in range(membership_ptr[c], membership_ptr[c + 1]):
            i = membership_idx[j]
            S[c] += b[i] / v[i]
            W[c] += 1.0 / v[i]
    a_cache = np.empty((G, n_cl))
    E = np.empty((n_part, G))
    R = np.empty((n_part, G))
    s2 = np.empty((n_part, G))
    mmu = np.empty((n_part, G))
    one_p = np.empty(n_cl)
    q = np.empty(n_cl)
    aS = np.empty(n_cl)
    aW = np.empty(n_cl)
    for g in range(G):
        tg = t[g]
        for c in range(n_cl):
            one_p[c] = 1.0 + tg * W[c]
            a = 1.0 / one_p[c]
            a_cache[g, c] = a
            aS[c] = a * S[c]
            aW[c] = a * W[c]
            q[c] = 0.5 * tg * aS[c] * S[c]
        lw = logw[g]
        for p in range(n_part):
            prod = 1.0
            sq = 0.0
            sa = 0.0
            sb = 0.0
            for j in range(part_ptr[p], part_ptr[p + 1]):
                c = part_clusters[j]
                prod *= one_p[c]
                sq += q[c]
                sa += aS[c]
                sb += aW[c]
            inv_d = 1.0 / (1.0 + psi2 * sb)
            s2[p, g] = psi2 * inv_d
            mmu[p, g] = sa * s2[p, g]
            E[p, g] = sq + 0.5 * sa * mmu[p, g] + lw
            R[p, g] = np.sqrt(inv_d / prod)
    # log BF(Z) per partition, then the posterior over partitions.
    log_bf_part = np.empty(n_part)
    for p in range(n_part):
        mx = E[p, 0]
        for g in range(1, G):
            mx = max(mx, E[p, g])
        sm = 0.0
        for g in range(G):
            x = E[p, g] - mx
            e = R[p, g] * np.exp(x) if x > -40.0 else 0.0  # below e^-40 of the largest term
            E[p, g] = e  # keep the term for the weights below
            sm += e
        log_bf_part[p] = mx + np.log(sm)
        for g in range(G):
            E[p, g] /= sm
    post = log_prior + log_bf_part
    mx = post.max()
    total = mx + np.log(np.sum(np.exp(post - mx)))
    p_het = 0.0
    best = 0
    for p in range(n_part):
        if post[p] > post[best]:
            best = p
        if n_clusters_of[p] > 1:
            p_het += np.exp(post[p] - total)
    out_scalars[0] = total
    out_scalars[1] = log_bf_part[one_cluster]
    out_scalars[2] = p_het
    out_scalars[3] = best
    # Per-study effects: mixture over (partition, node) of the conditional normals
    # β_c | Z, τ², data ~ N(a_c(m_µ + τ²S_c), τ²a_c + a_c²s²). Weights are first summed
    # per (node, cluster) over the partitions holding that cluster, so the per-study
    # work does not grow with the number of partitions.
    W1 = np.zeros((G, n_cl))
    M1 = np.zeros((G, n_cl))
    M2 = np.zeros((G, n_cl))
    for p in range(n_part):
        wp = post[p] - total
        if wp < -37.0:
            continue
        w_part = np.exp(wp)
        if want_cocl:
            for i in range(k):
                for j in range(k):
                    if study_cluster[p, i] == study_cluster[p, j]:
                        out_cocl[i, j] += w_part
        for g in range(G):
            w = w_part * E[p, g]
            if w < 1e-17:
                continue
            mm = mmu[p, g]
            m2 = w * (mm * mm + s2[p, g])
            for j in range(part_ptr[p], part_ptr[p + 1]):
                c = part_clusters[j]
                W1[g, c] += w
                M1[g, c] += w * mm
                M2[g, c] += m2
    m1 = np.zeros(k)
    m2s = np.zeros(k)
    for c in range(n_cl):
        e1 = 0.0
        e2 = 0.0
        for g in range(G):
            if W1[g, c] == 0.0:
                continue
            a = a_cache[g, c]
            ts = t[g] * S[c]
            # E[mean] and E[var + mean²] with mean = a(m_µ + τ²S), var = τ²a + a²s².
            e1 += a * (M1[g, c] + ts * W1[g, c])
            e2 += W1[g, c] * t[g] * a + a * a * (M2[g, c] + 2.0 * ts * M1[g, c] + ts * ts * W1[g, c])
        for j in range(membership_ptr[c], membership_ptr[c + 1]):
            i = membership_idx[j]
            m1[i] += e1
            m2s[i] += e2
    for i in range(k):
        out_mean[i] = m1[i]
        out_sd[i] = np.sqrt(max(m2s[i] - m1[i] * m1[i], 0.0))


@njit(parallel=True, cache=True)
def partition_kernel(b, v, prior, x1n, w1n, xn, wn, n_last, psi2, membership_idx, membership_ptr,
                     part_ptr, part_clusters, study_cluster, log_prior, one_cluster, n_clusters_of,
                     want_cocl):
    """Run :func:`_one_variant` for every row of ``b``/``v`` (shape (m, k)) in parallel.

    Returns scalars (m, 4): log BF, log BF(C = 1), P(C > 1), MAP partition index;
    effect means and sds (m, k); co-clustering (m, k, k) when ``want_cocl``.
    """
    m, k = b.shape
    scalars = np.empty((m, 4))
    mean = np.empty((m, k))
    sd = np.empty((m, k))
    cocl = np.zeros((m if want_cocl else 1, k, k))
    for r in prange(m):
        slot = np.int64(r) if want_cocl else np.int64(0)
        _one_variant(b[r], v[r], prior, x1n, w1n, xn, wn, n_last, psi2, membership_idx,
                     membership_ptr, part_ptr, part_clusters, study_cluster, log_prior, one_cluster,
                     n_clusters_of, scalars[r], mean[r], sd[r], cocl[slot], want_cocl)
    return scalars, mean, sd, cocl
