"""Compiled per-variant kernel of the partition model (numba, parallel over variants).

For cluster c with ``S_c = Σ bᵢ/vᵢ`` and ``W_c = Σ 1/vᵢ`` (one matrix product for all
clusters), integrating the shared effect ``β_c ~ N(µ, τ²)`` and then
``µ ~ N(0, ψ²)`` gives the Bayes factor of partition Z against the null (all β = 0):

``log BF(Z, τ²) = Σ_c [−½ log(1 + τ²W_c) + ½ a_c τ² S_c²] − ½ log(1 + ψ²B) + ψ²A²/(2(1 + ψ²B))``

with ``a_c = 1/(1 + τ²W_c)``, ``A = Σ a_c S_c``, ``B = Σ a_c W_c``. Given (Z, τ²),
``µ ~ N(A s², s²)`` with ``s² = ψ²/(1 + ψ²B)``, and
``β_c ~ N(a_c(m_µ + τ²S_c), τ²a_c + a_c² s²)``. τ² is integrated on per-variant
Gauss–Legendre nodes in ``log τ²`` (see :mod:`.model`); below the first node the
integrand is ``BF(Z, 0) · p(τ²)`` to relative ``O(τ²W)`` and is added analytically.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _one_variant(b, v, u, logw, log_tail, psi2, membership_idx, membership_ptr, part_ptr,
                 part_clusters, study_cluster, log_prior, one_cluster, n_clusters_of,
                 out_scalars, out_mean, out_sd, out_cocl, want_cocl):
    n_cl = membership_ptr.size - 1
    n_part = part_ptr.size - 1
    k = b.size
    G = u.size
    S = np.zeros(n_cl)
    W = np.zeros(n_cl)
    for c in range(n_cl):
        for j in range(membership_ptr[c], membership_ptr[c + 1]):
            i = membership_idx[j]
            S[c] += b[i] / v[i]
            W[c] += 1.0 / v[i]
    s_tot = 0.0
    w_tot = 0.0
    for i in range(k):
        s_tot += b[i] / v[i]
        w_tot += 1.0 / v[i]
    # τ² = 0: every partition collapses to one common effect.
    lp0 = -0.5 * np.log1p(psi2 * w_tot) + psi2 * s_tot * s_tot / (2.0 * (1.0 + psi2 * w_tot))
    acc = np.empty((n_part, G + 1))
    L = np.empty(n_cl)
    Ac = np.empty(n_cl)
    Bc = np.empty(n_cl)
    for g in range(G):
        t = np.exp(u[g])
        for c in range(n_cl):
            tw = t * W[c]
            a = 1.0 / (1.0 + tw)
            L[c] = -0.5 * np.log1p(tw) + 0.5 * a * t * S[c] * S[c]
            Ac[c] = a * S[c]
            Bc[c] = a * W[c]
        for p in range(n_part):
            sl = 0.0
            sa = 0.0
            sb = 0.0
            for j in range(part_ptr[p], part_ptr[p + 1]):
                c = part_clusters[j]
                sl += L[c]
                sa += Ac[c]
                sb += Bc[c]
            acc[p, g] = (sl - 0.5 * np.log1p(psi2 * sb)
                         + psi2 * sa * sa / (2.0 * (1.0 + psi2 * sb)) + logw[g])
    for p in range(n_part):
        acc[p, G] = lp0 + log_tail
    # log BF(Z) = logsumexp over nodes; posterior over partitions.
    log_bf_part = np.empty(n_part)
    for p in range(n_part):
        mx = acc[p, 0]
        for g in range(1, G + 1):
            mx = max(mx, acc[p, g])
        sm = 0.0
        for g in range(G + 1):
            sm += np.exp(acc[p, g] - mx)
        log_bf_part[p] = mx + np.log(sm)
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
    # Per-study effects: mixture over (partition, node) of the conditional normals.
    m1 = np.zeros(k)
    m2 = np.zeros(k)
    for p in range(n_part):
        wp = post[p] - total
        if wp < -40.0:
            continue
        if want_cocl:
            w_part = np.exp(wp)
            for i in range(k):
                for j in range(k):
                    if study_cluster[p, i] == study_cluster[p, j]:
                        out_cocl[i, j] += w_part
        for g in range(G + 1):
            w = np.exp(wp + acc[p, g] - log_bf_part[p])
            if w < 1e-18:
                continue
            t = np.exp(u[g]) if g < G else 0.0
            sa = 0.0
            sb = 0.0
            for j in range(part_ptr[p], part_ptr[p + 1]):
                c = part_clusters[j]
                a = 1.0 / (1.0 + t * W[c])
                sa += a * S[c]
                sb += a * W[c]
            s2 = psi2 / (1.0 + psi2 * sb)
            m_mu = sa * s2
            for i in range(k):
                c = study_cluster[p, i]
                a = 1.0 / (1.0 + t * W[c])
                mean = a * (m_mu + t * S[c])
                var = t * a + a * a * s2
                m1[i] += w * mean
                m2[i] += w * (var + mean * mean)
    for i in range(k):
        out_mean[i] = m1[i]
        out_sd[i] = np.sqrt(max(m2[i] - m1[i] * m1[i], 0.0))


@njit(parallel=True, cache=True)
def partition_kernel(b, v, u, logw, log_tail, psi2, membership_idx, membership_ptr, part_ptr,
                     part_clusters, study_cluster, log_prior, one_cluster, n_clusters_of,
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
        _one_variant(b[r], v[r], u[r], logw[r], log_tail[r], psi2, membership_idx, membership_ptr,
                     part_ptr, part_clusters, study_cluster, log_prior, one_cluster,
                     n_clusters_of, scalars[r], mean[r], sd[r], cocl[slot], want_cocl)
    return scalars, mean, sd, cocl
