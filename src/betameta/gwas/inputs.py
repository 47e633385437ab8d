"""What a genome-wide run does to the studies around harmonising.

Input filters, METAL's sample-size scheme as inverse-variance inputs, sample sizes per variant, and the
studies' null z correlation (sample overlap).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ..errors import InputError
from .harmonise import Harmonised

__all__ = ["FILTER_FIELDS", "apply_filters", "estimate_overlap", "parse_filter", "sample_sizes",
           "samplesize_inputs"]

#: What an input filter can test: the column it reads (MAF comes from the frequency).
FILTER_FIELDS = {"maf": "effect_allele_frequency", "effect_allele_frequency": "effect_allele_frequency",
                 "info": "info", "n": "n"}
_OPS = {">=": np.greater_equal, "<=": np.less_equal, "!=": np.not_equal, "==": np.equal,
        ">": np.greater, "<": np.less}


def estimate_overlap(h: Harmonised, chunk: int = 500_000) -> dict[str, Any]:
    """Return the null z correlation of every pair of studies.

    Every pair of studies' null z correlation from the variants where both have ``|z| < 1``
    (:func:`betameta.kernels.overlap.null_correlation`), with how many variants each rests
    on and its standard error by the delta method (the sd of zᵢzⱼ over those variants over
    √count, divided by the slope of the moment in ρ: the box keeps little information,
    so the SE is about 4/√count); the diagonal is 1, a pair with fewer than 100 such
    variants gets 0 (not estimated).

    Parameters
    ----------
    h : Harmonised
        The aligned studies.
    chunk : int
        Variants aligned at a time.

    Returns
    -------
    dict
        ``correlation``, ``se`` and ``variants``: ``(k, k)`` arrays.

    Examples
    --------
    Three independent synthetic studies (no shared samples): every estimate is near 0, within
    its standard error.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import harmonise, read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(Path(tempfile.mkdtemp()), k=3, m=20000, seed=2)
    >>> frames = {s: read_sumstats(p) for s, p in truth.paths.items()}
    >>> overlap = estimate_overlap(harmonise(frames))
    >>> overlap["correlation"][0].round(2).tolist(), overlap["se"][0].round(2).tolist()
    ([1.0, 0.01, 0.01], [0.0, 0.04, 0.04])
    >>> overlap["variants"][0].tolist()
    [13024, 8416, 8432]
    """
    from ..kernels.loops import null_z_moments
    from ..kernels.overlap import box_moment, null_correlation

    k = len(h.studies)
    sums, squares, counts = np.zeros((k, k)), np.zeros((k, k)), np.zeros((k, k), np.int64)
    for start in range(0, h.m, chunk):
        beta, se, _ = h.take(start, min(h.m, start + chunk))
        null_z_moments(beta, se, sums, squares, counts)
    r, se = np.eye(k), np.zeros((k, k))
    for i in range(k):
        for j in range(i + 1, k):
            n = counts[i, j]
            if n >= 100:
                mean = sums[i, j] / n
                r[i, j] = r[j, i] = rho = null_correlation(mean)
                step = 1e-4 if rho < 0.99 else -1e-4
                slope = (box_moment(rho + step) - box_moment(rho)) / step
                se[i, j] = se[j, i] = np.sqrt(max(squares[i, j] / n - mean**2, 0.0) / n) / abs(slope)
    return {"correlation": r, "se": se, "variants": counts}


def sample_sizes(h: Harmonised, frames: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """Return the total and effective sample sizes of each variant.

    ``n`` = ΣNᵢ over the studies holding it (METAL's Weight; NaN where one of them gives no N), and, where
    any study gives case and control counts, ``n_effective`` = Σ 4/(1/N_case,i + 1/N_control,i) (NaN where
    one of them does not).

    Parameters
    ----------
    h : Harmonised
        The aligned studies.
    frames : dict of str to pandas.DataFrame
        Each study's rows as read (with ``n``, and ``n_cases``/``n_controls`` where given).

    Returns
    -------
    dict of str to numpy.ndarray
        ``n``, and ``n_effective`` where case and control counts are given; one value per
        variant.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import harmonise, read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1)
    >>> frames = {s: read_sumstats(p) for s, p in truth.paths.items()}
    >>> sample_sizes(harmonise(frames), frames)["n"][:3].tolist()
    [38420.0, 38420.0, 25003.0]
    """
    per_study = {"n": {s: df["n"].to_numpy(float) for s, df in frames.items()}}
    if any("n_cases" in df and df["n_cases"].notna().any() for df in frames.values()):
        nan = np.full(1, np.nan)
        with np.errstate(divide="ignore"):
            per_study["n_effective"] = {
                s: np.broadcast_to(4.0 / (1.0 / df["n_cases"].to_numpy(float)
                                          + 1.0 / df["n_controls"].to_numpy(float))
                                   if "n_cases" in df and "n_controls" in df else nan, len(df))
                for s, df in frames.items()}
    out = {}
    for name, values in per_study.items():
        total = np.zeros(h.m)
        for j, s in enumerate(h.studies):
            col = h.index[:, j]
            held = col != 0
            total[held] += values[s][np.abs(col[held]) - 1]
        out[name] = total
    return out


def parse_filter(text: str) -> tuple[str, str, float]:
    """Parse an input filter ``FIELD OP NUMBER`` (``info>=0.8``, ``maf > 0.01``, ``n>=1000``).

    Parameters
    ----------
    text : str
        FIELD one of :data:`FILTER_FIELDS` (any case), OP one of ``>= <= > < == !=``.

    Returns
    -------
    tuple
        ``(field, op, value)``, the field in lower case.

    Raises
    ------
    InputError
        Text not of that form, or an unknown field.

    Examples
    --------
    >>> parse_filter("INFO >= 0.8")
    ('info', '>=', 0.8)
    """
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*(>=|<=|!=|==|>|<)\s*([-+0-9.eE]+)\s*", text)
    if not m or m.group(1).lower() not in FILTER_FIELDS:
        raise InputError(f"filter {text!r}: use FIELD OP NUMBER with FIELD one of "
                         f"{', '.join(FILTER_FIELDS)} and OP one of {' '.join(_OPS)} (e.g. info>=0.8)")
    try:
        value = float(m.group(3))
    except ValueError:
        raise InputError(f"filter {text!r}: {m.group(3)!r} is not a number") from None
    return m.group(1).lower(), m.group(2), value


def apply_filters(df: pd.DataFrame, path: Path, filters: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Return the rows of ``df`` that pass every filter, and how many each filter removed.

    A row is counted under the first filter it fails; a row without the value (NaN) fails. MAF
    is ``min(f, 1 − f)`` of the effect-allele frequency.

    Parameters
    ----------
    df : pandas.DataFrame
        A study's rows as read.
    path : pathlib.Path
        Its file, for error messages.
    filters : list of str
        Filters as :func:`parse_filter` reads them.

    Returns
    -------
    tuple
        The kept rows (a new index where any were removed) and ``{filter: rows removed}``.

    Raises
    ------
    InputError
        A filter that cannot be parsed, or one whose column the file does not have.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import harmonise, read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1)
    >>> frames = {s: read_sumstats(p) for s, p in truth.paths.items()}
    >>> kept, removed = apply_filters(frames["S1"], truth.paths["S1"], ["maf>0.05"])
    >>> len(frames["S1"]), len(kept), removed
    (949, 924, {'maf>0.05': 25})
    """
    keep = np.ones(len(df), bool)
    removed: dict[str, int] = {}
    for text in filters:
        field, op, value = parse_filter(text)
        col = FILTER_FIELDS[field]
        x = df[col].to_numpy(dtype=float)
        if np.isnan(x).all():
            raise InputError(f"{path}: filter {text!r} needs its {col} column, and the file has none "
                             f"(map one with --column STUDY:{col}=COL)")
        if field == "maf":
            x = np.minimum(x, 1.0 - x)
        with np.errstate(invalid="ignore"):
            ok = _OPS[op](x, value) & ~np.isnan(x)
        removed[text] = int((keep & ~ok).sum())
        keep &= ok
    return (df if keep.all() else df[keep].reset_index(drop=True)), removed


def samplesize_inputs(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Return a study's inputs for METAL's sample-size scheme, as inverse-variance inputs.

    ``zᵢ = sign(βᵢ)·Φ⁻¹(1 − pᵢ/2)`` (from −log10 p where the file has it, so p-values below
    the double range keep their z; from ``|β|/SE`` where the p-value is missing; β = 0 counts as
    positive, as in METAL), weight ``Nᵢ``. The study enters as ``beta = zᵢ/√Nᵢ`` with
    ``standard_error = 1/√Nᵢ``: the inverse-variance estimate is then ``Σ√Nᵢzᵢ/ΣNᵢ`` with
    SE ``1/√ΣNᵢ``, so its z is METAL's ``Z = Σ√Nᵢzᵢ/√ΣNᵢ``, its Q is METAL's heterogeneity
    statistic of the scheme, ``Σ(zᵢ − √Nᵢ Z/√ΣNᵢ)²``, and ``ΣNᵢ = 1/SE²`` its weight.
    Rows without a usable z or N go on as non-finite (dropped and counted).

    Parameters
    ----------
    df : pandas.DataFrame
        A study's rows as read (``beta``, ``standard_error``, ``p_value``,
        ``neg_log_10_p_value``, ``n``).
    path : pathlib.Path
        Its file, for error messages.

    Returns
    -------
    pandas.DataFrame
        The rows with ``beta = zᵢ/√Nᵢ`` and ``standard_error = 1/√Nᵢ``, without the p-value
        columns.

    Raises
    ------
    InputError
        The study has no sample size at all.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from betameta.gwas import harmonise, read_sumstats
    >>> from betameta.gwas.synthetic import generate
    >>> truth = generate(Path(tempfile.mkdtemp()), k=2, m=1000, seed=1)
    >>> frames = {s: read_sumstats(p) for s, p in truth.paths.items()}
    >>> rows = samplesize_inputs(frames["S1"], truth.paths["S1"])
    >>> round(float(rows["standard_error"][0] ** -2))
    25003
    """
    n = df["n"].to_numpy(dtype=float)
    if not np.isfinite(n).any():
        raise InputError(f"{path}: no sample size (n) column: the sample-size scheme needs one, or "
                         "a default N for the study (--default-n STUDY=N)")
    lg = df["neg_log_10_p_value"].to_numpy(dtype=float)
    p = df["p_value"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_half_p = np.where(np.isfinite(lg), -lg * np.log(10.0), np.log(p)) - np.log(2.0)
        z = -special.ndtri_exp(log_half_p)
        beta, se = df["beta"].to_numpy(dtype=float), df["standard_error"].to_numpy(dtype=float)
        # The sign of the effect; an effect of exactly 0 counts as positive, as METAL counts it.
        z = np.where(np.isfinite(z), z, np.abs(beta / se)) * np.where(beta < 0, -1.0, 1.0)
        z[np.isnan(beta)] = np.nan
        root = np.where(n > 0, np.sqrt(n), np.nan)
        out = df.drop(columns=["p_value", "neg_log_10_p_value"])
        out["n"] = n
        out["beta"] = z / root
        out["standard_error"] = 1.0 / root
    return out
