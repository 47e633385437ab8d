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
    ``beta``, ``se``, ``eaf``, ``n``: (M, k) arrays, NaN where a study lacks the variant.
    ``counts``: per study, rows read, kept, each drop reason and each alignment kind.
    """

    studies: tuple[str, ...]
    variants: pd.DataFrame
    beta: np.ndarray
    se: np.ndarray
    eaf: np.ndarray
    n: np.ndarray
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def m(self) -> int:
        return len(self.variants)


def _chrom_code(chrom: pd.Series) -> np.ndarray:
    codes = chrom.map(_CHROM_ORDER)
    other = codes.isna()
    if other.any():  # unusual contig names: after the standard ones, in name order
        names = sorted(chrom[other].unique())
        codes[other] = chrom[other].map({c: 100 + i for i, c in enumerate(names)})
    return codes.to_numpy(dtype=np.int64)


def _clean(df: pd.DataFrame, by_position: bool, counts: dict[str, int]) -> pd.DataFrame:
    counts["rows"] = len(df)
    ea, oa = df["effect_allele"], df["other_allele"]
    ok_allele = ea.str.fullmatch("[ACGT]+") & oa.str.fullmatch("[ACGT]+") & (ea != oa)
    counts["malformed_allele"] = int((~ok_allele).sum())
    df = df[ok_allele.to_numpy()]
    if by_position:
        has_pos = df["base_pair_location"].notna() & df["chromosome"].notna() & (df["chromosome"] != "nan")
    else:
        has_pos = df["rsid"].notna() & (df["rsid"] != "nan")
    counts["no_position"] = int((~has_pos).sum())
    df = df[has_pos.to_numpy()]
    finite = np.isfinite(df["beta"]) & np.isfinite(df["standard_error"]) & (df["standard_error"] > 0)
    counts["non_finite"] = int((~finite).sum())
    df = df[finite.to_numpy()].copy()
    if by_position:
        df["key"] = _chrom_code(df["chromosome"]) * 10_000_000_000 + df["base_pair_location"].astype(np.int64)
    else:
        df["key"] = df["rsid"]
    lo = np.where(df["effect_allele"] < df["other_allele"], df["effect_allele"], df["other_allele"])
    hi = np.where(df["effect_allele"] < df["other_allele"], df["other_allele"], df["effect_allele"])
    pair = pd.Series(lo, index=df.index) + "/" + pd.Series(hi, index=df.index)
    pairs = pd.DataFrame({"key": df["key"], "pair": pair}).drop_duplicates()
    multi = pairs["key"][pairs["key"].duplicated()].unique()
    is_multi = df["key"].isin(multi)
    counts["multi_allelic"] = int(is_multi.sum())
    df = df[~is_multi.to_numpy()]
    dup = df["key"].duplicated()
    counts["duplicate"] = int(dup.sum())
    return df[~dup.to_numpy()]


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
    cleaned = [_clean(studies[s], by_position, counts[s]) for s in names]

    cols = ["key", "effect_allele", "other_allele"]
    extra = ["chromosome", "base_pair_location"] if by_position else []
    extra += ["rsid"] if all("rsid" in df for df in cleaned) else []
    ref = pd.concat([df[cols + extra].assign(_holder=j) for j, df in enumerate(cleaned)],
                    ignore_index=True)
    ref = ref.drop_duplicates("key", keep="first")
    if by_position:
        ref = ref.assign(_c=_chrom_code(ref["chromosome"])).sort_values(["_c", "base_pair_location"])
        ref = ref.drop(columns="_c")
    else:
        ref = ref.sort_values("key")
    ref = ref.reset_index(drop=True)
    index = pd.Index(ref["key"])
    m, k = len(ref), len(names)
    beta = np.full((m, k), np.nan)
    se = np.full((m, k), np.nan)
    eaf = np.full((m, k), np.nan)
    nn = np.full((m, k), np.nan)
    r1 = ref["effect_allele"].to_numpy()
    r2 = ref["other_allele"].to_numpy()
    holder = ref["_holder"].to_numpy()
    ref_freq = np.full(m, np.nan)
    for j, df in enumerate(cleaned):
        rows = index.get_indexer(df["key"])
        ea, oa = df["effect_allele"].to_numpy(), df["other_allele"].to_numpy()
        a1, a2 = r1[rows], r2[rows]
        ea_c = df["effect_allele"].str.translate(_COMP).to_numpy()
        oa_c = df["other_allele"].str.translate(_COMP).to_numpy()
        palin = ea_c == oa
        same = (ea == a1) & (oa == a2)
        swap = (ea == a2) & (oa == a1)
        comp_same = ~palin & (ea_c == a1) & (oa_c == a2)
        comp_swap = ~palin & (ea_c == a2) & (oa_c == a1)
        sign = np.where(same | comp_same, 1.0, np.where(swap | comp_swap, -1.0, np.nan))
        f = df["effect_allele_frequency"].to_numpy(dtype=float)
        f_aligned = np.where(sign < 0, 1 - f, f)
        c = counts[names[j]]
        is_ref = holder[rows] == j  # this study fixed the variant's alleles
        if palindromic != "keep":
            if palindromic == "drop":
                sign = np.where(palin & ~is_ref, np.nan, sign)
            else:
                fr = ref_freq[rows]
                # Same side of 0.5 as the reference after alignment: same strand; the
                # other side: the study is on the other strand, so flip once more.
                clear = ((np.abs(f - 0.5) > band) & (np.abs(fr - 0.5) > band)) | is_ref
                agree = (f_aligned > 0.5) == (fr > 0.5)
                flip = palin & clear & ~agree & ~is_ref
                sign = np.where(palin & ~clear, np.nan, np.where(flip, -sign, sign))
                f_aligned = np.where(flip, 1 - f_aligned, f_aligned)
                c["palindromic_strand_flip"] = int(flip.sum())
        mismatch = np.isnan(sign) & ~palin
        c["allele_mismatch"] = int(mismatch.sum())
        c["palindromic_ambiguous"] = int((np.isnan(sign) & palin).sum())
        c["aligned_same"] = int((same & ~np.isnan(sign)).sum())
        c["aligned_swapped"] = int((swap & ~np.isnan(sign)).sum())
        c["aligned_strand_flip"] = int((comp_same | comp_swap).sum())
        keep = ~np.isnan(sign)
        c["kept"] = int(keep.sum())
        r = rows[keep]
        beta[r, j] = (df["beta"].to_numpy() * sign)[keep]
        se[r, j] = df["standard_error"].to_numpy()[keep]
        eaf[r, j] = f_aligned[keep]
        nn[r, j] = df["n"].to_numpy(dtype=float)[keep]
        mine = (holder == j) & np.isnan(ref_freq)
        ref_freq[mine] = eaf[mine, j]
    present = ~np.isnan(beta).all(axis=1)
    variants = ref.loc[present, extra + ["effect_allele", "other_allele"]].reset_index(drop=True)
    return Harmonised(names, variants, beta[present], se[present], eaf[present], nn[present],
                      counts)
