"""Matching variants across studies and aligning them to one effect allele.

Rules (METAL's, with palindromes made explicit):

* a study's rows are dropped, and counted by reason, when alleles are not made
  of A/C/G/T or are equal (``malformed_allele``), the position or rsid is
  missing (``no_position``), beta or SE is not finite or SE ≤ 0
  (``non_finite``), a position carries more than one allele pair
  (``multi_allelic``, all its rows), or a variant repeats (``duplicate``, all
  but the first);
* variants are keyed by chromosome:position (by rsid when any study lacks
  positions); the first study holding a variant fixes its effect and other
  allele;
* in every study: same alleles: kept; swapped: beta × −1 and frequency 1 − f;
  strand complement (non-palindromic pairs only): as if on the same strand;
  anything else: ``allele_mismatch``;
* palindromic pairs (A/T, C/G) cannot reveal a strand flip. ``palindromic=
  "freq"`` (default) keeps one when both its frequency and the reference
  study's are known and outside [0.4, 0.6], and orients it by which side of 0.5
  they fall (``palindromic_ambiguous`` otherwise); ``"drop"`` drops them all
  (except in the reference study); ``"keep"`` assumes the same strand.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InputError

__all__ = ["Harmonised", "harmonise"]

_COMP = str.maketrans("ACGT", "TGCA")
_CHROM_ORDER = {str(i): i for i in range(1, 23)} | {"X": 23, "Y": 24, "XY": 25, "MT": 26, "M": 26}
DROP_REASONS = ("malformed_allele", "no_position", "non_finite", "multi_allelic", "duplicate",
                "allele_mismatch", "palindromic_ambiguous")


@dataclass(frozen=True)
class Harmonised:
    """Studies aligned on one set of variants (rows sorted by chromosome and position).

    ``variants``: chromosome, base_pair_location, effect_allele, other_allele (and rsid).
    ``beta``, ``se``, ``eaf``: (M, k) arrays, NaN where a study lacks the variant.
    ``counts``: per study, rows read, kept, each drop reason and each alignment kind.
    """

    studies: tuple[str, ...]
    variants: pd.DataFrame
    beta: np.ndarray
    se: np.ndarray
    eaf: np.ndarray
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def m(self) -> int:
        return len(self.variants)


class _Vocab:
    """Global integer ids for allele strings, with validity and strand complement per id."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.valid: list[bool] = []
        self.comp: list[int] = []

    def _add(self, allele: str) -> int:
        i = self.ids.get(allele)
        if i is None:
            i = self.ids[allele] = len(self.valid)
            ok = len(allele) > 0 and set(allele) <= set("ACGT")
            self.valid.append(ok)
            self.comp.append(-1)
            if ok:
                self.comp[i] = self._add(allele.translate(_COMP))
        return i

    def lookup(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, table)``: ``table[codes]`` is each row's id, each distinct value looked up
        once (the table's last entry is the id of a missing value, code -1)."""
        codes, uniq = _codes(series)
        return codes, np.array([self._add(str(u).upper()) for u in uniq] + [self._add("")], np.int32)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.valid, bool), np.array(self.comp, np.int32)


def _chrom_codes(studies: dict[str, pd.DataFrame]) -> dict[str, int]:
    """One code per chromosome name over all studies: 1-22, X, Y, XY, MT in order, then any
    other contig names alphabetically (the same code in every study)."""
    names: set[str] = set()
    for df in studies.values():
        if "chromosome" in df:
            col = df["chromosome"]
            uniq = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col.unique()
            names.update(str(u) for u in uniq if not pd.isna(u))
    unusual = sorted(n for n in names if n not in _CHROM_ORDER and n != "nan")
    return {n: _CHROM_ORDER.get(n, -1) for n in names} | {n: 100 + i for i, n in enumerate(unusual)}


def _codes(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 for missing) and the distinct values of a column."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), series.cat.categories
    return pd.factorize(series, use_na_sentinel=True)


def _position_key(df: pd.DataFrame, table: dict[str, int]) -> np.ndarray:
    """chromosome code · 1e10 + position; -1 where either is missing."""
    codes, uniq = _codes(df["chromosome"])
    chrom = np.array([table.get(str(u), -1) for u in uniq] + [-1], np.int64)[codes]
    pos = df["base_pair_location"].to_numpy(dtype=float)
    ok = (chrom >= 0) & np.isfinite(pos)
    return np.where(ok, chrom * 10_000_000_000 + np.where(ok, pos, 0).astype(np.int64), -1)


def _clean(df: pd.DataFrame, key_of, ea: tuple[np.ndarray, np.ndarray], oa: tuple[np.ndarray, np.ndarray],
           valid: np.ndarray, counts: dict[str, int]) -> dict[str, np.ndarray]:
    """Drop and count bad rows; return the study's surviving rows (sorted by key) as arrays.

    ``key_of()`` gives each row's key; ``ea`` and ``oa`` are ``(codes, table)`` of allele ids.
    """
    key = key_of()
    ea, oa = ea[1][ea[0]], oa[1][oa[0]]
    n = counts["rows"] = len(df)
    ok = valid[ea]
    ok &= valid[oa]
    ok &= ea != oa
    counts["malformed_allele"] = n - int(np.count_nonzero(ok))
    has_pos = key >= 0
    counts["no_position"] = int(np.count_nonzero(ok & ~has_pos))
    ok &= has_pos
    beta = df["beta"].to_numpy(dtype=float)
    se = df["standard_error"].to_numpy(dtype=float)
    finite = np.isfinite(beta)
    finite &= se > 0
    finite &= se < np.inf
    counts["non_finite"] = int(np.count_nonzero(ok & ~finite))
    ok &= finite
    keep = np.flatnonzero(ok)
    key = key[keep]
    if key.size > 1 and not bool((key[1:] >= key[:-1]).all()):
        order = np.argsort(key, kind="stable")
        keep, key = keep[order], key[order]
    ea, oa = ea[keep], oa[keep]
    # A position carrying two allele pairs is multi-allelic (all its rows go); a repeated
    # variant keeps its first row. Only rows whose key repeats need a look.
    repeated = np.flatnonzero(key[1:] == key[:-1]) + 1
    counts["multi_allelic"] = counts["duplicate"] = 0
    if repeated.size:
        involved = np.union1d(repeated - 1, repeated)
        k_sub, lo, hi = key[involved], np.minimum(ea, oa)[involved], np.maximum(ea, oa)[involved]
        start = np.ones(involved.size, bool)
        start[1:] = k_sub[1:] != k_sub[:-1]
        group = np.cumsum(start) - 1
        differs = np.zeros(involved.size, bool)
        differs[1:] = ~start[1:] & ((lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1]))
        multi_group = np.zeros(group[-1] + 1, bool)
        multi_group[group[differs]] = True
        is_multi = multi_group[group]
        dup = ~start & ~is_multi
        counts["multi_allelic"] = int(is_multi.sum())
        counts["duplicate"] = int(dup.sum())
        gone = np.zeros(key.size, bool)
        gone[involved[is_multi | dup]] = True
        rows = np.flatnonzero(~gone)
        key, ea, oa, keep = key[rows], ea[rows], oa[rows], keep[rows]
    # Row numbers only: values are taken from the study's columns when aligned, so no
    # second copy of every study is held at once.
    return {"key": key, "ea": ea, "oa": oa, "row": keep}


@dataclass
class _Union:
    """The variants seen so far, sorted by key, with the study that first held each (it fixes
    the alleles), its row there and its allele ids."""

    key: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    holder: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))
    row: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    ea: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    oa: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def add(self, j: int, study: dict[str, np.ndarray]) -> None:
        """Merge a study's sorted keys in: a linear merge (searchsorted on sorted queries and
        one mask), not a sort of every study's rows together."""
        key = study["key"]
        at = np.searchsorted(self.key, key)
        seen = at < self.key.size
        seen[seen] = self.key[at[seen]] == key[seen]
        new = np.flatnonzero(~seen)
        is_new = np.zeros(self.key.size + new.size, bool)
        is_new[at[new] + np.arange(new.size)] = True
        for name, add in (("key", key[new]), ("holder", np.full(new.size, j)),
                          ("row", study["row"][new]), ("ea", study["ea"][new]),
                          ("oa", study["oa"][new])):
            old = getattr(self, name)
            merged = np.empty(is_new.size, old.dtype)
            merged[is_new] = add
            merged[~is_new] = old
            setattr(self, name, merged)


def harmonise(
    studies: dict[str, pd.DataFrame],
    palindromic: Literal["freq", "drop", "keep"] = "freq",
    band: float = 0.1,
) -> Harmonised:
    """Clean each study, match variants across studies and align their alleles."""
    if palindromic not in ("freq", "drop", "keep"):
        raise ValueError(f"palindromic={palindromic!r} is not one of freq, drop, keep")
    if len(studies) < 1:
        raise InputError("no studies given")
    names = tuple(studies)
    by_position = all(df["base_pair_location"].notna().any() if "base_pair_location" in df else False
                      for df in studies.values())
    if not by_position and not all("rsid" in df for df in studies.values()):
        raise InputError("some studies have no positions and some no rsid: cannot match variants")
    counts: dict[str, dict[str, int]] = {s: {} for s in names}
    vocab = _Vocab()
    if by_position:
        chrom_table = _chrom_codes(studies)
        key_jobs = [partial(_position_key, studies[s], chrom_table) for s in names]
    else:
        # rsids get ids in first-seen order over the studies: one study after another.
        ids: dict[str, int] = {}
        key_jobs = []
        for s_name in names:
            codes, uniq = _codes(studies[s_name]["rsid"])
            table = np.array([ids.setdefault(str(u), len(ids)) if str(u) != "nan" else -1
                              for u in uniq] + [-1], dtype=np.int64)
            key_jobs.append(partial(np.take, table, codes))

    # Allele ids in order (the vocabulary grows as it goes, one lookup per distinct value);
    # every row-wise step per study in threads: NumPy releases the GIL.
    ea_in = [vocab.lookup(studies[s]["effect_allele"]) for s in names]
    oa_in = [vocab.lookup(studies[s]["other_allele"]) for s in names]
    valid, comp = vocab.arrays()
    threads = min(len(names), os.cpu_count() or 1)
    # The first study holding a variant fixes its alleles; variants sorted by key
    # (chromosome code · 1e10 + position, or first-seen rsid order). Each study is merged
    # in as soon as it is clean, while the next ones are cleaned.
    union = _Union()
    cleaned = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for j, c in enumerate(pool.map(_clean, [studies[s] for s in names], key_jobs, ea_in, oa_in,
                                       [valid] * len(names), [counts[s] for s in names])):
            union.add(j, c)
            cleaned.append(c)
    keys, holder, r1, r2 = union.key, union.holder, union.ea, union.oa
    m, k = keys.size, len(names)
    # Column-major: each study's column is written (and later read per chunk) contiguously.
    # Filled with NaN column by column in the threads below (first touch of fresh memory
    # is slow on virtual machines: let both cores take it).
    beta = np.empty((m, k), order="F")
    se = np.empty((m, k), order="F")
    eaf = np.empty((m, k), order="F")
    # The reference frequency of a variant is that of the study fixing its alleles (the
    # study's own orientation), so each study can be aligned independently.
    ref_freq = np.empty(m)
    for j, s_name in enumerate(names):
        mine = holder == j
        ref_freq[mine] = studies[s_name]["effect_allele_frequency"].to_numpy(dtype=float)[union.row[mine]]

    def align(j: int) -> None:
        c, n, df = cleaned[j], counts[names[j]], studies[names[j]]
        rows = np.searchsorted(keys, c["key"])  # each kept row's variant
        ea, oa, take = c["ea"], c["oa"], c["row"]
        a1, a2 = r1[rows], r2[rows]
        same = (ea == a1) & (oa == a2)
        swap = (ea == a2) & (oa == a1)
        sign = same - swap.astype(float)  # +1 same, -1 swapped, 0 to be settled
        # Neither same nor swapped (a minority): a strand flip, or a mismatch.
        rest = np.flatnonzero(sign == 0)
        ea_c, oa_c, ar1, ar2 = comp[ea[rest]], comp[oa[rest]], a1[rest], a2[rest]
        pal_rest = ea_c == oa[rest]
        comp_same = ~pal_rest & (ea_c == ar1) & (oa_c == ar2)
        comp_swap = ~pal_rest & (ea_c == ar2) & (oa_c == ar1)
        sign[rest] = np.where(comp_same, 1.0, np.where(comp_swap, -1.0, np.nan))
        f = df["effect_allele_frequency"].to_numpy(dtype=float)[take]
        f_aligned = np.where(sign < 0, 1 - f, f)
        # Palindromic pairs (a minority too) under the chosen rule; the study fixing a
        # variant's alleles agrees with itself.
        pal = np.flatnonzero(comp[ea] == oa)
        other = holder[rows[pal]] != j
        if palindromic == "drop":
            sign[pal[other]] = np.nan
        elif palindromic == "freq":
            fp, fr, sp = f[pal], ref_freq[rows[pal]], sign[pal]
            # Same side of 0.5 as the reference after alignment: same strand; the
            # other side: the study is on the other strand, so flip once more.
            clear = ((np.abs(fp - 0.5) > band) & (np.abs(fr - 0.5) > band)) | ~other
            agree = (f_aligned[pal] > 0.5) == (fr > 0.5)
            flip = clear & ~agree & other
            sign[pal] = np.where(~clear, np.nan, np.where(flip, -sp, sp))
            f_aligned[pal[flip]] = 1 - f_aligned[pal[flip]]
            n["palindromic_strand_flip"] = int(flip.sum())
        dropped = np.isnan(sign)
        n_pal_dropped = int(np.count_nonzero(dropped[pal]))
        n["allele_mismatch"] = int(np.count_nonzero(dropped)) - n_pal_dropped
        n["palindromic_ambiguous"] = n_pal_dropped
        n["aligned_same"] = int(np.count_nonzero(same & ~dropped))
        n["aligned_swapped"] = int(np.count_nonzero(swap & ~dropped))
        n["aligned_strand_flip"] = int(np.count_nonzero(comp_same | comp_swap))
        keep = np.flatnonzero(~dropped)
        n["kept"] = int(keep.size)
        r = rows[keep]
        beta[:, j] = se[:, j] = eaf[:, j] = np.nan
        beta[r, j] = df["beta"].to_numpy(dtype=float)[take[keep]] * sign[keep]
        se[r, j] = df["standard_error"].to_numpy(dtype=float)[take[keep]]
        eaf[r, j] = f_aligned[keep]

    def variant_table() -> pd.DataFrame:
        # Every variant keeps its allele-fixing row (that study agrees with itself), so no
        # variant is left empty and rows need no filtering here.
        variants = pd.DataFrame(index=pd.RangeIndex(m))
        if by_position:
            names_of = {}
            for name, code in sorted(chrom_table.items()):
                names_of.setdefault(code, name)
            chrom = keys // 10_000_000_000
            cats = np.flatnonzero(np.bincount(chrom))  # chromosome codes are small: no sort needed
            lookup = np.zeros(cats[-1] + 1 if cats.size else 1, np.int32)
            lookup[cats] = np.arange(cats.size)
            variants["chromosome"] = pd.Categorical.from_codes(
                lookup[chrom], categories=[names_of[int(c)] for c in cats])
            variants["base_pair_location"] = keys % 10_000_000_000
        else:
            for col in ("chromosome", "base_pair_location"):
                if all(col in studies[s] for s in names):
                    variants[col] = _gather(studies, names, col, holder, union.row)
            variants = variants.drop(columns=[c for c in ("chromosome", "base_pair_location")
                                              if c in variants and variants[c].isna().all()])
        if all("rsid" in studies[s] for s in names):
            variants["rsid"] = _gather(studies, names, "rsid", holder, union.row)
        alleles = list(vocab.ids)
        variants["effect_allele"] = pd.Categorical.from_codes(r1, categories=alleles)
        variants["other_allele"] = pd.Categorical.from_codes(r2, categories=alleles)
        variants["effect_allele"] = variants["effect_allele"].cat.remove_unused_categories()
        variants["other_allele"] = variants["other_allele"].cat.remove_unused_categories()
        return variants

    # The variant table is built beside the studies' alignment (they share nothing).
    with ThreadPoolExecutor(max_workers=threads) as pool:
        table = pool.submit(variant_table)
        list(pool.map(align, range(k)))
        variants = table.result()
    return Harmonised(names, variants, beta, se, eaf, counts)


def _gather(studies: dict[str, pd.DataFrame], names: tuple[str, ...], col: str, holder: np.ndarray,
            rows: np.ndarray) -> pd.Series:
    """``studies[names[holder[i]]][col][rows[i]]`` for every variant i, taken with Arrow (no
    Python objects per row)."""
    pieces, index = [], np.empty(holder.size, np.int64)
    done = 0
    for j, s_name in enumerate(names):
        sel = np.flatnonzero(holder == j)
        arr = pa.array(studies[s_name][col], from_pandas=True)
        if isinstance(arr, pa.ChunkedArray):  # a CSV reader's hundreds of blocks: take is slow on those
            arr = arr.combine_chunks()
        pieces.append(arr.take(rows[sel]))
        index[sel] = done + np.arange(sel.size)
        done += sel.size
    arr = pa.concat_arrays(pieces).take(index)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pd.Series(pd.arrays.ArrowStringArray(arr))
    return arr.to_pandas()
