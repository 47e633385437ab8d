"""Between-study variance τ² estimators and the Q-profile interval.

Written for a general design matrix ``X`` (k × p; an intercept column when
omitted) so that the same code serves the intercept-only model and the
Egger-type meta-regression. With ``W = diag(w)`` and
``P = W − WX(X'WX)⁻¹X'W`` (Viechtbauer 2005; metafor's notation):

* DL: ``max(0, (y'Py − (k−p)) / tr P)`` with ``w = 1/v``;
* HE: ``max(0, (y'P₀y − tr(P₀V)) / (k−p))``, ``P₀`` the unweighted projection;
* SJ: ``τ₀² = y'P₀y/k``, then ``τ₀² · y'P_{τ₀²}y / (k−p)``;
* PM: the root of ``y'P_τ y = k − p`` (0 when ``y'P₀y`` with ``τ² = 0`` is below);
* ML, REML, EB: Fisher scoring from the HE value (clipped at 0) with
  step-halving to stay non-negative: ML ``Δ = (y'PPy − tr W)/tr W²``,
  REML ``Δ = (y'PPy − tr P)/tr PP``, EB ``Δ = (y'Py · k/(k−p) − k)/tr W``.

metafor stops ML/REML/EB at ``|Δ| < 1e-5``; we iterate to ``1e-12``, i.e. we
report the converged root, which metafor gives with tight control settings. Tolerances
and brackets are relative to the median variance, so data in any unit give the same answer.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from ._options import TAU2_METHODS, Tau2Method, check_option

__all__ = ["qprofile_ci", "tau2_estimate", "wls"]


def _design(k: int, X: np.ndarray | None) -> np.ndarray:
    return np.ones((k, 1)) if X is None else np.asarray(X, dtype=float).reshape(k, -1)


class _Projection:
    """What the estimators need of ``P = W − WX(X'WX)⁻¹X'W`` for weights ``w``, from p × p
    matrices only (never the k × k ``P``: a million studies would need 8 TB).

    The weights are held as ``w = c·u`` with ``c = max w`` (so ``0 < u ≤ 1``) and every
    quantity is computed for ``u``: ``P = c·P_u``, so ``y'Py = c·y'P_u y``, ``tr P = c·tr P_u``
    and ``tr PP = c²·tr P_uP_u``. The estimators' steps are written in those terms, so that
    weights of 1e-298 or 1e298 (studies 1e149 standard errors apart) neither underflow nor
    overflow when squared or cubed. With ``A = X'UX``, ``B = X'U²X``:

    * ``P_u y = u ∘ (y − Xβ̂)``, ``β̂ = A⁻¹X'Uy``;
    * ``tr P_u = Σu − tr(A⁻¹B)``;
    * ``tr P_uP_u = Σu² − 2 tr(A⁻¹ X'U³X) + tr(A⁻¹B A⁻¹B)``.
    """

    def __init__(self, w: np.ndarray, X: np.ndarray, y: np.ndarray):
        self.c = float(w.max())
        self.u = w / self.c
        self.X = X
        UX = X * self.u[:, None]
        self.A = X.T @ UX
        try:
            self.beta = np.linalg.solve(self.A, UX.T @ y)
        except np.linalg.LinAlgError:
            raise ValueError("the design matrix is singular: its columns are linearly dependent") from None
        self.Puy = self.u * (y - X @ self.beta)
        self.yPuy = float(y @ self.Puy)

    def q(self) -> float:
        """``y'Py``, the generalised Q statistic."""
        return self.c * self.yPuy

    def _inv_times(self, power: int) -> np.ndarray:
        return np.linalg.solve(self.A, self.X.T @ (self.X * (self.u ** power)[:, None]))

    def trace_u(self) -> float:
        return float(self.u.sum() - np.trace(self._inv_times(2)))

    def trace_squared_u(self) -> float:
        AB = self._inv_times(2)
        return float((self.u * self.u).sum() - 2.0 * np.trace(self._inv_times(3)) + np.sum(AB * AB.T))


def _qgen(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """``y'P_τ y``, the generalised Q at ``τ²``."""
    return _Projection(1.0 / (v + tau2), X, y).q()


def wls(y: np.ndarray, v: np.ndarray, X: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares with known variances ``v``: coefficients and their covariance."""
    X = _design(len(y), X)
    fit = _Projection(1.0 / np.asarray(v, dtype=float), X, np.asarray(y, dtype=float))
    return fit.beta, np.linalg.inv(fit.A) / fit.c


def tau2_estimate(
    y: np.ndarray,
    v: np.ndarray,
    method: Tau2Method = "REML",
    X: np.ndarray | None = None,
    *,
    tol: float = 1e-12,
    maxiter: int = 10_000,
) -> float:
    """Estimate τ² by one of ``FE`` (0), ``DL``, ``PM``, ``REML``, ``ML``, ``HE``, ``SJ``, ``EB``.

    See the module docstring for the formulas. Raises ``ValueError`` when there
    are fewer studies than the model has parameters plus one.
    """
    method = check_option("method", method, TAU2_METHODS)  # type: ignore[assignment]
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = y.size
    X = _design(k, X)
    p = X.shape[1]
    if method == "FE":
        return 0.0
    if k - p < 1:
        raise ValueError(
            f"method={method} needs at least {p + 1} studies to estimate tau2, got {k}"
        )
    # Tolerances and brackets relative to the typical variance: the same answer for data in
    # any unit.
    unit = float(np.median(v))
    # The unweighted projection P₀ (w = 1): y'P₀y and tr(P₀V) = Σv − tr((X'X)⁻¹X'VX).
    ols = _Projection(np.ones(k), X, y)
    y_p0_y = ols.q()
    tr_p0v = float(v.sum() - np.trace(np.linalg.solve(ols.A, X.T @ (X * v[:, None]))))
    if method == "DL":
        P = _Projection(1.0 / v, X, y)
        return max(0.0, (P.yPuy - (k - p) / P.c) / P.trace_u())
    he = (y_p0_y - tr_p0v) / (k - p)
    if method == "HE":
        return max(0.0, he)
    if method == "SJ":
        tau0 = y_p0_y / k
        if tau0 <= 0:
            return 0.0
        return tau0 * _qgen(y, v, X, tau0) / (k - p)
    if method == "PM":
        target = k - p
        if _qgen(y, v, X, 0.0) <= target:
            return 0.0
        hi = max(unit, he, float(np.var(y)))
        while _qgen(y, v, X, hi) > target:
            hi *= 10.0
        return optimize.brentq(lambda t: _qgen(y, v, X, t) - target, 0.0, hi, xtol=tol * 1e-3 * unit,
                               rtol=4 * np.finfo(float).eps)
    tau2 = max(0.0, he)
    for _ in range(maxiter):
        w = 1.0 / (v + tau2)
        P = _Projection(w, X, y)
        # Each step in terms of u = w/c (see _Projection): the c's cancel but for 1/c.
        if method == "ML":
            delta = (float(P.Puy @ P.Puy) - P.u.sum() / P.c) / float((P.u * P.u).sum())
        elif method == "REML":
            delta = (float(P.Puy @ P.Puy) - P.trace_u() / P.c) / P.trace_squared_u()
        else:  # EB
            delta = (P.yPuy * k / (k - p) - k / P.c) / P.u.sum()
        while tau2 + delta < 0:
            delta /= 2.0
        tau2 += delta
        if abs(delta) <= tol * max(unit, tau2):
            return tau2
    raise RuntimeError(f"{method} did not converge in {maxiter} iterations")


def qprofile_ci(
    y: np.ndarray, v: np.ndarray, X: np.ndarray | None = None, level: float = 0.95
) -> tuple[float, float]:
    """Q-profile confidence interval for τ² (Viechtbauer 2007).

    The generalised statistic ``Q(τ²) = Σ(yᵢ − µ̂_τ)²/(vᵢ + τ²)`` decreases in τ²;
    the lower bound solves ``Q(τ²) = χ²_{k−p, 1−α/2}`` and the upper bound
    ``Q(τ²) = χ²_{k−p, α/2}``; a bound is 0 when ``Q(0)`` is already below its target.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    X = _design(y.size, X)
    df = y.size - X.shape[1]
    if df < 1:
        return (np.nan, np.nan)
    alpha = 1.0 - level
    unit = float(np.median(v))  # brackets and tolerance relative to it, as in tau2_estimate
    q0 = _qgen(y, v, X, 0.0)
    bounds = []
    for target in (stats.chi2.ppf(1 - alpha / 2, df), stats.chi2.ppf(alpha / 2, df)):
        if q0 <= target:
            bounds.append(0.0)
            continue
        hi = max(unit, float(np.var(y)))
        while _qgen(y, v, X, hi) > target:
            hi *= 10.0
        bounds.append(
            optimize.brentq(lambda t, c=target: _qgen(y, v, X, t) - c, 0.0, hi,
                            xtol=1e-15 * unit, rtol=4 * np.finfo(float).eps)
        )
    return bounds[0], bounds[1]
