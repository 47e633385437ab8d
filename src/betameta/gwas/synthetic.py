"""Realistic synthetic summary statistics for tests and benchmarks.

k studies from a few ancestries share M variants on 22 chromosomes. Allele
frequencies drift by ancestry; per-study SEs follow ``1/√(2 n f (1 − f))``;
a fraction of variants carries a true effect, either shared by all ancestries
or present in only some (heterogeneity across ancestries). Each study's file
then gets what real files have: missing variants, allele swaps (sign and
frequency flipped), strand flips (complemented alleles), palindromic A/T and C/G
variants, a few malformed rows, duplicated rows and non-finite SEs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["SyntheticTruth", "generate"]

_COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}
_NONPAL = [("A", "C"), ("A", "G"), ("C", "A"), ("C", "T"), ("G", "A"), ("G", "T"), ("T", "C"),
           ("T", "G")]
_PAL = [("A", "T"), ("T", "A"), ("C", "G"), ("G", "C")]


@dataclass(frozen=True)
class SyntheticTruth:
    """The generating model: variant table with true effects, and each study's ancestry.

    Parameters
    ----------
    variants : pandas.DataFrame
        One row per variant: ``chromosome``, ``base_pair_location``, ``effect_allele``,
        ``other_allele``, ``rsid``, ``true_effect`` (0 for a null variant) and
        ``heterogeneous`` (an effect in some ancestries only).
    ancestry : dict of str to str
        Each study's ancestry.
    paths : dict of str to pathlib.Path
        Each study's file.

    Examples
    --------
    >>> import tempfile
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(tempfile.mkdtemp(), k=3, m=1000, seed=1)
    >>> truth.ancestry, int((truth.variants["true_effect"] != 0).sum())
    ({'S1': 'EUR', 'S2': 'EAS', 'S3': 'AFR'}, 1)
    """

    variants: pd.DataFrame
    ancestry: dict[str, str]
    paths: dict[str, Path]


def generate(
    outdir: str | Path,
    *,
    k: int = 5,
    m: int = 50_000,
    seed: int = 1,
    ancestries: tuple[str, ...] = ("EUR", "EAS", "AFR"),
    n: int = 20_000,
    signal_fraction: float = 0.002,
    heterogeneous_fraction: float = 0.5,
    palindromic_fraction: float = 0.05,
    missing_fraction: float = 0.05,
    swap_fraction: float = 0.3,
    strand_fraction: float = 0.05,
    n_bad_rows: int = 5,
    fmt: str = "gwas-ssf",
) -> SyntheticTruth:
    """Write synthetic GWAS studies with a known truth.

    Write ``k`` gzip TSV files (GWAS-SSF names; ``fmt="metal"`` for METAL names in every
    other study) into ``outdir`` and return the truth.

    Parameters
    ----------
    outdir : str or pathlib.Path
        Where to write ``S1.tsv.gz``, ``S2.tsv.gz``, … (made if missing).
    k : int
        The number of studies; they take the ``ancestries`` in turn.
    m : int
        The number of variants, spread over chromosomes 1–22 by length.
    seed : int
        The seed of every draw.
    ancestries : tuple of str
        The ancestry labels; each has its own allele frequencies.
    n : int
        The typical sample size (each study's is drawn from 0.5n–1.5n); SE =
        ``1/√(2Nf(1 − f))``.
    signal_fraction : float
        The fraction of variants with a true effect (±0.03–0.08).
    heterogeneous_fraction : float
        The fraction of those whose effect is absent, at random, from ancestries after the
        first.
    palindromic_fraction : float
        The fraction of A/T and C/G variants.
    missing_fraction : float
        The fraction of variants each study lacks.
    swap_fraction : float
        The fraction of each study's rows written with the alleles swapped (beta and frequency
        flipped with them).
    strand_fraction : float
        The fraction of each study's non-palindromic rows written on the other strand.
    n_bad_rows : int
        Per study, rows with a malformed allele, rows with a missing SE, and duplicated rows
        (this many of each).
    fmt : {"gwas-ssf", "metal"}
        Column names; ``"metal"`` writes every other study as METAL does (MARKER ``chr:pos``,
        lower-case ALLELE1/ALLELE2, EFFECT, STDERR, FREQ1, PVALUE, N).

    Returns
    -------
    SyntheticTruth
        The variants with their true effects, each study's ancestry and path.

    Examples
    --------
    >>> import tempfile
    >>> from betameta.gwas import read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(tempfile.mkdtemp(), k=2, m=1000, seed=1, fmt="metal")
    >>> sorted(p.name for p in truth.paths.values()), len(read_sumstats(truth.paths["S2"]))
    (['S1.tsv.gz', 'S2.tsv.gz'], 951)
    """
    rng = np.random.default_rng(seed)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    weights = np.linspace(2, 1, 22)  # longer chromosomes hold more variants
    chrom = np.sort(rng.choice(np.arange(1, 23), size=m, p=weights / weights.sum()))
    pos = np.zeros(m, dtype=np.int64)
    for c in np.unique(chrom):
        idx = np.flatnonzero(chrom == c)
        # Drawn as indices (no 2 GB array of candidate positions): the same draws as choosing
        # from np.arange(1, 250_000_000), whose element i is i + 1.
        pos[idx] = np.sort(rng.choice(249_999_999, size=idx.size, replace=False)) + 1
    pal = rng.uniform(size=m) < palindromic_fraction
    pairs = np.array(_NONPAL)[rng.integers(len(_NONPAL), size=m)]
    pairs[pal] = np.array(_PAL)[rng.integers(len(_PAL), size=int(pal.sum()))]
    base = rng.uniform(0.05, 0.95, m)
    # Palindromic variants near 0.5 are the ambiguous ones; keep a realistic spread.
    anc_freq = {a: np.clip(base + rng.normal(0, 0.03 + 0.04 * i, m), 0.005, 0.995)
                for i, a in enumerate(ancestries)}
    signal = rng.uniform(size=m) < signal_fraction
    het = signal & (rng.uniform(size=m) < heterogeneous_fraction)
    effect = np.where(signal, rng.choice([-1, 1], m) * rng.uniform(0.03, 0.08, m), 0.0)
    carriers = {a: np.where(het, rng.uniform(size=m) < 0.5, True) for a in ancestries}
    carriers[ancestries[0]] = np.ones(m, bool)  # every signal is present in the first ancestry
    variants = pd.DataFrame({"chromosome": chrom.astype(str), "base_pair_location": pos,
                             "effect_allele": pairs[:, 0], "other_allele": pairs[:, 1],
                             "rsid": [f"rs{i + 1}" for i in range(m)], "true_effect": effect,
                             "heterogeneous": het})
    ancestry, paths = {}, {}
    for j in range(k):
        name = f"S{j + 1}"
        anc = ancestries[j % len(ancestries)]
        ancestry[name] = anc
        f = anc_freq[anc]
        nj = int(n * rng.uniform(0.5, 1.5))
        se = 1 / np.sqrt(2 * nj * f * (1 - f))
        beta = np.where(carriers[anc], effect, 0.0) + rng.normal(0, se)
        df = pd.DataFrame({"chromosome": variants["chromosome"], "base_pair_location": pos,
                           "effect_allele": pairs[:, 0], "other_allele": pairs[:, 1], "beta": beta,
                           "standard_error": se, "effect_allele_frequency": f,
                           "rsid": variants["rsid"], "n": nj})
        keep = rng.uniform(size=m) >= missing_fraction
        df = df[keep].reset_index(drop=True)
        swap = rng.uniform(size=len(df)) < swap_fraction
        ea, oa = df["effect_allele"].copy(), df["other_allele"].copy()
        df.loc[swap, "effect_allele"], df.loc[swap, "other_allele"] = oa[swap], ea[swap]
        df.loc[swap, "beta"] = -df.loc[swap, "beta"]
        df.loc[swap, "effect_allele_frequency"] = 1 - df.loc[swap, "effect_allele_frequency"]
        is_pal = df["effect_allele"].map(_COMP) == df["other_allele"]
        strand = (rng.uniform(size=len(df)) < strand_fraction) & ~is_pal
        df.loc[strand, "effect_allele"] = df.loc[strand, "effect_allele"].map(_COMP)
        df.loc[strand, "other_allele"] = df.loc[strand, "other_allele"].map(_COMP)
        bad = rng.choice(len(df), size=min(3 * n_bad_rows, len(df)), replace=False)
        df.loc[bad[:n_bad_rows], "effect_allele"] = "N"
        df.loc[bad[n_bad_rows:2 * n_bad_rows], "standard_error"] = np.nan
        df = pd.concat([df, df.iloc[bad[2 * n_bad_rows:]]], ignore_index=True)  # duplicates
        df["p_value"] = 2 * _norm_sf(np.abs(df["beta"] / df["standard_error"]))
        if fmt == "metal" and j % 2 == 1:
            df = pd.DataFrame({"MARKER": df["chromosome"] + ":" + df["base_pair_location"].astype(str),
                               "ALLELE1": df["effect_allele"].str.lower(),
                               "ALLELE2": df["other_allele"].str.lower(), "EFFECT": df["beta"],
                               "STDERR": df["standard_error"], "FREQ1": df["effect_allele_frequency"],
                               "PVALUE": df["p_value"], "N": df["n"]})
        path = outdir / f"{name}.tsv.gz"
        _write_tsv_gz(df, path)
        paths[name] = path
    return SyntheticTruth(variants, ancestry, paths)


def _norm_sf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(-np.asarray(x, dtype=float))


def _write_tsv_gz(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    with pa.CompressedOutputStream(str(path), "gzip") as stream:
        pacsv.write_csv(table, stream, pacsv.WriteOptions(delimiter="\t", quoting_style="none",
                                                           quoting_header="none"))
