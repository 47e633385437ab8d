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
report the converged root, which metafor gives with tight control settings.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from ._options import TAU2_METHODS, Tau2Method, check_option

__all__ = ["qprofile_ci", "tau2_estimate", "wls"]


def _design(k: int, X: np.ndarray | None) -> np.ndarray:
    return np.ones((k, 1)) if X is None else np.asarray(X, dtype=float).reshape(k, -1)


def _proj(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


def _qgen(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    P = _proj(1.0 / (v + tau2), X)
    return float(y @ P @ y)


def wls(y: np.ndarray, v: np.ndarray, X: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares with known variances ``v``: coefficients and their covariance."""
    X = _design(len(y), X)
    WX = X / v[:, None]
    cov = np.linalg.inv(X.T @ WX)
    return cov @ (WX.T @ y), cov


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
    P0 = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
    if method == "DL":
        P = _proj(1.0 / v, X)
        return max(0.0, (float(y @ P @ y) - (k - p)) / float(np.trace(P)))
    he = (float(y @ P0 @ y) - float(np.trace(P0 * v))) / (k - p)
    if method == "HE":
        return max(0.0, he)
    if method == "SJ":
        tau0 = float(y @ P0 @ y) / k
        if tau0 <= 0:
            return 0.0
        return tau0 * _qgen(y, v, X, tau0) / (k - p)
    if method == "PM":
        target = k - p
        if _qgen(y, v, X, 0.0) <= target:
            return 0.0
        hi = max(1.0, he, float(np.var(y)))
        while _qgen(y, v, X, hi) > target:
            hi *= 10.0
        return optimize.brentq(lambda t: _qgen(y, v, X, t) - target, 0.0, hi, xtol=tol * 1e-3,
                               rtol=4 * np.finfo(float).eps)
    tau2 = max(0.0, he)
    for _ in range(maxiter):
        w = 1.0 / (v + tau2)
        P = _proj(w, X)
        Py = P @ y
        if method == "ML":
            delta = (float(Py @ Py) - w.sum()) / float((w * w).sum())
        elif method == "REML":
            delta = (float(Py @ Py) - float(np.trace(P))) / float((P * P).sum())
        else:  # EB
            delta = (float(y @ Py) * k / (k - p) - k) / w.sum()
        while tau2 + delta < 0:
            delta /= 2.0
        tau2 += delta
        if abs(delta) <= tol * max(1.0, tau2):
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
    q0 = _qgen(y, v, X, 0.0)
    bounds = []
    for target in (stats.chi2.ppf(1 - alpha / 2, df), stats.chi2.ppf(alpha / 2, df)):
        if q0 <= target:
            bounds.append(0.0)
            continue
        hi = max(1.0, float(np.var(y)))
        while _qgen(y, v, X, hi) > target:
            hi *= 10.0
        bounds.append(
            optimize.brentq(lambda t, c=target: _qgen(y, v, X, t) - c, 0.0, hi,
                            xtol=1e-15, rtol=4 * np.finfo(float).eps)
        )
    return bounds[0], bounds[1]
