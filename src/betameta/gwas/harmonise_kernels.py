"""Compiled row loops of harmonisation (numba).

One pass over a study where NumPy would make a dozen whole-array temporaries. The rules they apply are stated
in :mod:`.harmonise`; these functions only hold the loops.

Arrays of allele ids index ``valid`` (made of A/C/G/T only) and ``comp`` (id of the
strand complement). Keys are int64, -1 for a row without a position (or rsid).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Output slots of :func:`align_study`'s counts.
ALIGN_COUNTS = ("palindromic_strand_flip", "allele_mismatch", "palindromic_ambiguous", "aligned_same",
                "aligned_swapped", "aligned_strand_flip", "kept", "palindromic_kept")
#: How palindromic pairs of a study other than the reference are aligned: by frequency, not
#: at all, or as on the same strand.
PALINDROMIC_RULES = ("freq", "drop", "keep")


@njit(cache=True, nogil=True, inline="always")
def _row_key(codes, table, pos, i):
    """Row i's key: ``table[code] · 1e10 + position`` (``pos`` empty: ``table[code]``, the rsid's id).

    -1 where either is missing. A code of -1 takes the table's last entry, -1.
    """
    t = table[codes[i] if codes[i] >= 0 else table.size - 1]
    if pos.size == 0:
        return t
    p = pos[i]
    return t * 10_000_000_000 + np.int64(p) if t >= 0 and np.isfinite(p) else -1


@njit(cache=True, nogil=True)
def clean_rows(key_codes, key_table, pos, ea_codes, ea_table, oa_codes, oa_table, valid, beta, se,
               rows, keys, ea, oa):
    """Write the rows that pass the row-wise checks, in file order, to ``rows``, ``keys``.

    ``ea`` and ``oa`` (row numbers, keys as :func:`_row_key` makes them, allele ids; each at least as long
    as the study).

    Returns ``(kept, counts, is_sorted)``: how many rows were kept, ``counts`` =
    (malformed_allele, no_position, non_finite) and whether the kept keys are
    non-decreasing. A code of -1 (missing allele) takes the table's last entry, the id of
    the empty string (not valid).
    """
    counts = np.zeros(3, np.int64)
    last_ea, last_oa = ea_table.size - 1, oa_table.size - 1
    kept = 0
    is_sorted = True
    for i in range(beta.size):
        c = ea_codes[i]
        a = ea_table[c if c >= 0 else last_ea]
        c = oa_codes[i]
        o = oa_table[c if c >= 0 else last_oa]
        if not (valid[a] and valid[o] and a != o):
            counts[0] += 1
            continue
        k = _row_key(key_codes, key_table, pos, i)
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
    return kept, counts, is_sorted


@njit(cache=True, nogil=True)
def split_strays(keys, ea, oa, rows, s_keys, s_ea, s_oa, s_rows):
    """First half of sorting rows that are mostly in order: set the strays aside.

    For a file sorted but for a few rows, or chromosomes in text order (1, 10, 11, ..., 2, ...): the rows
    whose key is below the largest key before them ("strays") move to the ``s_`` arrays, in order; the others
    close up, in order (so non-decreasing), at the front. Returns how many of each.
    """
    n_main = n_stray = 0
    top = keys[0] if keys.size else 0
    for i in range(keys.size):
        k = keys[i]
        if k >= top:
            top = k
            keys[n_main], ea[n_main], oa[n_main], rows[n_main] = k, ea[i], oa[i], rows[i]
            n_main += 1
        else:
            s_keys[n_stray], s_ea[n_stray], s_oa[n_stray], s_rows[n_stray] = k, ea[i], oa[i], rows[i]
            n_stray += 1
    return n_main, n_stray


@njit(cache=True, nogil=True)
def merge_strays(keys, ea, oa, rows, n_main, s_keys, s_ea, s_oa, s_rows, order):
    """Second half of sorting rows that are mostly in order: merge the strays into the rest.

    Merge the strays (``order`` sorts them, stably) into the front rows, from the back, in place. A stray
    goes after front rows of the same key: those came first in the file (any front row after a stray has a
    larger key), so the result is the stable sort of the rows by key.
    """
    i, w = n_main - 1, n_main + order.size - 1
    for j in range(order.size - 1, -1, -1):
        t = order[j]
        while i >= 0 and keys[i] > s_keys[t]:
            keys[w], ea[w], oa[w], rows[w] = keys[i], ea[i], oa[i], rows[i]
            i -= 1
            w -= 1
        keys[w], ea[w], oa[w], rows[w] = s_keys[t], s_ea[t], s_oa[t], s_rows[t]
        w -= 1


@njit(cache=True, nogil=True)
def drop_repeats(keys, ea, oa, rows):
    """Drop multi-allelic and repeated keys from the sorted keys.

    A key carrying more than one allele pair (unordered) is multi-allelic and all its rows go; otherwise a
    repeated key keeps its first row (duplicates).

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
def union(keys, ea, oa, rows, starts, ends):
    """Return the variants over all studies, sorted by key.

    In one k-way merge of the studies' sorted unique keys (study j's at ``keys[starts[j]:ends[j]]``).

    Returns ``(key, holder, row, ea, oa)``: each variant's key, the first study holding it
    (it fixes the alleles), its row and allele ids there.
    """
    k = starts.size
    heads = starts.copy()
    cap = 0
    for j in range(k):
        cap += ends[j] - starts[j]
    ukey = np.empty(cap, np.int64)
    uholder = np.empty(cap, np.int16)
    urow = np.empty(cap, np.int64)
    uea = np.empty(cap, np.int32)
    uoa = np.empty(cap, np.int32)
    m = 0
    while True:
        best, holder = -1, -1
        for j in range(k):
            if heads[j] < ends[j] and (holder < 0 or keys[heads[j]] < best):
                best, holder = keys[heads[j]], j
        if holder < 0:
            break
        h = heads[holder]
        ukey[m], uholder[m], urow[m], uea[m], uoa[m] = best, holder, rows[h], ea[h], oa[h]
        m += 1
        for j in range(holder, k):
            if heads[j] < ends[j] and keys[heads[j]] == best:
                heads[j] += 1
    return ukey[:m], uholder[:m], urow[:m], uea[:m], uoa[:m]


@njit(cache=True, nogil=True)
def holder_values(holder, row, j, values, out):
    """``out[i] = values[row[i]]`` where study ``j`` holds variant i."""
    for i in range(holder.size):
        if holder[i] == j:
            out[i] = values[row[i]]


@njit(cache=True, nogil=True)
def align_study(ukey, uholder, uea, uoa, ufreq, skey, srow, sea, soa, freq, comp, j, rule, band, index_out):
    """Align study ``j``'s kept rows to the union's alleles and write its column of the variant index.

    ``±(row + 1)``, negative where the study's effect allele is the union's other allele, 0 where it lacks
    the variant or the row is dropped. ``rule``: index into :data:`PALINDROMIC_RULES`. Returns the counts
    named by :data:`ALIGN_COUNTS`.
    """
    counts = np.zeros(len(ALIGN_COUNTS), np.int64)
    n_u = ukey.size
    u = 0
    for i in range(skey.size):
        while ukey[u] != skey[i]:
            index_out[u] = 0
            u += 1
        e, o, a1, a2 = sea[i], soa[i], uea[u], uoa[u]
        r = srow[i]
        f = freq[r]
        same = e == a1 and o == a2
        swap = e == a2 and o == a1
        pal = comp[e] == o
        sign = 1 if same else (-1 if swap else 0)
        if not (same or swap) and not pal:
            ec, oc = comp[e], comp[o]
            if ec == a1 and oc == a2:
                sign = 1
                counts[5] += 1
            elif ec == a2 and oc == a1:
                sign = -1
                counts[5] += 1
        if pal and (same or swap):  # a palindrome matching neither way is a plain mismatch
            other = uholder[u] != j
            if rule == 1 and other:
                sign = 0
            elif rule == 0:
                fr = ufreq[u]
                f_al = 1.0 - f if sign < 0 else f
                clear = (abs(f - 0.5) > band and abs(fr - 0.5) > band) or not other
                if not clear:
                    sign = 0
                elif other and (f_al > 0.5) != (fr > 0.5):
                    sign = -sign
                    counts[0] += 1
        if sign == 0:
            counts[2 if pal and (same or swap) else 1] += 1
            index_out[u] = 0
        else:
            counts[3] += same
            counts[4] += swap
            counts[6] += 1
            counts[7] += pal
            index_out[u] = sign * (r + 1)
        u += 1
    for v in range(u, n_u):
        index_out[v] = 0
    return counts


@njit(cache=True, nogil=True)
def gather(index, beta, se, freq, beta_out, se_out, eaf_out):
    """One study's aligned values at :func:`align_study`'s ``index`` entries.

    Its beta (sign-flipped where the index is negative), SE and effect-allele frequency (1 − f there); NaN
    where the index is 0.
    """
    for i in range(index.size):
        c = index[i]
        if c == 0:
            beta_out[i] = se_out[i] = eaf_out[i] = np.nan
        elif c > 0:
            beta_out[i], se_out[i], eaf_out[i] = beta[c - 1], se[c - 1], freq[c - 1]
        else:
            beta_out[i], se_out[i], eaf_out[i] = -beta[-c - 1], se[-c - 1], 1.0 - freq[-c - 1]


@njit(cache=True, nogil=True)
def split_keys(keys, chrom, pos):
    """Position keys back into chromosome codes and positions."""
    for i in range(keys.size):
        chrom[i] = keys[i] // 10_000_000_000
        pos[i] = keys[i] % 10_000_000_000

