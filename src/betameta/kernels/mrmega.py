"""MR-MEGA (Mägi et al. 2017).

Per-variant meta-regression of the effects on the studies' axes of genetic variation.

Contract as every kernel here: effects ``y`` and variances ``v`` of shape ``(k, m)`` (NaN for
a study missing from a variant), the axes ``(k, T)`` the same for every variant; one frozen
:class:`MrMegaArrays` of ``(m,)`` arrays out. The regression is the fixed-effect (τ² = 0)
meta-regression of :func:`~betameta.kernels.random_effects.random_effects_kernel` on the
design ``[1, axes]``; with ``w = 1/v`` over the k studies present:

* association ``χ²_assoc = Σwy² − RSS`` on T + 1 df (every coefficient 0);
* ancestry heterogeneity ``χ²_anc = Q − RSS`` on T df (``Q = Σw(y − ȳ_w)²``, the
  intercept-only residual: the axes explain nothing);
* residual heterogeneity ``χ²_res = RSS`` on k − T − 1 df;
* ``ln BF = (χ²_assoc − (T + 1) ln k)/2`` (the BIC approximation MR-MEGA reports).

Variants with ``k − 2 ≤ T`` studies are not fitted (NaN), as MR-MEGA leaves them out.

The axes: classical multidimensional scaling of the mean squared allele-frequency
differences between studies (:func:`~betameta.transancestry.distances_from_frequencies`, a
squared Euclidean distance): ``B = −½ J D J`` (J the centring matrix), axes the leading
eigenvectors scaled by the square roots of their eigenvalues (:func:`mds_axes`).

References
----------
Mägi, R. et al. (2017). Trans-ethnic meta-regression of genome-wide association studies
accounting for ancestry increases power for discovery and improves fine-mapping resolution.
Hum Mol Genet 26(18):3639–3650.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._results import ArrayResult
from ..errors import InputError
from .classical import chi2_sf, classical_kernel
from .random_effects import random_effects_kernel

__all__ = ["MrMegaArrays", "check_axes", "default_axes", "mds_axes", "mrmega_arrays"]


def default_axes(k: int) -> int:
    """Return MR-MEGA's default number of axes for k studies.

    Parameters
    ----------
    k : int
        Studies.

    Returns
    -------
    int
        4, at most k − 3.

    Notes
    -----
    At most k − 3, so that a variant in every study keeps a residual degree of freedom beyond the flagging
    rule.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.mrmega import default_axes
    >>> default_axes(10), default_axes(5)
    (4, 2)
    """
    return max(0, min(4, k - 3))


def mds_axes(distances: np.ndarray, n_axes: int) -> np.ndarray:
    """Return the principal coordinates of a matrix of squared distances.

    Parameters
    ----------
    distances : numpy.ndarray
        k × k squared distances.
    n_axes : int
        Axes wanted.

    Returns
    -------
    numpy.ndarray
        The first ``n_axes`` principal coordinates (k, T).

    Raises
    ------
    InputError
        The matrix is not square, symmetric and non-negative, or has fewer positive eigenvalues than the
        axes asked for.

    Notes
    -----
    Classical MDS: eigenvectors of ``−½ J D J``, each times the square root of its eigenvalue, largest
    first; signs fixed so that each axis's largest entry is positive.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.mrmega import mds_axes
    >>> d = np.array([[0.0, 1, 4], [1, 0, 1], [4, 1, 0]])  # three points on a line
    >>> mds_axes(d, 1).round(6).ravel().tolist()
    [1.0, 0.0, -1.0]
    """
    d = np.asarray(distances, dtype=float)
    k = d.shape[0]
    if d.ndim != 2 or d.shape != (k, k) or not np.all(np.isfinite(d)) or np.any(d < 0):
        raise InputError("the distance matrix must be square, finite and non-negative")
    if not np.allclose(d, d.T, rtol=1e-10, atol=0):
        raise InputError("the distance matrix must be symmetric")
    if not 0 <= n_axes <= k - 1:
        raise InputError(f"{n_axes} axes from {k} studies: at most {k - 1}")
    J = np.eye(k) - 1.0 / k
    B = -0.5 * J @ d @ J
    vals, vecs = np.linalg.eigh((B + B.T) / 2)
    order = np.argsort(vals)[::-1][:n_axes]
    vals, vecs = vals[order], vecs[:, order]
    if n_axes and not np.all(vals > 1e-12 * max(vals[0], 1e-300)):
        raise InputError(f"the distances span fewer than {n_axes} dimensions (eigenvalues "
                         f"{', '.join(f'{x:.3g}' for x in vals)}): ask for fewer axes")
    axes = vecs * np.sqrt(np.maximum(vals, 0.0))
    flip = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(n_axes)])
    return axes * np.where(flip == 0, 1.0, flip)


@dataclass(frozen=True, repr=False)
class MrMegaArrays(ArrayResult):
    """Per-variant MR-MEGA results (module docstring).

    Parameters
    ----------
    beta, se : numpy.ndarray
        ``(m, T + 1)``: the regression on the T axes of genetic variation, intercept first.
    chisq_assoc, chisq_assoc_p, chisq_assoc_log10p : numpy.ndarray
        The test of association (T + 1 df).
    chisq_ancestry_het, chisq_ancestry_het_p, chisq_ancestry_het_log10p : numpy.ndarray
        The test of heterogeneity correlated with ancestry (T df).
    chisq_residual_het, chisq_residual_het_p, chisq_residual_het_log10p : numpy.ndarray
        The residual heterogeneity (``df_residual`` df).
    df_residual : numpy.ndarray
        ``k − T − 1``.
    ln_bf : numpy.ndarray
        The natural-log Bayes factor of association.
    k : numpy.ndarray
        The studies present.
    fitted : numpy.ndarray
        Whether the variant had more than T + 2 studies (NaN results otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.mrmega import mrmega_arrays
    >>> rng = np.random.default_rng(0)
    >>> axes = rng.normal(size=(6, 1))
    >>> y = 0.1 + 0.2 * axes + rng.normal(0, 0.05, (6, 2))
    >>> r = mrmega_arrays(y, np.full((6, 2), 0.0025), axes)
    >>> r.beta.shape, r.df_residual.tolist(), r.fitted.tolist()
    ((2, 2), [4.0, 4.0], [True, True])
    """

    beta: np.ndarray
    se: np.ndarray
    chisq_assoc: np.ndarray
    chisq_assoc_p: np.ndarray
    chisq_assoc_log10p: np.ndarray
    chisq_ancestry_het: np.ndarray
    chisq_ancestry_het_p: np.ndarray
    chisq_ancestry_het_log10p: np.ndarray
    chisq_residual_het: np.ndarray
    chisq_residual_het_p: np.ndarray
    chisq_residual_het_log10p: np.ndarray
    df_residual: np.ndarray
    ln_bf: np.ndarray
    k: np.ndarray
    fitted: np.ndarray


def mrmega_arrays(y: np.ndarray, v: np.ndarray, axes: np.ndarray) -> MrMegaArrays:
    """Return MR-MEGA's meta-regression of every column on the studies' axes.

    Parameters
    ----------
    y, v : numpy.ndarray
        ``(k, m)`` effects and variances (NaN for a missing study).
    axes : numpy.ndarray
        The studies' axes of genetic variation (k, T) (:func:`mds_axes`).

    Returns
    -------
    MrMegaArrays
        Per variant the coefficients ``beta``/``se`` (m, T + 1), the association, ancestry-heterogeneity
        and residual-heterogeneity χ² with their p-values, ``ln_bf`` and ``k``.

    Notes
    -----
    Weighted least squares of the effects on an intercept and the axes, weights 1/vᵢ (module docstring).

    References
    ----------
    Mägi et al. (2017), Hum Mol Genet 26:3639.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.mrmega import mrmega_arrays
    >>> rng = np.random.default_rng(0)
    >>> axes = rng.normal(size=(6, 1))
    >>> y = 0.1 + 0.2 * axes + rng.normal(0, 0.05, (6, 2))
    >>> mrmega_arrays(y, np.full((6, 2), 0.0025), axes).beta.round(3).tolist()
    [[0.063, 0.229], [0.083, 0.244]]
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    axes = np.asarray(axes, dtype=float).reshape(y.shape[0], -1)
    t = axes.shape[1]
    X = np.concatenate([np.ones((y.shape[0], 1)), axes], axis=1)
    c = classical_kernel(y, v)
    k = c.k
    fitted = k >= t + 3
    cols = np.flatnonzero(fitted)
    m = y.shape[1]
    beta = np.full((m, t + 1), np.nan)
    se = np.full((m, t + 1), np.nan)
    rss = np.full(m, np.nan)
    if cols.size:
        r = random_effects_kernel(y[:, cols], v[:, cols], X, method="FE")
        beta[cols], se[cols], rss[cols] = r.coef, r.se, r.qe
    with np.errstate(invalid="ignore"):
        assoc = np.where(fitted, np.maximum(c.z2 - rss, 0.0), np.nan)
        anc = np.where(fitted, np.maximum(c.q - rss, 0.0), np.nan)
        res = np.where(fitted, rss, np.nan)
        df_res = np.where(fitted, k - t - 1.0, np.nan)
        ln_bf = np.where(fitted, (assoc - (t + 1) * np.log(np.maximum(k, 1))) / 2, np.nan)
    (pa, la), (pr, lr) = chi2_sf(assoc, float(t + 1)), chi2_sf(res, df_res)
    if t:
        pn, ln_ = chi2_sf(anc, float(t))
    else:  # no axes: nothing to test for ancestry
        pn, ln_ = np.where(fitted, 1.0, np.nan), np.where(fitted, 0.0, np.nan)
    return MrMegaArrays(beta, se, assoc, pa, la, anc, pn, ln_, res, pr, lr, df_res, ln_bf, k, fitted)


def check_axes(n_axes: int, k: int) -> int:
    """Return the number of axes for k studies, validated.

    Parameters
    ----------
    n_axes : int
        Axes asked for; negative for :func:`default_axes`.
    k : int
        Studies.

    Returns
    -------
    int
        The axes.

    Raises
    ------
    InputError
        More axes than k − 3.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.mrmega import check_axes
    >>> check_axes(-1, 10), check_axes(2, 10)
    (4, 2)
    """
    if n_axes < 0:
        return default_axes(k)
    if n_axes > k - 3:
        raise InputError(f"--axes {n_axes} with {k} studies: MR-MEGA needs more than T + 2 studies "
                         f"for a variant, so at most {max(k - 3, 0)} axes")
    return n_axes
