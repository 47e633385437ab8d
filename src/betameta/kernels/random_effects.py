"""Random-effects (meta-regression) kernel over arrays of meta-analyses.

Every τ² estimator, z and Hartung–Knapp–Sidik–Jonkman tests, prediction interval and the Q-profile interval.

Contract (as every kernel here): effects ``y`` and variances ``v`` of shape ``(k, m)``, k
studies by m independent meta-analyses (NaN marks a study missing from a column), and an
optional design ``X`` (k × p, the same for every column; an intercept column when omitted).
The result is one frozen :class:`RandomEffectsArrays` of ``(m,)`` arrays (``(m, p)`` for
coefficients). The study-level :func:`betameta.meta_analysis` is the ``m = 1`` view.

Model ``yᵢ ~ N(xᵢᵀβ, vᵢ + τ²)``. With ``W = diag(1/(vᵢ + τ²))`` and
``P = W − WX(X'WX)⁻¹X'W`` (Viechtbauer 2005; metafor's notation), everything is computed
from p × p matrices per column, never the k × k ``P`` (memory is linear in k):

* DL: ``max(0, (y'Py − (k−p)) / tr P)`` at τ² = 0;
* HE: ``max(0, (y'P₀y − tr(P₀V)) / (k−p))``, ``P₀`` the unweighted projection;
* SJ: ``τ₀² = Σ(yᵢ − ȳ)²/k`` (ȳ the unweighted mean, whatever X: metafor's start), then
  ``τ₀² · y'P_{τ₀²}y / (k−p)``;
* PM: the root of ``y'P_τ y = k − p`` (0 when already below at τ² = 0);
* ML, REML, EB: Fisher scoring from the HE value with step-halving to stay ≥ 0:
  ML ``Δ = (y'PPy − tr W)/tr W²``, REML ``Δ = (y'PPy − tr P)/tr PP``,
  EB ``Δ = (y'Py · k/(k−p) − k)/tr W``;
* Q-profile bounds (Viechtbauer 2007): the roots of ``y'P_τ y = χ²_{k−p}`` at 1 − α/2 and
  α/2 (0 where ``Q(0)`` is already below).

``Q(τ²) = y'P_τ y`` is convex and decreasing in τ² (its derivative is ``−y'PPy`` and its
second derivative ``2y'PPPy ≥ 0``), so PM and the Q-profile bounds are found by Newton's
method from τ² = 0, which approaches the root from below, kept inside a bracket.
Iterations stop at ``|Δτ²| ≤ 1e-12 · max(median v, τ²)`` (metafor stops at 1e-5; with
``control=list(threshold=1e-12)`` it agrees). Each column is computed on ``y/s`` and
``v/s²`` with ``s`` a power of 2 near its median SE, so variances anywhere in the double
range give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .._options import TAU2_METHODS, TESTS, Tau2Method, TestType, check_option, check_probability
from .._results import ArrayResult
from .classical import COMPILED_FROM, log10_norm_sf2

__all__ = ["RandomEffectsArrays", "random_effects_kernel", "reml_score", "typical_variance", "wald_test"]

_TOL = 1e-12
#: ML, REML and EB end at exactly τ² = 0 when their iterations stop below this many median variances
#: and the step from 0 points down (metafor's estimates there are 0).
BOUNDARY = 1e-10
_MAXITER = 10_000
_LN10 = np.log(10.0)


@dataclass(frozen=True, repr=False)
class RandomEffectsArrays(ArrayResult):
    """Per-column results of :func:`random_effects_kernel`.

    Columns with fewer than ``p + 1`` studies, or a singular design, are NaN.

    Parameters
    ----------
    method, test : str
        The τ² estimator and the test (``"z"`` or ``"hksj"``).
    level : float
        The level of the intervals.
    k, df : numpy.ndarray
        ``(m,)``: the studies used and ``k − p``.
    tau2, tau2_ci_low, tau2_ci_high : numpy.ndarray
        ``(m,)``: τ̂² and its Q-profile bounds.
    coef : numpy.ndarray
        ``(m, p)`` coefficients.
    cov : numpy.ndarray
        ``(m, p, p)``: their covariance (scaled by ``Q(τ̂²)/(k − p)`` under HKSJ).
    se, stat, p, log10_p, ci_low, ci_high : numpy.ndarray
        ``(m, p)``: each coefficient's SE, test statistic, two-sided p, log10 p and interval.
    pi_low, pi_high : numpy.ndarray
        ``(m,)``: the prediction interval of a new study's effect, for the intercept-only model
        (NaN otherwise).
    qe : numpy.ndarray
        ``(m,)``: the residual heterogeneity ``y'P₀y`` at τ² = 0 (Cochran's Q without
        moderators; χ² on ``df``).
    i2, h2, i2_ci_low, i2_ci_high : numpy.ndarray
        ``(m,)``: metafor's τ²-based ``τ²/(τ² + s̃²)`` and ``(τ² + s̃²)/s̃²`` with the typical
        within-study variance ``s̃² = (k−p)/tr P₀`` (``(k−1)Σw/((Σw)² − Σw²)`` without
        moderators), and I² at the τ² bounds.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels import random_effects_kernel
    >>> y = np.array([[0.1, 0.5], [0.9, np.nan], [0.2, 0.4]])
    >>> v = np.array([[0.01, 0.02], [0.02, 0.02], [0.04, 0.01]])
    >>> r = random_effects_kernel(y, v, method="REML")
    >>> r.coef.shape, r.cov.shape, r.k.tolist(), r.df.tolist()
    ((2, 1), (2, 1, 1), [3, 2], [2.0, 1.0])
    """

    method: str
    test: str
    level: float
    k: np.ndarray
    df: np.ndarray
    tau2: np.ndarray
    tau2_ci_low: np.ndarray
    tau2_ci_high: np.ndarray
    coef: np.ndarray
    cov: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    p: np.ndarray
    log10_p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    qe: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    i2_ci_low: np.ndarray
    i2_ci_high: np.ndarray


def _t_two_sided(t: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p of Student's t and its log10.

    By scipy.special, not scipy.stats, which takes a second to import; SciPy's ``t.logsf`` only
    where the tail underflows a double.
    """
    sf = special.stdtr(df, -np.abs(t))
    with np.errstate(divide="ignore"):
        log10_p = (np.log(2.0) + np.log(sf)) / _LN10
    tiny = (sf == 0) & np.isfinite(t)
    if tiny.any():
        from scipy import stats

        d = np.broadcast_to(df, t.shape)
        log10_p[tiny] = (np.log(2.0) + stats.t.logsf(np.abs(t[tiny]), d[tiny])) / _LN10
    return 2.0 * sf, log10_p


def typical_variance(v: np.ndarray) -> np.ndarray:
    """Return metafor's typical within-study variance of each column.

    Parameters
    ----------
    v : numpy.ndarray
        Variances (k, m), ``inf`` marking a missing study.

    Returns
    -------
    numpy.ndarray
        ``s̃²`` per column.

    Notes
    -----
    ``s̃² = (k−1)Σw/((Σw)² − Σw²)`` with ``w = 1/v``, computed from the weights divided by the largest so
    that variances of 1e-300 do not overflow their squares; I² = τ²/(τ² + s̃²).

    References
    ----------
    Higgins & Thompson (2002), Stat Med 21:1539.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.random_effects import typical_variance
    >>> typical_variance(np.array([[0.01], [0.02], [0.04]])).round(6).tolist()
    [0.02]
    """
    vmin = v.min(axis=0)
    u = np.where(np.isfinite(v), vmin / v, 0.0)
    k = np.isfinite(v).sum(axis=0)
    return (k - 1) * u.sum(axis=0) / (u.sum(axis=0) ** 2 - (u**2).sum(axis=0)) * vmin


class _Projection:
    """What the estimators need of ``P`` at weights ``w`` (k, m), per column, from p × p matrices.

    The weights are held as ``w = c·u``, ``c`` the column's largest weight (so ``0 < u ≤ 1``): ``P =
    c·P_u``, ``y'Py = c·y'P_u y``, ``tr P = c·tr P_u``, ``tr PP = c²·tr P_uP_u``, and the estimators'
    steps are written in those terms, so that weights of 1e-298 or 1e298 neither underflow nor overflow
    when squared or cubed. With ``A = X'UX`` and ``B = X'U²X``: ``P_u y = u ∘ (y − Xβ̂)``, ``β̂ =
    A⁻¹X'Uy``, ``tr P_u = Σu − tr(A⁻¹B)``, ``tr P_uP_u = Σu² − 2 tr(A⁻¹X'U³X) + tr(A⁻¹BA⁻¹B)``.
    """

    def __init__(self, w: np.ndarray, X: np.ndarray, y0: np.ndarray):
        self.X = X
        self.c = w.max(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.u = w / self.c
        self.A = self._gram(1)
        self.beta = _solve(self.A, np.einsum("km,kp->mp", self.u * y0, X))
        resid = y0 - X @ self.beta.T if X.shape[1] > 1 else y0 - self.beta[:, 0]
        self.Puy = self.u * resid
        self.yPuy = (self.Puy * y0).sum(axis=0)

    def _gram(self, power: int) -> np.ndarray:
        """``X'UᵖX`` per column, (m, p, p)."""
        up = self.u**power
        if self.X.shape[1] == 1:
            return (up * self.X[:, :1] ** 2).sum(axis=0)[:, None, None]
        return np.einsum("km,kp,kq->mpq", up, self.X, self.X)

    def q(self) -> np.ndarray:
        """``y'Py``, the generalised Q statistic."""
        return self.c * self.yPuy

    def trace_u(self) -> np.ndarray:
        return self.u.sum(axis=0) - np.trace(_solve(self.A, self._gram(2)), axis1=1, axis2=2)

    def trace_squared_u(self) -> np.ndarray:
        AB = _solve(self.A, self._gram(2))
        cubes = np.trace(_solve(self.A, self._gram(3)), axis1=1, axis2=2)
        return (self.u * self.u).sum(axis=0) - 2.0 * cubes + np.einsum("mpq,mqp->m", AB, AB)


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A⁻¹b`` per column (A: (m, p, p); b: (m, p) or (m, p, q)); NaN where A is singular."""
    if A.shape[1] == 1:  # one coefficient: a division
        with np.errstate(invalid="ignore", divide="ignore"):
            return b / A[:, 0] if b.ndim == 2 else b / A
    vec = b.ndim == 2
    rhs = b[..., None] if vec else b
    out = np.full(rhs.shape, np.nan)
    det = np.linalg.det(A)
    ok = np.isfinite(det) & (np.abs(det) > 0)
    if ok.any():
        out[ok] = np.linalg.solve(A[ok], rhs[ok])
    return out[..., 0] if vec else out


def random_effects_kernel(
    y: np.ndarray,
    v: np.ndarray,
    X: np.ndarray | None = None,
    *,
    method: Tau2Method = "REML",
    test: TestType = "z",
    level: float = 0.95,
    ci: bool = True,
) -> RandomEffectsArrays:
    """Random-effects meta-analysis (or meta-regression on ``X``) of every column of ``y``.

    Parameters
    ----------
    y, v
        Effects and their sampling variances, (k,) or (k, m); NaN marks a missing study.
    X
        Design, (k, p); by default the intercept column (the random-effects model).
    method
        τ² estimator: ``FE`` (τ² = 0), ``DL``, ``PM``, ``REML``, ``ML``, ``HE``, ``SJ``, ``EB``.
    test
        ``z`` (Wald) or ``hksj`` (Hartung–Knapp–Sidik–Jonkman: covariance times
        ``Q(τ̂²)/(k − p)``, t on ``k − p`` df, no truncation).
    level
        Confidence level of every interval.
    ci
        Whether to solve for the Q-profile interval of τ² (and I²); without it those bounds
        are NaN and a fit costs half as much.

    Returns
    -------
    RandomEffectsArrays
        See the class; the module docstring has the formulas.

    Notes
    -----
    With wᵢ = 1/(vᵢ + τ²), P = W − WX(X'WX)⁻¹X'W and Q(τ²) = y'Py: REML solves
    y'PPy = tr P by Fisher scoring, ML the same with W for P in the trace, PM
    Q(τ²) = k − p, DL and HE are moment estimators, SJ and EB as metafor defines them; the
    Q-profile interval is the τ² where Q(τ²) crosses the χ²_{k−p} quantiles (the module
    docstring has every formula). Memory is linear in k for the intercept-only model.

    References
    ----------
    Viechtbauer (2005, 2007); DerSimonian & Laird (1986); Paule & Mandel (1982);
    Hartung & Knapp (2001); Sidik & Jonkman (2002); Hedges (1983); Morris (1983).

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels import random_effects_kernel
    >>> y = np.array([[0.1, 0.5], [0.9, np.nan], [0.2, 0.4]])
    >>> v = np.array([[0.01, 0.02], [0.02, 0.02], [0.04, 0.01]])
    >>> r = random_effects_kernel(y, v, method="REML")
    >>> r.tau2.round(5).tolist(), r.coef[:, 0].round(4).tolist()
    ([0.17435, 0.0], [0.4008, 0.4333])
    """
    method = check_option("method", method, TAU2_METHODS)  # type: ignore[assignment]
    test = check_option("test", test, TESTS)  # type: ignore[assignment]
    check_probability("level", level)
    y, v = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(v, dtype=float))
    single = y.ndim == 1
    y, v = (y[:, None], v[:, None]) if single else (y, v)
    k_all, m = y.shape
    X = np.ones((k_all, 1)) if X is None else np.asarray(X, dtype=float).reshape(k_all, -1)
    p = X.shape[1]
    present = np.isfinite(y) & np.isfinite(v) & (v > 0) & np.isfinite(X).all(axis=1)[:, None]
    k = present.sum(axis=0)
    # Each column on y/s, v/s² (s a power of 2, so exactly): results scale back by s and s².
    # (A column with no study at all is computed as if its variances were 1: all NaN.)
    log2v = np.where(present, np.log2(np.where(present, v, 1.0)), np.nan)
    log2v[:, ~present.any(axis=0)] = 0.0
    median = np.nanmedian(log2v, axis=0)
    half = np.round(median / 2)
    s = np.exp2(half)
    y0 = np.where(present, y / s, 0.0)
    vz = np.where(present, v / s / s, np.inf)  # weight 0 for a missing study
    unit = np.exp2(median - 2 * half)  # median v/s²
    df = k - p
    fit = df >= (0 if method == "FE" else 1)

    def proj(tau2: np.ndarray, cols: np.ndarray | slice = slice(None)) -> _Projection:
        """Return the projection at ``tau2`` for columns ``cols`` (the iterations' columns still moving)."""
        pr, vc = present[:, cols], vz[:, cols]
        with np.errstate(divide="ignore"):
            w = np.where(pr, 1.0 / (vc + tau2), 0.0)
        return _Projection(w, X, y0[:, cols])

    def q_at(tau2: np.ndarray, cols: np.ndarray | slice = slice(None)) -> np.ndarray:
        return proj(tau2, cols).q()

    intercept = p == 1 and bool(np.all(X == 1))
    targets = _qprofile_targets(df, level) if ci else (np.full(m, np.nan),) * 2
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if intercept and m >= COMPILED_FROM:
            # The same steps, one column at a time, compiled (tested equal to the code below).
            from .loops import random_effects_intercept

            lo_target, hi_target = targets
            res = random_effects_intercept(y0, vz, unit, df.astype(float), TAU2_METHODS.index(method),
                                           lo_target, hi_target)
            tau2, lo, hi = res[0], res[1], res[2]
            coef, cov, q_tau = res[3][:, None], res[4][:, None, None], res[5]
        else:
            tau2 = _estimate(method, y0, vz, present, X, k, df, unit, proj, q_at)
            tau2 = np.where(fit, tau2, np.nan)
            lo, hi = (_root(q_at, proj, target, unit, np.zeros(m)) for target in targets)
            P = proj(np.nan_to_num(tau2))
            cov = _solve(P.A, np.broadcast_to(np.eye(p), P.A.shape)) / P.c[:, None, None]
            coef, q_tau = P.beta, P.q()
        crit = np.full(m, special.ndtri(0.5 + level / 2))
        if test == "hksj":
            cov = cov * (q_tau / df)[:, None, None]
            values, where = np.unique(df.astype(float), return_inverse=True)
            crit = special.stdtrit(values, 0.5 + level / 2)[where]
        se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        stat = coef / se
        if test == "hksj":
            pval, log10_p = _t_two_sided(stat, df[:, None])
        else:
            pval = 2.0 * special.ndtr(-np.abs(stat))
            log10_p = log10_norm_sf2(stat)
        half_width = crit[:, None] * se
        pi_low = pi_high = np.full(m, np.nan)
        if intercept:
            half_pi = crit * np.sqrt(se[:, 0] ** 2 + tau2)
            pi_low, pi_high = coef[:, 0] - half_pi, coef[:, 0] + half_pi
            s2 = typical_variance(vz)
            qe = _q_at_zero(y0, vz, present)
        else:
            P0 = proj(np.zeros(m))
            qe, s2 = P0.q(), df / (P0.c * P0.trace_u())
        i2, h2 = tau2 / (tau2 + s2), (tau2 + s2) / s2
        i2_lo, i2_hi = lo / (lo + s2), hi / (hi + s2)
    bad = ~fit[:, None]
    s1, s2_ = s[:, None], (s * s)
    out = RandomEffectsArrays(
        method=method, test=test, level=level, k=k, df=df.astype(float),
        tau2=tau2 * s2_, tau2_ci_low=np.where(fit, lo, np.nan) * s2_,
        tau2_ci_high=np.where(fit, hi, np.nan) * s2_,
        coef=np.where(bad, np.nan, coef * s1),
        cov=np.where(bad[:, :, None], np.nan, cov * s2_[:, None, None]),
        se=np.where(bad, np.nan, se * s1), stat=np.where(bad, np.nan, stat),
        p=np.where(bad, np.nan, pval), log10_p=np.where(bad, np.nan, log10_p),
        ci_low=np.where(bad, np.nan, (coef - half_width) * s1),
        ci_high=np.where(bad, np.nan, (coef + half_width) * s1),
        pi_low=np.where(fit, pi_low, np.nan) * s, pi_high=np.where(fit, pi_high, np.nan) * s,
        qe=np.where(fit, qe, np.nan), i2=np.where(fit, i2, np.nan), h2=np.where(fit, h2, np.nan),
        i2_ci_low=np.where(fit, i2_lo, np.nan), i2_ci_high=np.where(fit, i2_hi, np.nan))
    return out


def reml_score(y: np.ndarray, v: np.ndarray, tau2: float | np.ndarray) -> np.ndarray:
    """Return the slope of the restricted log-likelihood in τ² of the random-effects model.

    Parameters
    ----------
    y, v : numpy.ndarray
        Effects and sampling variances, (k,) or (k, m); NaN marks a missing study.
    tau2 : float or numpy.ndarray
        Where to take the slope ((m,) or a scalar).

    Returns
    -------
    numpy.ndarray
        ``dℓ_R/dτ²`` per column, (m,); positive where the REML estimate lies above ``tau2``
        (when the restricted likelihood has one maximum, as it nearly always has).

    Notes
    -----
    With ``wᵢ = 1/(vᵢ + τ²)`` and ``µ̂ = Σwᵢyᵢ/Σwᵢ``,
    ``dℓ_R/dτ² = ½[Σwᵢ²(yᵢ − µ̂)² − Σwᵢ + Σwᵢ²/Σwᵢ] = ½(y'PPy − tr P)``: the numerator of
    the Fisher-scoring step by which :func:`random_effects_kernel` solves for REML.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.random_effects import random_effects_kernel, reml_score
    >>> y, v = np.array([0.1, 0.9, 0.2]), np.array([0.01, 0.02, 0.04])
    >>> t2 = random_effects_kernel(y, v, method="REML", ci=False).tau2[0]
    >>> bool(reml_score(y, v, 0.5 * t2)[0] > 0), bool(reml_score(y, v, 2 * t2)[0] < 0)
    (True, True)
    """
    y, v = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(v, dtype=float))
    if y.ndim == 1:
        y, v = y[:, None], v[:, None]
    present = np.isfinite(y) & np.isfinite(v) & (v > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(present, 1.0 / (np.where(present, v, 1.0) + tau2), 0.0)
        sw = w.sum(axis=0)
        mu = (w * np.where(present, y, 0.0)).sum(axis=0) / sw
        resid = np.where(present, y - mu, 0.0)
        w2 = w * w
        return 0.5 * ((w2 * resid * resid).sum(axis=0) - sw + w2.sum(axis=0) / sw)


def _q_at_zero(y0: np.ndarray, vz: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Cochran's Q of each column (inverse-variance weights, τ² = 0).

    From the weighted mean's residuals (not ``Σwy² − (Σwy)²/Σw``, which cancels).
    """
    w = np.where(present, 1.0 / vz, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * y0).sum(axis=0) / w.sum(axis=0)
    return (w * (y0 - mean) ** 2).sum(axis=0)


def wald_test(coef: np.ndarray, cov: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """Return the Wald statistic ``QM = b'V⁻¹b`` of some coefficients of each column.

    Parameters
    ----------
    coef : numpy.ndarray
        Coefficients (m, p).
    cov : numpy.ndarray
        Their covariance (m, p, p).
    terms : numpy.ndarray
        Indices of the coefficients tested.

    Returns
    -------
    numpy.ndarray
        QM per column; NaN where that block of the covariance is singular.

    Notes
    -----
    χ² on len(terms) df under the z test; divided by that df, F on (len(terms), k − p) under HKSJ, whose
    covariance is already scaled.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.kernels.random_effects import wald_test
    >>> wald_test(np.array([[2.0, 1.0]]), 0.5 * np.eye(2)[None], np.array([0, 1])).tolist()
    [10.0]
    """
    terms = np.asarray(terms, dtype=int)
    b = coef[:, terms]
    V = cov[:, terms][:, :, terms]
    return np.einsum("mp,mp->m", b, _solve(V, b))


def _estimate(method, y0, vz, present, X, k, df, unit, proj, q_at) -> np.ndarray:
    """τ² (on the scaled data) by ``method``; see the module docstring."""
    m = y0.shape[1]
    if method == "FE":
        return np.zeros(m)
    if method == "DL":
        P = proj(np.zeros(m))
        return np.maximum(0.0, (P.yPuy - df / P.c) / P.trace_u())
    # The unweighted projection P₀: y'P₀y and tr(P₀V) = Σv − tr((X'X)⁻¹X'VX).
    ols = _Projection(present.astype(float), X, y0)
    y_p0_y = ols.q()
    vx = np.where(present, vz, 0.0)
    XVX = (vx * X[:, :1] ** 2).sum(axis=0)[:, None, None] if X.shape[1] == 1 else \
        np.einsum("km,kp,kq->mpq", vx, X, X)
    tr_p0v = vx.sum(axis=0) - np.trace(_solve(ols.A, XVX), axis1=1, axis2=2)
    he = (y_p0_y - tr_p0v) / df
    if method == "HE":
        return np.maximum(0.0, he)
    if method == "SJ":  # τ₀² about the unweighted mean, whatever X (as metafor)
        centred = y_p0_y if X.shape[1] == 1 and np.all(X == 1) else _Projection(
            present.astype(float), np.ones((X.shape[0], 1)), y0).q()
        tau0 = centred / k
        return np.where(tau0 > 0, tau0 * q_at(np.maximum(tau0, 0.0)) / df, 0.0)
    if method == "PM":
        return _root(q_at, proj, df.astype(float), unit, np.maximum(he, 0.0))

    def step(t: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Return the Fisher-scoring step at ``t`` for columns ``cols`` (0 where it is NaN)."""
        P = proj(t, cols)
        if method == "ML":
            delta = ((P.Puy * P.Puy).sum(axis=0) - P.u.sum(axis=0) / P.c) / (P.u * P.u).sum(axis=0)
        elif method == "REML":
            delta = ((P.Puy * P.Puy).sum(axis=0) - P.trace_u() / P.c) / P.trace_squared_u()
        else:  # EB
            delta = (P.yPuy * k[cols] / df[cols] - k[cols] / P.c) / P.u.sum(axis=0)
        return np.nan_to_num(delta)

    tau2 = np.maximum(0.0, np.nan_to_num(he))
    moving = np.flatnonzero(np.isfinite(he))
    cols = moving
    for _ in range(_MAXITER):
        if cols.size == 0:
            break
        t = tau2[cols]
        delta = step(t, cols)
        while np.any(t + delta < 0):
            delta = np.where(t + delta < 0, delta / 2.0, delta)
        tau2[cols] = t + delta
        cols = cols[np.abs(delta) > _TOL * np.maximum(unit[cols], t + delta)]
    else:
        raise RuntimeError(f"{method} did not converge in {_MAXITER} iterations")
    # Halving stops a whisker above 0: the maximum is 0 itself where the step from 0 points down.
    low = moving[tau2[moving] <= BOUNDARY * unit[moving]]
    if low.size:
        tau2[low] = np.where(step(np.zeros(low.size), low) <= 0, 0.0, tau2[low])
    return tau2


def _root(q_at, proj, target: np.ndarray, unit: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Return the τ² where Q(τ²) equals a target, per column.

    The τ² ≥ 0 where ``Q(τ²) = target`` per column (0 where ``Q(0) ≤ target``; NaN where
    the target is not finite): Newton's method from below on the convex decreasing Q, inside
    a bracket found by growing its upper end tenfold, on the columns not yet converged (to
    4 ulp of τ², or 1e-15 of the median variance).
    """
    out = np.where(np.isfinite(target), 0.0, np.nan)
    cols = np.flatnonzero(np.isfinite(target))
    cols = cols[q_at(np.zeros(cols.size), cols) > target[cols]]
    if cols.size == 0:
        return out
    hi = np.maximum(unit[cols], np.nan_to_num(guess[cols]))
    grow = np.arange(cols.size)
    for _ in range(200):
        grow = grow[q_at(hi[grow], cols[grow]) > target[cols[grow]]]
        if grow.size == 0:
            break
        hi[grow] *= 10.0
    lo, t = np.zeros(cols.size), np.zeros(cols.size)
    left = np.arange(cols.size)  # positions in cols still moving
    for _ in range(100):
        c = cols[left]
        P = proj(t[left], c)
        f = P.q() - target[c]
        lo[left] = np.where(f > 0, t[left], lo[left])
        hi[left] = np.where(f <= 0, t[left], hi[left])
        slope = P.c * P.c * (P.Puy * P.Puy).sum(axis=0)  # −dQ/dτ² = y'PPy
        with np.errstate(divide="ignore", invalid="ignore"):
            step = t[left] + f / slope
        new = np.where((step >= lo[left]) & (step <= hi[left]), step, 0.5 * (lo[left] + hi[left]))
        moved = np.abs(new - t[left])
        t[left] = new
        left = left[(moved > 4 * np.finfo(float).eps * new + 1e-15 * unit[c]) & (f != 0)]
        if left.size == 0:
            break
    out[cols] = t
    return out


def _qprofile_targets(df: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """``χ²_{k−p}`` at 1 − α/2 and α/2 per column (NaN without a degree of freedom)."""
    alpha = 1.0 - level
    ok = df >= 1
    # Once per distinct df (a genome-wide chunk has a handful), then looked up.
    values, where = np.unique(np.where(ok, df, 1).astype(float), return_inverse=True)
    return tuple(np.where(ok, special.chdtri(values, 1.0 - prob)[where], np.nan)  # type: ignore[return-value]
                 for prob in (1 - alpha / 2, alpha / 2))
