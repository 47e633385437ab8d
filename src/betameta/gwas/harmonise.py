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
  "auto"`` (default) decides per study, from its non-palindromic variants: when
  at most 25% of them align by their strand complement the study is on the
  reference strand and its palindromes are kept as they are (METAL's rule);
  when at least 75% do, it is on the other strand and they are all flipped;
  in between (a study of mixed strands) each is oriented by frequency as
  ``"freq"`` does (the decision and the fraction are in the counts:
  ``strand``, ``strand_flip_fraction``). ``"freq"`` keeps one when both its
  frequency and the reference study's are known and outside [0.4, 0.6], and
  orients it by which side of 0.5 they fall (``palindromic_ambiguous``
  otherwise); ``"drop"`` drops them all (except in the reference study);
  ``"keep"`` assumes the same strand. A
  palindromic pair that is not the reference pair either way round (A/T against
  C/G) is an ``allele_mismatch`` under every rule.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InputError
from . import harmonise_kernels as kern
from .io import code_type

__all__ = ["Harmonised", "harmonise"]

_COMP = str.maketrans("ACGT", "TGCA")
_CHROM_ORDER = {str(i): i for i in range(1, 23)} | {"X": 23, "Y": 24, "XY": 25, "MT": 26, "M": 26}
#: Why a row is dropped ("filtered": by an input filter of the run, before harmonising).
#: The ``palindromic`` rules (module docstring); ``auto`` decides per study.
PALINDROMIC = ("auto", "freq", "drop", "keep")
#: A study is on the reference strand when at most 25% of its non-palindromic variants align
#: by their strand complement, on the other strand when at least 75% do, mixed in between.
STRAND_MIXED = (0.25, 0.75)
DROP_REASONS = ("filtered", "malformed_allele", "no_position", "non_finite", "multi_allelic",
                "duplicate", "allele_mismatch", "palindromic_ambiguous")


@dataclass(frozen=True)
class Harmonised:
    """Studies aligned on one set of variants (rows sorted by chromosome and position).

    ``variants``: chromosome, base_pair_location, effect_allele, other_allele (and rsid).
    ``index``: (M, k) integers, ``±(row + 1)`` of the study's row holding the variant
    (negative where its alleles are swapped against the variant's), 0 where the study
    lacks it; ``inputs``: per study, its rows' beta, SE and effect-allele frequency (the
    studies' own float columns, not copies: change them and the aligned values change).
    :meth:`take` gives the aligned values of a range of variants: they are made per chunk
    of a run, never for all variants at once.
    ``counts``: per study, rows read, kept, each drop reason and each alignment kind.

    Parameters
    ----------
    studies : tuple of str
        The study names, in input order (the first is the reference).
    variants : pandas.DataFrame
        One row per variant.
    index : numpy.ndarray
        ``(M, k)`` signed row numbers.
    inputs : tuple
        Per study, its ``(beta, se, eaf)`` columns.
    counts : dict
        Per study, the counts of rows kept, dropped (by reason) and aligned (by kind).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import harmonise, read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1, fmt="metal")
    >>> h = harmonise({s: read_sumstats(p) for s, p in truth.paths.items()})
    >>> h.studies, h.index.shape
    (('S1', 'S2'), (995, 2))
    """

    studies: tuple[str, ...]
    variants: pd.DataFrame
    index: np.ndarray
    inputs: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def m(self) -> int:
        """The number of variants."""
        return len(self.variants)

    def take(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the aligned ``(beta, se, eaf)`` of variants ``start:stop``.

        Parameters
        ----------
        start, stop : int
            The range of variants (``stop=None``: to the last).

        Returns
        -------
        tuple of numpy.ndarray
            Three ``(n, k)`` arrays, NaN where a study lacks a variant; swapped alleles give
            −beta and 1 − frequency.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from betameta.gwas import harmonise, read_sumstats
        >>> from betameta.gwas.synthetic import generate
        >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1, fmt="metal")
        >>> h = harmonise({s: read_sumstats(p) for s, p in truth.paths.items()})
        >>> import numpy as np
        >>> beta, se, eaf = h.take(0, 3)
        >>> beta.shape, bool(np.isnan(beta[2, 1]))
        ((3, 2), True)
        """
        index = self.index[start:stop]
        # Column-major: each study's column is written contiguously, and the kernels read
        # the transpose (studies × variants) row by row.
        out = tuple(np.empty(index.shape, order="F") for _ in range(3))
        for j, values in enumerate(self.inputs):
            kern.gather(index[:, j], *values, *(a[:, j] for a in out))
        return out

    @property
    def beta(self) -> np.ndarray:
        """All aligned effects, (M, k) (made on each call)."""
        return self.take()[0]

    @property
    def se(self) -> np.ndarray:
        """All aligned standard errors, (M, k) (made on each call)."""
        return self.take()[1]

    @property
    def eaf(self) -> np.ndarray:
        """All aligned effect-allele frequencies, (M, k) (made on each call)."""
        return self.take()[2]

    def z(self, j: int) -> np.ndarray:
        """Return study ``j``'s ``|z| = |beta| / SE`` at the variants it holds.

        What genomic control of that study's input needs.

        Parameters
        ----------
        j : int
            The study's position in :attr:`studies`.

        Returns
        -------
        numpy.ndarray
            One value per variant the study holds, in variant order.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from betameta.gwas import harmonise, read_sumstats
        >>> from betameta.gwas.synthetic import generate
        >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1, fmt="metal")
        >>> h = harmonise({s: read_sumstats(p) for s, p in truth.paths.items()})
        >>> h.z(1).size == h.counts["S2"]["kept"]
        True
        """
        rows = np.abs(self.index[:, j][self.index[:, j] != 0]) - 1
        beta, se, _ = self.inputs[j]
        return np.abs(beta[rows]) / se[rows]


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
        """Return a column as ``(codes, table)``, each distinct value looked up once.

        ``table[codes]`` is each row's id, each distinct value looked up once (the table's last entry
        is the id of a missing value, code -1).
        """
        codes, uniq = _codes(series)
        return codes, np.array([self._add(str(u).upper()) for u in uniq] + [self._add("")], np.int32)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.valid, bool), np.array(self.comp, np.int32)


def _chrom_codes(studies: dict[str, pd.DataFrame]) -> dict[str, int]:
    """One code per chromosome name over all studies.

    1-22, X, Y, XY, MT in order, then any other contig names alphabetically (the same code in every
    study).
    """
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


def _position_key(df: pd.DataFrame, table: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return what a row's key is made of.

    Chromosome codes, their chromosome numbers (``table``'s; -1 last, for a missing name) and positions.
    """
    codes, uniq = _codes(df["chromosome"])
    chrom = np.array([table.get(str(u), -1) for u in uniq] + [-1], np.int64)
    return codes, chrom, df["base_pair_location"].to_numpy(dtype=float)


def _clean(values: tuple, key: tuple, ea: tuple[np.ndarray, np.ndarray], oa: tuple[np.ndarray, np.ndarray],
           valid: np.ndarray, counts: dict[str, int], out: dict[str, np.ndarray]) -> int:
    """Drop and count bad rows.

    Write the study's surviving rows, sorted by key, to the front of ``out``'s arrays (key, ea, oa: allele
    ids, row: row numbers) and return how many there are.

    ``values`` are the study's beta, SE and frequency columns; ``key`` is ``(codes, table,
    positions)`` (see :func:`.harmonise_kernels.clean_rows`); ``ea`` and ``oa`` are
    ``(codes, table)`` of allele ids.
    """
    beta, se, _ = values
    counts["rows"] = beta.size
    kept, n, is_sorted = kern.clean_rows(*key, *ea, *oa, valid, beta, se,
                                         out["row"], out["key"], out["ea"], out["oa"])
    counts["malformed_allele"], counts["no_position"], counts["non_finite"] = (int(x) for x in n)
    if not is_sorted:
        # Sorted stably (a repeated key keeps its first row): the rows out of order apart,
        # sorted, and merged back in.
        front = [out[c][:kept] for c in ("key", "ea", "oa", "row")]
        strays = [np.empty_like(a) for a in front]  # only the strays' pages are ever touched
        n_main, n_stray = kern.split_strays(*front, *strays)
        kern.merge_strays(*front, n_main, *strays, np.argsort(strays[0][:n_stray], kind="stable"))
    kept, counts["multi_allelic"], counts["duplicate"] = kern.drop_repeats(
        *(out[c][:kept] for c in ("key", "ea", "oa", "row")))
    return kept


def harmonise(
    studies: dict[str, pd.DataFrame],
    palindromic: Literal["auto", "freq", "drop", "keep"] = "auto",
    band: float = 0.1,
) -> Harmonised:
    """Clean each study, match variants across studies and align their alleles.

    Under ``palindromic="auto"`` a study found on the other strand has its alleles
    complemented and everything is harmonised again (so that no variant takes its alleles
    from a study on the wrong strand); its counts say ``strand: "other"`` with the fraction
    first found.

    Parameters
    ----------
    studies
        ``{name: table}`` as :func:`betameta.gwas.read_sumstats` returns them; the first
        study is the allele reference.
    palindromic
        A/T and C/G variants: ``auto`` (the study's strand from its other variants first),
        ``freq`` (each oriented by frequency), ``drop`` or ``keep`` (METAL's rule).
    band
        Under ``freq``: a palindrome is oriented only when its frequency and the reference
        study's both lie more than ``band`` from 0.5; otherwise it is dropped as ambiguous.

    Returns
    -------
    Harmonised
        The variants (sorted by chromosome and position), each study's row of each variant
        with its orientation, and per study the counts of rows kept, dropped (by reason) and
        aligned (by kind).

    Raises
    ------
    InputError
        No study, or an unknown ``palindromic`` rule.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import harmonise, read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1, fmt="metal")
    >>> h = harmonise({s: read_sumstats(p) for s, p in truth.paths.items()})
    >>> h.m, h.counts["S2"]["kept"], h.counts["S2"]["aligned_swapped"]
    (995, 936, 342)
    """
    h = _harmonise(studies, palindromic, band)
    other = {s: h.counts[s]["strand_flip_fraction"] for s in h.studies
             if h.counts[s].get("strand") == "other"}
    if not other:
        return h
    fixed = {s: _complemented(df) if s in other else df for s, df in studies.items()}
    h = _harmonise(fixed, palindromic, band)
    for s, frac in other.items():
        h.counts[s].update(strand="other", strand_flip_fraction=frac)
    return h


def _complemented(df: pd.DataFrame) -> pd.DataFrame:
    """Return a study with both alleles of every row replaced by their strand complements."""
    out = df.copy(deep=False)
    for col in ("effect_allele", "other_allele"):
        values = df[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[col] = values.cat.rename_categories([str(c).translate(_COMP) for c in values.cat.categories])
        else:
            out[col] = values.astype(str).str.upper().str.translate(_COMP)
    return out


def _harmonise(studies: dict[str, pd.DataFrame], palindromic: str, band: float) -> Harmonised:
    if palindromic not in PALINDROMIC:
        raise InputError(f"palindromic={palindromic!r} is not one of {', '.join(PALINDROMIC)}")
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
        key_parts = [_position_key(studies[s], chrom_table) for s in names]
    else:
        # rsids get ids in first-seen order over the studies: one study after another.
        ids: dict[str, int] = {}
        key_parts = []
        for s_name in names:
            codes, uniq = _codes(studies[s_name]["rsid"])
            table = np.array([ids.setdefault(str(u), len(ids)) if str(u) != "nan" else -1
                              for u in uniq] + [-1], dtype=np.int64)
            key_parts.append((codes, table, np.empty(0)))

    # Allele ids in order (the vocabulary grows as it goes, one lookup per distinct value);
    # every row-wise step per study in threads: the compiled loops release the GIL.
    ea_in = [vocab.lookup(studies[s]["effect_allele"]) for s in names]
    oa_in = [vocab.lookup(studies[s]["other_allele"]) for s in names]
    valid, comp = vocab.arrays()
    k = len(names)
    threads = min(k, os.cpu_count() or 1)
    # Every study's kept rows side by side in flat arrays (row numbers only: values are
    # taken from the study's columns when aligned, so no second copy of the studies is made).
    # Then one merge of all the studies' sorted keys: variants sorted by key (chromosome
    # code · 1e10 + position, or first-seen rsid order), the first study holding a variant
    # fixing its alleles.
    sizes = np.array([len(studies[s]) for s in names], np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    # The narrowest ids that hold them (these arrays are the largest that harmonising makes),
    # but no narrower than 16 and 32 bits: fewer versions of the compiled loops.
    allele = np.promote_types(code_type(valid.size), np.int16)
    row = np.promote_types(code_type(sizes.max()), np.int32)
    flat = {"key": np.empty(sizes.sum(), np.int64), "ea": np.empty(sizes.sum(), allele),
            "oa": np.empty(sizes.sum(), allele), "row": np.empty(sizes.sum(), row)}
    views = [{c: a[s0:s0 + n] for c, a in flat.items()} for s0, n in zip(starts, sizes, strict=True)]
    inputs = tuple(tuple(studies[s][c].to_numpy(dtype=float) for c in ("beta", "standard_error",
                                                                     "effect_allele_frequency"))
                   for s in names)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        ends = starts + np.array(list(pool.map(_clean, inputs, key_parts, ea_in, oa_in,
                                               [valid] * k, [counts[s] for s in names], views)), np.int64)
    keys, holder, holder_row, r1, r2 = kern.union(flat["key"], flat["ea"], flat["oa"], flat["row"],
                                                  starts, ends)
    m = keys.size
    # The reference frequency of a variant is that of the study fixing its alleles (in that
    # study's own orientation), so each study can then be aligned on its own.
    ref_freq = np.empty(m)
    for j in range(k):
        kern.holder_values(holder, holder_row, j, inputs[j][2], ref_freq)
    # Column-major: each study's column is written by its own thread below.
    index = np.empty((m, k), row, order="F")
    def align(j: int) -> None:
        v = {c: a[:ends[j] - starts[j]] for c, a in views[j].items()}

        def run(rule: str):
            return dict(zip(kern.ALIGN_COUNTS, kern.align_study(
                keys, holder, r1, r2, ref_freq, v["key"], v["row"], v["ea"], v["oa"], inputs[j][2],
                comp, j, kern.PALINDROMIC_RULES.index(rule), band, index[:, j]), strict=True))

        rule, n = palindromic, None
        if palindromic == "auto":
            # The study's strand, from its non-palindromic variants: then its palindromes are
            # taken as on the reference strand, as on the other one, or (a study of mixed
            # strands) oriented one by one by frequency.
            n = run("keep")
            nonpal = n["kept"] - n["palindromic_kept"]
            frac = n["aligned_strand_flip"] / nonpal if nonpal else 0.0
            strand = "reference" if frac <= STRAND_MIXED[0] else "other" if frac >= STRAND_MIXED[1] \
                else "mixed"
            # (a study on the other strand is harmonised again, complemented: see harmonise)
            rule = {"reference": "keep", "other": "keep", "mixed": "freq"}[strand]
            counts[names[j]].update(strand=strand, strand_flip_fraction=float(frac))
        if n is None or rule != "keep":  # the "keep" pass of "auto" stands as it is
            n = run(rule)
        counts[names[j]].update({what: int(x) for what, x in n.items()
                                 if what != "palindromic_kept"
                                 and (what != "palindromic_strand_flip" or rule == "freq")})

    def variant_table() -> pd.DataFrame:
        # Every variant keeps its allele-fixing row (that study agrees with itself), so no
        # variant is left empty and rows need no filtering here.
        variants = pd.DataFrame(index=pd.RangeIndex(m))
        if by_position:
            names_of = {}
            for name, code in sorted(chrom_table.items()):
                names_of.setdefault(code, name)
            chrom, pos = np.empty(m, np.int32), np.empty(m, np.int64)
            kern.split_keys(keys, chrom, pos)
            cats, codes = _used(chrom)
            variants["chromosome"] = pd.Categorical.from_codes(codes, [names_of[int(c)] for c in cats])
            variants["base_pair_location"] = pos
        else:
            for col in ("chromosome", "base_pair_location"):
                if all(col in studies[s] for s in names):
                    variants[col] = _gather(studies, names, col, holder, holder_row)
            variants = variants.drop(columns=[c for c in ("chromosome", "base_pair_location")
                                              if c in variants and variants[c].isna().all()])
        if all("rsid" in studies[s] for s in names):
            variants["rsid"] = _gather(studies, names, "rsid", holder, holder_row)
        alleles = np.array(list(vocab.ids), dtype=object)
        for col, ids in (("effect_allele", r1), ("other_allele", r2)):
            used, codes = _used(ids)
            variants[col] = pd.Categorical.from_codes(codes, categories=alleles[used])
        return variants

    # The variant table is built beside the studies' alignment (they share nothing).
    with ThreadPoolExecutor(max_workers=threads) as pool:
        table = pool.submit(variant_table)
        list(pool.map(align, range(k)))
        variants = table.result()
    return Harmonised(names, variants, index, inputs, counts)


def _used(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the small non-negative integers present in ``ids``, ascending.

    And each entry's position among them (as categorical codes, in the narrowest type).
    """
    used = np.flatnonzero(np.bincount(ids)) if ids.size else np.zeros(0, np.int64)
    lookup = np.zeros(used[-1] + 1 if used.size else 1, code_type(used.size))
    lookup[used] = np.arange(used.size)
    return used, lookup[ids]


def _gather(studies: dict[str, pd.DataFrame], names: tuple[str, ...], col: str, holder: np.ndarray,
            rows: np.ndarray) -> pd.Series:
    """``studies[names[holder[i]]][col][rows[i]]`` for every variant i.

    Taken with Arrow (no Python objects per row).
    """
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
