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
from typing import Literal

import numpy as np
import pandas as pd

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

    def codes(self, series: pd.Series) -> np.ndarray:
        """Ids of a column (strings or categorical), looking up each distinct value once."""
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes, uniq = series.cat.codes.to_numpy(), series.cat.categories
        else:
            codes, uniq = pd.factorize(series, use_na_sentinel=True)
        table = np.array([self._add(str(u).upper()) for u in uniq] + [self._add("")], dtype=np.int64)
        return table[np.where(codes >= 0, codes, len(uniq))]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.valid, bool), np.array(self.comp, np.int64)


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


def _chrom_code(chrom: pd.Series, table: dict[str, int]) -> np.ndarray:
    if isinstance(chrom.dtype, pd.CategoricalDtype):
        codes, uniq = chrom.cat.codes.to_numpy(), chrom.cat.categories
    else:
        codes, uniq = pd.factorize(chrom, use_na_sentinel=True)
    lookup = np.array([table.get(str(u), -1) for u in uniq] + [-1], dtype=np.int64)
    return lookup[np.where(codes >= 0, codes, len(uniq))]


def _first_in_group(key: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Stable sort by key: the order (None when the keys already ascend, as in files sorted
    by position), group starts and each row's group (in sorted position)."""
    order = None if key.size < 2 or bool((key[1:] >= key[:-1]).all()) else np.argsort(key, kind="stable")
    ks = key if order is None else key[order]
    start = np.ones(ks.size, bool)
    start[1:] = ks[1:] != ks[:-1]
    return order, start, np.cumsum(start, dtype=np.int64) - 1


def _clean(df: pd.DataFrame, key: np.ndarray, ea: np.ndarray, oa: np.ndarray, valid: np.ndarray,
           counts: dict[str, int]) -> dict[str, np.ndarray]:
    """Drop and count bad rows; return the study's surviving rows (sorted by key) as arrays."""
    counts["rows"] = len(df)
    ok_allele = valid[ea] & valid[oa] & (ea != oa)
    counts["malformed_allele"] = int((~ok_allele).sum())
    has_pos = (key >= 0) & ok_allele
    counts["no_position"] = int((~has_pos & ok_allele).sum())
    beta = df["beta"].to_numpy(dtype=float)
    se = df["standard_error"].to_numpy(dtype=float)
    finite = np.isfinite(beta) & np.isfinite(se) & (se > 0)
    counts["non_finite"] = int((has_pos & ~finite).sum())
    keep = np.flatnonzero(has_pos & finite)
    order, start, group = _first_in_group(key[keep])
    if order is not None:
        keep = keep[order]
    key, ea, oa = key[keep], ea[keep], oa[keep]
    # A position carrying two allele pairs is multi-allelic (all its rows go); a repeated
    # variant keeps its first row.
    lo, hi = np.minimum(ea, oa), np.maximum(ea, oa)
    differs = np.zeros(key.size, bool)
    differs[1:] = ~start[1:] & ((lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1]))
    multi_group = np.zeros(group[-1] + 1 if group.size else 0, bool)
    multi_group[group[differs]] = True
    is_multi = multi_group[group]
    counts["multi_allelic"] = int(is_multi.sum())
    dup = ~start & ~is_multi
    counts["duplicate"] = int(dup.sum())
    rows = np.flatnonzero(~is_multi & ~dup)
    # Row numbers only: values are taken from the study's columns when aligned, so no
    # second copy of every study is held at once.
    return {"key": key[rows], "ea": ea[rows], "oa": oa[rows], "row": keep[rows]}


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

        def key_of(df: pd.DataFrame) -> np.ndarray:
            chrom = _chrom_code(df["chromosome"], chrom_table)
            pos = df["base_pair_location"].to_numpy(dtype=float)
            ok = (chrom >= 0) & np.isfinite(pos)
            return np.where(ok, chrom * 10_000_000_000 + np.nan_to_num(pos).astype(np.int64), -1)
    else:
        ids: dict[str, int] = {}

        def key_of(df: pd.DataFrame) -> np.ndarray:
            codes, uniq = pd.factorize(df["rsid"], use_na_sentinel=True)
            table = np.array([ids.setdefault(str(u), len(ids)) if str(u) != "nan" else -1
                              for u in uniq] + [-1], dtype=np.int64)
            return table[np.where(codes >= 0, codes, len(uniq))]

    # Ids and keys in order (the vocabularies grow as they go); the rest per study in
    # threads: NumPy releases the GIL, and each study writes only its own column.
    keys_in = [key_of(studies[s]) for s in names]
    ea_in = [vocab.codes(studies[s]["effect_allele"]) for s in names]
    oa_in = [vocab.codes(studies[s]["other_allele"]) for s in names]
    valid, comp = vocab.arrays()
    threads = min(len(names), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        cleaned = list(pool.map(_clean, [studies[s] for s in names], keys_in, ea_in, oa_in,
                                [valid] * len(names), [counts[s] for s in names]))
    del keys_in, ea_in, oa_in

    # The first study holding a variant fixes its alleles; variants sorted by key
    # (chromosome code · 1e10 + position, or first-seen rsid order).
    union = _Union()
    for j, c in enumerate(cleaned):
        union.add(j, c)
    keys, holder, r1, r2 = union.key, union.holder, union.ea, union.oa
    m, k = keys.size, len(names)
    # Column-major: each study's column is written (and later read per chunk) contiguously.
    beta = np.full((m, k), np.nan, order="F")
    se = np.full((m, k), np.nan, order="F")
    eaf = np.full((m, k), np.nan, order="F")
    # The reference frequency of a variant is that of the study fixing its alleles (the
    # study's own orientation), so each study can be aligned independently.
    ref_freq = np.empty(m)
    for j, s_name in enumerate(names):
        mine = holder == j
        ref_freq[mine] = studies[s_name]["effect_allele_frequency"].to_numpy(dtype=float)[union.row[mine]]

    def align(j: int) -> None:
        c = cleaned[j]
        rows = np.searchsorted(keys, c["key"])  # each kept row's variant
        ea, oa, take = c["ea"], c["oa"], c["row"]
        df = studies[names[j]]
        a1, a2 = r1[rows], r2[rows]
        ea_c, oa_c = comp[ea], comp[oa]
        palin = ea_c == oa
        same = (ea == a1) & (oa == a2)
        swap = (ea == a2) & (oa == a1)
        comp_same = ~palin & (ea_c == a1) & (oa_c == a2)
        comp_swap = ~palin & (ea_c == a2) & (oa_c == a1)
        sign = np.where(same | comp_same, 1.0, np.where(swap | comp_swap, -1.0, np.nan))
        f = df["effect_allele_frequency"].to_numpy(dtype=float)[take]
        f_aligned = np.where(sign < 0, 1 - f, f)
        n = counts[names[j]]
        is_ref = holder[rows] == j  # this study fixed the variant's alleles
        if palindromic == "drop":
            sign = np.where(palin & ~is_ref, np.nan, sign)
        elif palindromic == "freq":
            fr = ref_freq[rows]
            # Same side of 0.5 as the reference after alignment: same strand; the
            # other side: the study is on the other strand, so flip once more.
            clear = ((np.abs(f - 0.5) > band) & (np.abs(fr - 0.5) > band)) | is_ref
            agree = (f_aligned > 0.5) == (fr > 0.5)
            flip = palin & clear & ~agree & ~is_ref
            sign = np.where(palin & ~clear, np.nan, np.where(flip, -sign, sign))
            f_aligned = np.where(flip, 1 - f_aligned, f_aligned)
            n["palindromic_strand_flip"] = int(flip.sum())
        dropped = np.isnan(sign)
        n["allele_mismatch"] = int((dropped & ~palin).sum())
        n["palindromic_ambiguous"] = int((dropped & palin).sum())
        n["aligned_same"] = int((same & ~dropped).sum())
        n["aligned_swapped"] = int((swap & ~dropped).sum())
        n["aligned_strand_flip"] = int((comp_same | comp_swap).sum())
        keep = ~dropped
        n["kept"] = int(keep.sum())
        r = rows[keep]
        beta[r, j] = (df["beta"].to_numpy(dtype=float)[take] * sign)[keep]
        se[r, j] = df["standard_error"].to_numpy(dtype=float)[take][keep]
        eaf[r, j] = f_aligned[keep]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(align, range(k)))
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
    return Harmonised(names, variants, beta, se, eaf, counts)


def _gather(studies: dict[str, pd.DataFrame], names: tuple[str, ...], col: str, holder: np.ndarray,
            rows: np.ndarray) -> pd.Series:
    """``studies[names[holder[i]]][col][rows[i]]`` for every variant i, taken with Arrow (no
    Python objects per row)."""
    import pyarrow as pa

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
