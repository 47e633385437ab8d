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


@njit(cache=True, nogil=True, inline="always")
def _exp_nonpositive(x):
    """exp(x) for x <= 0, relative error below 1e-13; 0 below −40 (negligible terms).

    exp(x) = (exp(x/256))^256: a degree-10 Taylor polynomial on [−0.16, 0] (remainder
    < 1e-17) squared 8 times (relative error × 256). Unlike a call to libm's exp it is
    plain arithmetic, so loops over the τ² nodes that use it are vectorised.
    """
    y = max(x, -40.0) * 0.00390625
    p = 1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (
        1.0 / 120.0 + y * (1.0 / 720.0 + y * (1.0 / 5040.0 + y * (
            1.0 / 40320.0 + y * (1.0 / 362880.0 + y * (1.0 / 3628800.0))))))))))
    for _ in range(8):
        p *= p
    return p if x >= -40.0 else 0.0


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
                 out_scalars, out_mean, out_sd, out_cocl, want_cocl, ws):
    # Loops run over the τ² nodes innermost, on contiguous rows, so that the compiler
    # vectorises them; per (partition, node) the work is one division, one sqrt and one
    # exp: the log-determinant terms are carried as a product,
    # R = [Π_c (1 + τ²W_c) · (1 + ψ²B)]^(-1/2), and only the quadratic exponent goes
    # through exp. Cluster terms are computed once and shared by all partitions.
    t, logw, ONEP, AC, AS, AW, Q, E, R, S2, MMU, prod, sq, sa, sb, W1, M1, M2 = ws
    n_cl = membership_ptr.size - 1
    n_part = part_ptr.size - 1
    k = b.size
    G = _nodes(v, prior, x1n, w1n, xn, wn, n_last, t, logw)
    S = np.zeros(n_cl)
    W = np.zeros(n_cl)
    for c in range(n_cl):
        for j in range(membership_ptr[c], membership_ptr[c + 1]):
            i = membership_idx[j]
            S[c] += b[i] / v[i]
            W[c] += 1.0 / v[i]
    for c in range(n_cl):
        Sc = S[c]
        Wc = W[c]
        onep = ONEP[c]
        ac = AC[c]
        as_ = AS[c]
        aw = AW[c]
        qc = Q[c]
        for g in range(G):
            o = 1.0 + t[g] * Wc
            a = 1.0 / o
            onep[g] = o
            ac[g] = a
            as_[g] = a * Sc
            aw[g] = a * Wc
            qc[g] = 0.5 * t[g] * a * Sc * Sc
    log_bf_part = np.empty(n_part)
    for p in range(n_part):
        for g in range(G):
            prod[g] = 1.0
            sq[g] = logw[g]
            sa[g] = 0.0
            sb[g] = 0.0
        for j in range(part_ptr[p], part_ptr[p + 1]):
            c = part_clusters[j]
            onep = ONEP[c]
            qc = Q[c]
            as_ = AS[c]
            aw = AW[c]
            for g in range(G):
                prod[g] *= onep[g]
                sq[g] += qc[g]
                sa[g] += as_[g]
                sb[g] += aw[g]
        e_p = E[p]
        r_p = R[p]
        s2_p = S2[p]
        mm_p = MMU[p]
        for g in range(G):
            inv_d = 1.0 / (1.0 + psi2 * sb[g])
            s2 = psi2 * inv_d
            mm = sa[g] * s2
            s2_p[g] = s2
            mm_p[g] = mm
            e_p[g] = sq[g] + 0.5 * sa[g] * mm
            r_p[g] = np.sqrt(inv_d / prod[g])
        mx = e_p[0]
        for g in range(1, G):
            mx = max(mx, e_p[g])
        for g in range(G):  # the terms, kept for the weights below
            e_p[g] = r_p[g] * _exp_nonpositive(e_p[g] - mx)
        sm = 0.0
        for g in range(G):
            sm += e_p[g]
        log_bf_part[p] = mx + np.log(sm)
        inv_sm = 1.0 / sm
        for g in range(G):
            e_p[g] *= inv_sm
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
    # per (cluster, node) over the partitions holding that cluster, so the per-study
    # work does not grow with the number of partitions.
    for c in range(n_cl):
        for g in range(G):
            W1[c, g] = 0.0
            M1[c, g] = 0.0
            M2[c, g] = 0.0
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
        e_p = E[p]
        s2_p = S2[p]
        mm_p = MMU[p]
        for g in range(G):  # reuse the partition's rows for w, w·m_µ, w·(m_µ² + s²)
            w = w_part * e_p[g]
            mm = mm_p[g]
            e_p[g] = w
            s2_p[g] = w * (mm * mm + s2_p[g])
            mm_p[g] = w * mm
        for j in range(part_ptr[p], part_ptr[p + 1]):
            c = part_clusters[j]
            w1 = W1[c]
            m1 = M1[c]
            m2 = M2[c]
            for g in range(G):
                w1[g] += e_p[g]
                m1[g] += mm_p[g]
                m2[g] += s2_p[g]
    m1s = np.zeros(k)
    m2s = np.zeros(k)
    for c in range(n_cl):
        e1 = 0.0
        e2 = 0.0
        ac = AC[c]
        w1 = W1[c]
        m1 = M1[c]
        m2 = M2[c]
        Sc = S[c]
        for g in range(G):
            a = ac[g]
            ts = t[g] * Sc
            # E[mean] and E[var + mean²] with mean = a(m_µ + τ²S), var = τ²a + a²s².
            e1 += a * (m1[g] + ts * w1[g])
            e2 += w1[g] * t[g] * a + a * a * (m2[g] + 2.0 * ts * m1[g] + ts * ts * w1[g])
        for j in range(membership_ptr[c], membership_ptr[c + 1]):
            i = membership_idx[j]
            m1s[i] += e1
            m2s[i] += e2
    for i in range(k):
        out_mean[i] = m1s[i]
        out_sd[i] = np.sqrt(max(m2s[i] - m1s[i] * m1s[i], 0.0))


@njit(cache=True, nogil=True)
def _workspace(n_nodes, n_cl, n_part):
    def mat(n):
        return np.empty((n, n_nodes))
    return (np.empty(n_nodes), np.empty(n_nodes), mat(n_cl), mat(n_cl), mat(n_cl), mat(n_cl),
            mat(n_cl), mat(n_part), mat(n_part), mat(n_part), mat(n_part), np.empty(n_nodes),
            np.empty(n_nodes), np.empty(n_nodes), np.empty(n_nodes), mat(n_cl), mat(n_cl), mat(n_cl))


_BLOCK = 256  # variants per parallel task: one workspace allocation serves them all


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
    n_nodes = x1n.size + xn.size * (n_last + 1)
    n_cl = membership_ptr.size - 1
    n_part = part_ptr.size - 1
    n_blocks = (m + _BLOCK - 1) // _BLOCK
    for blk in prange(n_blocks):
        ws = _workspace(n_nodes, n_cl, n_part)
        for r in range(blk * _BLOCK, min(m, (blk + 1) * _BLOCK)):
            slot = np.int64(r) if want_cocl else np.int64(0)
            _one_variant(b[r], v[r], prior, x1n, w1n, xn, wn, n_last, psi2, membership_idx,
                         membership_ptr, part_ptr, part_clusters, study_cluster, log_prior,
                         one_cluster, n_clusters_of, scalars[r], mean[r], sd[r], cocl[slot],
                         want_cocl, ws)
    return scalars, mean, sd, cocl
