"""Genetic distances between studies from allele frequencies, or from a file.

* ``mean_sq``: MR-MEGA's ``D_ij = mean over variants of (f_i − f_j)²``, using
  variants with ``0.01 ≤ f ≤ 0.99`` in every study and one variant per 1-Mb bin
  (the first seen in each bin, so the choice is deterministic);
* ``fst``: Hudson's estimator as a ratio of averages (Bhatia et al. 2013),
  ``F_ST = mean((f_i − f_j)²) / mean(f_i(1 − f_j) + f_j(1 − f_i))`` on the same
  variants (without sample-size corrections, which summary files often lack).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..tables import read_table

__all__ = ["distances_from_frequencies", "read_distances", "select_independent"]


def select_independent(chrom: np.ndarray, pos: np.ndarray, freqs: np.ndarray,
                       bin_size: int = 1_000_000) -> np.ndarray:
    """Return the indices of usable variants: frequencies in [0.01, 0.99] everywhere, one per bin.

    The variants the genetic distances are computed from (:func:`distances_from_frequencies`):
    common in every study, and roughly independent (the first of each ``bin_size`` window).

    Parameters
    ----------
    chrom, pos : numpy.ndarray
        Each variant's chromosome and position.
    freqs : numpy.ndarray
        ``(m, k)`` allele frequencies per study.
    bin_size : int
        The window, in base pairs.

    Returns
    -------
    numpy.ndarray
        The selected variants' indices, in order.

    Examples
    --------
    >>> import numpy as np
    >>> chrom = np.array(["1", "1", "1", "2"])
    >>> pos = np.array([100, 200_000, 1_500_000, 100])
    >>> freqs = np.array([[0.2, 0.3], [0.5, 0.4], [0.005, 0.1], [0.6, 0.7]])
    >>> select_independent(chrom, pos, freqs).tolist()  # the 2nd shares a window, the 3rd is rare
    [0, 3]
    """
    ok = np.all(np.isfinite(freqs) & (freqs >= 0.01) & (freqs <= 0.99), axis=1)
    idx = np.flatnonzero(ok)
    keys = pd.DataFrame({"c": np.asarray(chrom)[idx], "b": np.asarray(pos)[idx] // bin_size})
    first = ~keys.duplicated().to_numpy()
    return idx[first]


def distances_from_frequencies(
    freqs: np.ndarray,
    chrom: np.ndarray | None = None,
    pos: np.ndarray | None = None,
    method: Literal["mean_sq", "fst"] = "mean_sq",
    bin_size: int = 1_000_000,
) -> np.ndarray:
    """K × k distance matrix from a (variants × studies) allele-frequency matrix.

    Parameters
    ----------
    freqs : array_like
        Allele frequencies, variants × studies.
    chrom, pos : array_like, optional
        Each variant's chromosome and position: with both, one variant per ``bin_size``
        window is used (roughly independent ones); without, every variant with
        0.01 ≤ f ≤ 0.99 in every study.
    method
        ``mean_sq``: the mean squared frequency difference (MANTRA's); ``fst``: that over
        the mean of f₁(1 − f₂) + f₂(1 − f₁).
    bin_size
        The window of the thinning, in base pairs.

    Returns
    -------
    numpy.ndarray
        The (k, k) distances, zero on the diagonal.

    Raises
    ------
    InputError
        Fewer than 2 studies, fewer than 10 usable variants, or an unknown method.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> base = rng.uniform(0.1, 0.9, (500, 1))
    >>> f = np.clip(base + rng.normal(0, [0, 0.02, 0.1], (500, 3)), 0.01, 0.99)
    >>> distances_from_frequencies(f).round(4)[0].tolist()
    [0.0, 0.0004, 0.0098]
    """
    freqs = np.asarray(freqs, dtype=float)
    if freqs.ndim != 2 or freqs.shape[1] < 2:
        raise InputError("allele frequencies must be a variants x studies matrix with >= 2 studies")
    if chrom is None or pos is None:
        idx = np.flatnonzero(np.all(np.isfinite(freqs) & (freqs >= 0.01) & (freqs <= 0.99), axis=1))
    else:
        idx = select_independent(chrom, pos, freqs, bin_size)
    if idx.size < 10:
        raise InputError(f"only {idx.size} variants have 0.01 <= f <= 0.99 in every study (one per "
                         f"{bin_size // 1000} kb): too few to estimate distances")
    f = freqs[idx]
    diff2 = ((f[:, :, None] - f[:, None, :]) ** 2).mean(axis=0)
    if method == "mean_sq":
        dist = diff2
    elif method == "fst":
        denom = (f[:, :, None] * (1 - f[:, None, :]) + f[:, None, :] * (1 - f[:, :, None])).mean(axis=0)
        dist = diff2 / denom
    else:
        raise InputError(f"method={method!r} is not one of mean_sq, fst")
    np.fill_diagonal(dist, 0.0)
    return dist


def read_distances(
    path: str | Path, studies: tuple[str, ...] | None = None, *, sep: str | None = None,
    encoding: str | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Read a square distance matrix (TSV/CSV with study labels as header and first column).

    Checks: square, matching row and column labels, finite, non-negative,
    symmetric, zero diagonal; if ``studies`` is given, reorders to it and names
    any study the matrix lacks.

    Parameters
    ----------
    path
        The file.
    studies
        The study order wanted (each must be in the file).
    sep, encoding
        As :func:`betameta.read_table`.

    Returns
    -------
    distances : numpy.ndarray
        The (k, k) matrix, in the order of ``studies`` (or of the file).
    labels : tuple of str
        The studies, in that order.

    Raises
    ------
    InputError
        Any failed check, naming the file and the entry.

    Examples
    --------
    >>> d, labels = read_distances("examples/cdkal1_like_distances.tsv")
    >>> labels, d.shape
    (('EUR', 'EAS', 'AFR', 'SAS', 'AMR'), (5, 5))
    """
    frame = read_table(path, sep=sep, encoding=encoding, text=(0,))
    labels = tuple(str(c).strip() for c in frame.columns[1:])
    rows = tuple(str(r).strip() for r in frame.iloc[:, 0])
    if len(set(labels)) != len(labels):
        raise InputError(f"{path}: the header names a study twice: {list(labels)}")
    if rows != labels:
        raise InputError(f"{path}: row labels {list(rows)} do not match the header {list(labels)}")
    values = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        i, j = bad[0]
        raise InputError(f"{path}: row {labels[i]!r}, column {labels[j]!r}: not a finite number")
    if np.any(values < 0):
        i, j = np.argwhere(values < 0)[0]
        raise InputError(f"{path}: row {labels[i]!r}, column {labels[j]!r}: negative distance")
    asym = np.argwhere(~np.isclose(values, values.T, rtol=1e-8, atol=1e-12))
    if asym.size:
        i, j = asym[0]
        raise InputError(f"{path}: not symmetric: ({labels[i]}, {labels[j]}) = {values[i, j]:g} but "
                         f"({labels[j]}, {labels[i]}) = {values[j, i]:g}")
    if np.any(np.diag(values) != 0):
        i = int(np.flatnonzero(np.diag(values) != 0)[0])
        raise InputError(f"{path}: the diagonal must be zero (study {labels[i]!r})")
    if studies is None:
        return values, labels
    missing = [s for s in studies if s not in labels]
    if missing:
        raise InputError(f"{path}: no distances for studies {missing}")
    order = [labels.index(s) for s in studies]
    return values[np.ix_(order, order)], tuple(studies)
