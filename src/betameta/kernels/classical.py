"""Classical meta-analysis kernels over arrays of meta-analyses.

Every function takes effects ``y`` and variances ``v`` of shape ``(k,)`` or
``(k, m)``: ``k`` studies along the first axis and an optional trailing axis of
``m`` independent meta-analyses (variants). Missing studies are ``NaN`` in ``y``
or ``v`` and are left out of that column. The study-level API and the
genome-wide engine call these same kernels. Their per-column loops (the classical
estimators, the closed-form χ² tail) are compiled, in :mod:`betameta.kernels.loops`,
loaded on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .._results import ArrayResult

__all__ = [
    "ClassicalArrays",
    "chi2_sf",
    "classical_kernel",
    "log10_chi2_sf",
    "log10_norm_sf2",
    "usable",
]

_LN10 = np.log(10.0)


def log10_norm_sf2(z: np.ndarray) -> np.ndarray:
    """``log10`` of the two-sided normal p-value ``2 Φ(-|z|)``; finite for any finite z.

    Parameters
    ----------
    z : array_like
        z statistics.

    Returns
    -------
    numpy.ndarray
        ``log10(2 Φ(−|z|))``, from ``log Φ`` directly (no underflow of Φ itself).

    Examples
    --------
    >>> import numpy as np
    >>> log10_norm_sf2(np.array([1.96, 40.0])).round(4).tolist()
    [-1.3011, -349.136]
    """
    z = np.asarray(z, dtype=float)
    return (np.log(2.0) + special.log_ndtr(-np.abs(z))) / _LN10


def log10_chi2_sf(x: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """``log10 P(χ²_df > x)``, without underflow in the far tail.

    Where the survival function underflows (below ~1e-290) the asymptotic
    expansion of the upper incomplete gamma function is used:
    ``Γ(a, t) ≈ t^(a-1) e^(-t) Σ_n (a-1)(a-2)…(a-n) / t^n`` with ``a = df/2``,
    ``t = x/2`` (Abramowitz & Stegun 6.5.32), whose terms shrink like
    ``(a/t)^n`` and are negligible there.

    Parameters
    ----------
    x : array_like
        χ² statistics.
    df : array_like or float
        Degrees of freedom.

    Returns
    -------
    numpy.ndarray
        ``log10 P(χ²_df > x)``.

    Examples
    --------
    >>> import numpy as np
    >>> log10_chi2_sf(np.array([3000.0]), 2).round(4).tolist()
    [-651.4417]
    """
    return chi2_sf(x, df)[1]


#: Below this many columns (or values) the kernels run their NumPy reference, which gives
#: the same bits as the compiled loops (tested), without loading numba (~1 s): study-level
#: work does not pay for genome-scale machinery.
COMPILED_FROM = 256
_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)


def _chi2_sf_integer_df_numpy(x: np.ndarray, df: np.ndarray, sf: np.ndarray) -> int:
    """NumPy reference of the closed-form χ² survival function.

    NumPy reference of :func:`.loops.chi2_sf_integer_df` (same operations in the same
    order; ``erfc`` from the C library, as the compiled loop's).
    """
    import math

    ok = (df >= 1.0) & (df <= 20) & (df == np.floor(df)) & (x >= 0.0) & (x < np.inf)
    t = np.where(ok, x, 0.0) / 2.0
    e = np.exp(-t)
    odd = np.where(ok, df, 2.0) % 2.0 == 1.0
    r = np.sqrt(t)
    q = np.where(odd, np.array([math.erfc(ri) for ri in r]) if r.size else r, e)
    term = np.where(odd, _TWO_OVER_SQRT_PI * r * e, t * e)
    s = np.where(odd, 0.5, 1.0)
    a = np.where(ok, df, 0.0) / 2.0
    while np.any(more := s < a):
        q = np.where(more, q + term, q)
        s = np.where(more, s + 1.0, s)
        term = np.where(more, term * (t / s), term)
    sf[:] = np.where(ok, q, np.nan)
    return int((~ok).sum())


def chi2_sf(x: np.ndarray, df: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """``P(χ²_df > x)`` and its ``log10`` (see :func:`log10_chi2_sf`).

    From one evaluation of the survival function; NaN where ``df ≤ 0``.

    For integer ``df`` in [1, 20] and finite ``x`` ≥ 0 (every genome-wide test) in closed
    form: with ``t = x/2`` and ``Q(s, t)`` the regularised upper incomplete gamma function,
    ``Q(s + 1, t) = Q(s, t) + tˢ e⁻ᵗ / Γ(s + 1)`` (Abramowitz & Stegun 6.5.21), from
    ``Q(1, t) = e⁻ᵗ`` (even df) or ``Q(½, t) = erfc(√t)`` (odd df) up to ``s = df/2``: a
    sum of positive terms, as accurate as scipy's ``chdtrc`` (both within 6e-14 of mpmath
    over 3,000 draws with df 1-5, the relative error of the far tail being that of ``e⁻ᵗ``
    itself) and several times faster, which matters for millions of variants. Elsewhere
    scipy's ``chdtrc``. Up to :data:`COMPILED_FROM` values the closed form runs as NumPy
    code (:func:`_chi2_sf_integer_df_numpy`, the same operations: the same bits), so that one
    meta-analysis does not load numba.

    Parameters
    ----------
    x : array_like
        χ² statistics.
    df : array_like or float
        Degrees of freedom.

    Returns
    -------
    p, log10_p : numpy.ndarray
        The survival function and its log10 (finite where ``p`` underflows to 0).

    Examples
    --------
    >>> import numpy as np
    >>> p, log10_p = chi2_sf(np.array([3.84, 2000.0]), 1)
    >>> p.round(4).tolist(), log10_p.round(2).tolist()
    ([0.05, 0.0], [-1.3, -436.04])
    """
    x, df = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(df, dtype=float))
    shape = x.shape
    x, df = np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(df).reshape(-1)
    sf = np.empty(x.size)
    if x.size >= COMPILED_FROM:
        from .loops import chi2_sf_integer_df
    else:
        chi2_sf_integer_df = _chi2_sf_integer_df_numpy
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if chi2_sf_integer_df(x, df, sf):
            # The rest (other df, x < 0, ∞, NaN) from the bare ufunc: scipy.stats' wrapper
            # costs as much again in argument checks.
            rest = np.isnan(sf) & (df > 0)
            sf[rest] = special.chdtrc(df[rest], x[rest])
        out = np.log10(sf)
        tiny = np.isfinite(x) & (df > 0) & (sf < 1e-290)
        if np.any(tiny):
            a, t = df[tiny] / 2.0, x[tiny] / 2.0
            series = np.ones_like(t)
            term = np.ones_like(t)
            for n in range(1, 8):
                term = term * (a - n) / t
                series = series + term
            out[tiny] = ((a - 1) * np.log(t) - t + np.log(series) - special.gammaln(a)) / _LN10
    return sf.reshape(shape), out.reshape(shape)


@dataclass(frozen=True, repr=False)
class ClassicalArrays(ArrayResult):
    """Per-column results of :func:`classical_kernel` (each an array of shape ``(m,)``).

    Parameters
    ----------
    k : numpy.ndarray
        The studies used (finite effect, variance > 0).
    sum_w : numpy.ndarray
        ``Σwᵢ``, ``wᵢ = 1/vᵢ``.
    fe_estimate, fe_se, fe_z, fe_p, fe_log10p : numpy.ndarray
        The inverse-variance common (fixed) effect, its SE, z, two-sided p and log10 p.
    q, q_df, q_p, q_log10p : numpy.ndarray
        Cochran's Q on ``k − 1`` df, its p and log10 p.
    i2, h2 : numpy.ndarray
        ``max(0, (Q − df)/Q)`` as a fraction, and ``Q/df``.
    zeta2 : numpy.ndarray
        ``max(0, (Q − df)/Σw)``.
    tau2_dl : numpy.ndarray
        The DerSimonian–Laird τ².
    re_estimate, re_se, re_z, re_p, re_log10p : numpy.ndarray
        The DerSimonian–Laird random-effects mean and its test.
    z2, z2_df, z2_p, z2_log10p : numpy.ndarray
        The total test ``Z² = Σyᵢ²/vᵢ = Z²_F + Q`` on k df.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels import classical_kernel
    >>> y = np.array([[0.1, 0.5], [0.3, np.nan], [0.2, 0.4]])
    >>> v = np.array([[0.01, 0.02], [0.02, 0.02], [0.04, 0.01]])
    >>> c = classical_kernel(y, v)
    >>> c.z2.round(4).tolist(), (c.fe_z ** 2 + c.q).round(4).tolist()
    ([6.5, 28.5], [6.5, 28.5])
    """

    k: np.ndarray
    sum_w: np.ndarray
    fe_estimate: np.ndarray
    fe_se: np.ndarray
    fe_z: np.ndarray
    fe_p: np.ndarray
    fe_log10p: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_p: np.ndarray
    q_log10p: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    zeta2: np.ndarray
    tau2_dl: np.ndarray
    re_estimate: np.ndarray
    re_se: np.ndarray
    re_z: np.ndarray
    re_p: np.ndarray
    re_log10p: np.ndarray
    z2: np.ndarray
    z2_df: np.ndarray
    z2_p: np.ndarray
    z2_log10p: np.ndarray


def usable(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return the studies a column's meta-analysis uses: finite effect, finite positive variance.

    Parameters
    ----------
    y, v : array_like
        Effects and variances, of one shape.

    Returns
    -------
    numpy.ndarray
        Boolean, True where the study enters the meta-analysis.

    Examples
    --------
    >>> import numpy as np
    >>> usable(np.array([0.1, np.nan, 0.2]), np.array([0.01, 0.02, 0.0])).tolist()
    [True, False, False]
    """
    return np.isfinite(y) & np.isfinite(v) & (v > 0)


def i2_from_q(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Higgins' I² = max(0, (Q − df)/Q) on df = k − 1 (0 where Q = 0, NaN below 2 studies)."""
    df = k - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k >= 2, np.where(q > 0, np.maximum(0.0, (q - df) / q), 0.0), np.nan)


def classical_numpy(y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference of :func:`.loops.classical`.

    ``(k, rows)`` for (k, m) inputs, the rows named by :data:`.loops.CLASSICAL_ROWS`. NumPy sums a (k, m)
    array over its first axis one row after another, as the loop sums studies, so the bits agree (tested).
    """
    valid = np.isfinite(y) & np.isfinite(v) & (v > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(valid, 1.0 / np.where(valid, v, 1.0), 0.0)
        y0 = np.where(valid, y, 0.0)
        k = valid.sum(axis=0)
        sw, sw2 = w.sum(axis=0), (w * w).sum(axis=0)
        fe = (w * y0).sum(axis=0) / sw
        fe_se = 1.0 / np.sqrt(sw)
        df = k - 1.0
        q = np.where(k >= 2, (w * (y0 - fe) ** 2).sum(axis=0), np.nan)
        i2 = i2_from_q(q, k)
        tau2 = np.maximum(0.0, (q - df) / (sw - sw2 / sw))
        wr = np.where(valid, 1.0 / (np.where(valid, v, 1.0) + tau2), 0.0)
        re = (wr * y0).sum(axis=0) / wr.sum(axis=0)
        re_se = 1.0 / np.sqrt(wr.sum(axis=0))
        rows = np.stack([sw, fe, fe_se, fe / fe_se, q, i2, q / df, np.maximum(0.0, (q - df) / sw), tau2,
                         re, re_se, re / re_se, (w * y0 * y0).sum(axis=0)])
    return k.astype(np.int64), rows


def classical_kernel(y: np.ndarray, v: np.ndarray) -> ClassicalArrays:
    """Compute the fixed effect, Q/I²/H²/ζ², DerSimonian-Laird and the Z² total test.

    Parameters
    ----------
    y, v : array_like
        Effects and their sampling variances, ``(k,)`` or ``(k, m, ...)``: studies along
        the first axis, one meta-analysis per trailing index; NaN (or a non-positive or
        infinite variance) marks a missing study.

    Returns
    -------
    ClassicalArrays
        Arrays of the trailing shape (``k``, ``fe_estimate``, ``fe_se``, ``fe_z``, ``fe_p``,
        ``q``, ``q_p``, ``i2``, ``h2``, ``zeta2``, ``tau2_dl``, ``re_estimate``, ``re_se``,
        ``z2``, … with their log10 p-values); scalars for ``(k,)`` input.

    Notes
    -----
    Formulas (w = 1/v):

    * ``β̂F = Σwy/Σw``, ``SE = (Σw)^-½``, ``z = β̂F/SE``;
    * ``Q = Σw(y − β̂F)²`` on ``k − 1`` df;
    * ``τ̂²_DL = max(0, (Q − (k−1)) / (Σw − Σw²/Σw))`` (DerSimonian & Laird 1986);
    * ``Z² = Σ y²/v = Z²_F + Q`` on ``k`` df.

    Columns with fewer than two studies give NaN for the heterogeneity and
    random-effects quantities (and no FE result with none). From :data:`COMPILED_FROM`
    columns on, one compiled pass per column (:func:`.loops.classical`); below, the NumPy
    reference :func:`classical_numpy`, which gives the same bits.

    References
    ----------
    DerSimonian, R. & Laird, N. (1986). Meta-analysis in clinical trials. Control Clin
    Trials 7:177–188; Higgins, J. P. T. & Thompson, S. G. (2002). Stat Med 21:1539–1558.

    Examples
    --------
    Two meta-analyses of three studies, the second missing its second study:

    >>> import numpy as np
    >>> from betameta.kernels import classical_kernel
    >>> y = np.array([[0.1, 0.5], [0.3, np.nan], [0.2, 0.4]])
    >>> v = np.array([[0.01, 0.02], [0.02, 0.02], [0.04, 0.01]])
    >>> c = classical_kernel(y, v)
    >>> c.k.tolist(), c.fe_estimate.round(4).tolist(), c.q.round(4).tolist()
    ([3, 2], [0.1714, 0.4333], [1.3571, 0.3333])
    """
    y, v = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(v, dtype=float))
    shape = y.shape[1:]
    columns = (y.shape[0], int(np.prod(shape)))  # no studies at all is still a shape
    if columns[1] >= COMPILED_FROM:
        from .loops import classical as per_column
    else:
        per_column = classical_numpy
    k, rows = per_column(np.ascontiguousarray(y.reshape(columns)), np.ascontiguousarray(v.reshape(columns)))
    (sw, fe, fe_se, fe_z, q, i2, h2, zeta2, tau2, re, re_se, re_z, z2) = (
        r.reshape(shape) if shape else r[0] for r in rows)
    k = k.reshape(shape) if shape else k[0]
    df = k - 1.0
    enough = k >= 2
    q_p, q_log10p = chi2_sf(q, df)
    z2_p, z2_log10p = chi2_sf(z2, k)
    return ClassicalArrays(
        k=k,
        sum_w=sw,
        fe_estimate=fe,
        fe_se=fe_se,
        fe_z=fe_z,
        fe_p=2.0 * special.ndtr(-np.abs(fe_z)),
        fe_log10p=log10_norm_sf2(fe_z),
        q=q,
        q_df=np.where(enough, df, np.nan),
        q_p=q_p,
        q_log10p=q_log10p,
        i2=i2,
        h2=h2,
        zeta2=zeta2,
        tau2_dl=tau2,
        re_estimate=re,
        re_se=re_se,
        re_z=re_z,
        re_p=2.0 * special.ndtr(-np.abs(re_z)),
        re_log10p=log10_norm_sf2(re_z),
        z2=z2,
        z2_df=k.astype(float),
        z2_p=z2_p,
        z2_log10p=z2_log10p,
    )
