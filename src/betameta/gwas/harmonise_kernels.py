"""Compiled row loops of harmonisation (numba): one pass over a study where NumPy would
make a dozen whole-array temporaries. The rules they apply are stated in
:mod:`.harmonise`; these functions only hold the loops.

Arrays of allele ids index ``valid`` (made of A/C/G/T only) and ``comp`` (id of the
strand complement). Keys are int64, -1 for a row without a position (or rsid).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Output slots of :func:`align_study`'s counts.
ALIGN_COUNTS = ("palindromic_strand_flip", "allele_mismatch", "palindromic_ambiguous", "aligned_same",
                "aligned_swapped", "aligned_strand_flip", "kept")
PALINDROMIC_RULES = ("freq", "drop", "keep")


@njit(cache=True, nogil=True)
def position_keys(chrom_codes, chrom_table, pos):
    """chromosome code · 1e10 + position; -1 where either is missing (code -1 or NaN)."""
    n = pos.size
    key = np.empty(n, np.int64)
    missing = chrom_table.size - 1
    for i in range(n):
        c = chrom_codes[i]
        chrom = chrom_table[c if c >= 0 else missing]
        p = pos[i]
        key[i] = chrom * 10_000_000_000 + np.int64(p) if chrom >= 0 and np.isfinite(p) else -1
    return key


@njit(cache=True, nogil=True)
def clean_rows(key, ea_codes, ea_table, oa_codes, oa_table, valid, beta, se):
    """The rows that pass the row-wise checks, in file order.

    Returns ``(rows, keys, ea, oa, counts, is_sorted)``: the rows kept, their keys and
    allele ids, ``counts`` = (malformed_allele, no_position, non_finite) and whether the
    kept keys are non-decreasing. A code of -1 (missing allele) takes the table's last
    entry, the id of the empty string (not valid).
    """
    n = key.size
    rows = np.empty(n, np.int64)
    keys = np.empty(n, np.int64)
    ea = np.empty(n, np.int32)
    oa = np.empty(n, np.int32)
    counts = np.zeros(3, np.int64)
    last_ea, last_oa = ea_table.size - 1, oa_table.size - 1
    kept = 0
    is_sorted = True
    for i in range(n):
        c = ea_codes[i]
        a = ea_table[c if c >= 0 else last_ea]
        c = oa_codes[i]
        o = oa_table[c if c >= 0 else last_oa]
        if not (valid[a] and valid[o] and a != o):
            counts[0] += 1
            continue
        k = key[i]
        if k < 0:
            counts[1] += 1
            continue
        b, s = beta[i], se[i]
        if not (np.isfinite(b) and s > 0 and s < np.inf):
            counts[2] += 1
            continue
        if kept and k < keys[kept - 1]:
            is_sorted = False
        rows[kept] = i
        keys[kept] = k
        ea[kept] = a
        oa[kept] = o
        kept += 1
    return rows[:kept], keys[:kept], ea[:kept], oa[:kept], counts, is_sorted


@njit(cache=True, nogil=True)
def drop_repeats(keys, ea, oa, rows):
    """Sorted keys: a key carrying more than one allele pair (unordered) is multi-allelic and
    all its rows go; otherwise a repeated key keeps its first row (duplicates).

    Compacts the arrays in place; returns ``(n_kept, n_multi_allelic, n_duplicate)``.
    """
    n = keys.size
    out = 0
    multi = dup = 0
    i = 0
    while i < n:
        j = i + 1
        lo, hi = min(ea[i], oa[i]), max(ea[i], oa[i])
        differs = False
        while j < n and keys[j] == keys[i]:
            if min(ea[j], oa[j]) != lo or max(ea[j], oa[j]) != hi:
                differs = True
            j += 1
        if differs:
            multi += j - i
        else:
            dup += j - i - 1
            keys[out], ea[out], oa[out], rows[out] = keys[i], ea[i], oa[i], rows[i]
            out += 1
        i = j
    return out, multi, dup


@njit(cache=True, nogil=True)
def merge_union(ukey, uholder, urow, uea, uoa, ufreq, skey, srow, sea, soa, freq, j):
    """Sorted union of the variants seen so far with a study's sorted unique keys; a new
    variant takes its holder (study ``j``), row, allele ids and the frequency of that row."""
    n_u, n_s = ukey.size, skey.size
    new = 0
    a = 0
    for b in range(n_s):
        while a < n_u and ukey[a] < skey[b]:
            a += 1
        if a == n_u or ukey[a] != skey[b]:
            new += 1
    m = n_u + new
    key = np.empty(m, np.int64)
    holder = np.empty(m, np.int16)
    row = np.empty(m, np.int64)
    e = np.empty(m, np.int32)
    o = np.empty(m, np.int32)
    f = np.empty(m, np.float64)
    a = b = 0
    for out in range(m):
        if b == n_s or (a < n_u and ukey[a] <= skey[b]):
            if b < n_s and ukey[a] == skey[b]:
                b += 1
            key[out], holder[out], row[out] = ukey[a], uholder[a], urow[a]
            e[out], o[out], f[out] = uea[a], uoa[a], ufreq[a]
            a += 1
        else:
            r = srow[b]
            key[out], holder[out], row[out] = skey[b], j, r
            e[out], o[out], f[out] = sea[b], soa[b], freq[r]
            b += 1
    return key, holder, row, e, o, f


@njit(cache=True, nogil=True)
def align_study(ukey, uholder, uea, uoa, ufreq, skey, srow, sea, soa, beta, se, freq, comp, j,
                rule, band, beta_out, se_out, eaf_out):
    """Align study ``j``'s kept rows to the union's alleles and write its output columns
    (NaN where it lacks a variant or a row is dropped). ``rule``: index into
    :data:`PALINDROMIC_RULES`. Returns the counts named by :data:`ALIGN_COUNTS`.
    """
    counts = np.zeros(len(ALIGN_COUNTS), np.int64)
    n_u = ukey.size
    u = 0
    for i in range(skey.size):
        while ukey[u] != skey[i]:
            beta_out[u] = se_out[u] = eaf_out[u] = np.nan
            u += 1
        e, o, a1, a2 = sea[i], soa[i], uea[u], uoa[u]
        r = srow[i]
        f = freq[r]
        same = e == a1 and o == a2
        swap = e == a2 and o == a1
        pal = comp[e] == o
        sign = 1.0 if same else (-1.0 if swap else np.nan)
        if not (same or swap) and not pal:
            ec, oc = comp[e], comp[o]
            if ec == a1 and oc == a2:
                sign = 1.0
                counts[5] += 1
            elif ec == a2 and oc == a1:
                sign = -1.0
                counts[5] += 1
        f_al = 1.0 - f if sign < 0 else f
        if pal and (same or swap):  # a palindrome matching neither way is a plain mismatch
            other = uholder[u] != j
            if rule == 1 and other:
                sign = np.nan
            elif rule == 0:
                fr = ufreq[u]
                clear = (abs(f - 0.5) > band and abs(fr - 0.5) > band) or not other
                flip = clear and other and (f_al > 0.5) != (fr > 0.5)
                if not clear:
                    sign = np.nan
                elif flip:
                    sign = -sign
                    f_al = 1.0 - f_al
                    counts[0] += 1
        if np.isnan(sign):
            counts[2 if pal and (same or swap) else 1] += 1
            beta_out[u] = se_out[u] = eaf_out[u] = np.nan
        else:
            counts[3] += same
            counts[4] += swap
            counts[6] += 1
            beta_out[u] = beta[r] * sign
            se_out[u] = se[r]
            eaf_out[u] = f_al
        u += 1
    for v in range(u, n_u):
        beta_out[v] = se_out[v] = eaf_out[v] = np.nan
    return counts
