"""Step-function selection models (Vevea & Hedges 1995; metafor's ``selmodel(type = "stepfun")``).

Publication is assumed to depend on each study's one-sided p-value ``pᵢ = 1 − Φ(yᵢ/sᵢ)`` (small
p for large positive effects) through weights that are constant between cut points
``0 < a₁ < … < a_J = 1``: ``ω₁ = 1`` for ``p ≤ a₁``, ``ω_j`` for ``a_{j−1} < p ≤ a_j``. With
``σᵢ² = vᵢ + τ²`` and ``c_j = sᵢ Φ⁻¹(1 − a_j)`` (so ``p ≤ a_j ⇔ y ≥ c_j``), study i's density is
``ω_{j(i)} φ((yᵢ − µ)/σᵢ)/σᵢ / Aᵢ`` with ``Aᵢ = Σ_j ω_j [Φ((c_{j−1} − µ)/σᵢ) − Φ((c_j − µ)/σᵢ)]``.
µ, τ² (0 for a common-effect fit) and ω₂…ω_J are estimated by maximum likelihood (as metafor,
whatever the τ² method of the fit), ω within [1e-4, 100] (metafor's bounds); standard errors from
the inverse of the observed information (numerical second derivatives); the likelihood-ratio test
against no selection compares with the ML random-effects (or common-effect) fit on J − 1 df.

References
----------
Vevea, J. L., Hedges, L. V. (1995). A general linear model for estimating effect size in the
presence of publication bias. Psychometrika 60:419–435.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from .errors import InputError

__all__ = ["SelectionModel", "step_selection_model"]

_OMEGA_BOUNDS = (1e-4, 100.0)


@dataclass(frozen=True)
class SelectionModel:
    """The fit of :func:`step_selection_model`: ``estimate`` (µ) with ``se``, ``z``, ``p``,
    ``ci_low``/``ci_high``; ``tau2``; ``steps`` and the weights ``delta`` (``delta[0] = 1``)
    with ``delta_se``; ``loglik``; ``lrt`` on ``lrt_df`` with ``lrt_p`` against no selection;
    ``n_per_interval``: studies whose p-value falls in each interval."""

    estimate: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float
    tau2: float
    steps: tuple[float, ...]
    delta: tuple[float, ...]
    delta_se: tuple[float, ...]
    loglik: float
    lrt: float
    lrt_df: int
    lrt_p: float
    n_per_interval: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _loglik(mu, tau2, omega, y, v, interval, cuts):
    s = np.sqrt(v)
    sig = np.sqrt(v + tau2)
    c = s[:, None] * cuts[None, :]  # (k, J + 1): c_0 = +inf … c_J = −inf
    with np.errstate(invalid="ignore"):
        upper = special.ndtr((c[:, :-1] - mu) / sig[:, None])
        lower = special.ndtr((c[:, 1:] - mu) / sig[:, None])
    mass = (omega[None, :] * (upper - lower)).sum(axis=1)
    z = (y - mu) / sig
    return float(np.sum(np.log(omega[interval]) - 0.5 * z * z - np.log(sig) - 0.5 * np.log(2 * np.pi)
                        - np.log(mass)))


def step_selection_model(y: np.ndarray, v: np.ndarray, steps=(0.025, 1.0), *, random: bool = True,
                         level: float = 0.95) -> SelectionModel:
    """Fit the step-function selection model (module docstring) to effects ``y`` with
    variances ``v``; ``random=False`` fixes τ² = 0 (a common-effect fit).

    Raises
    ------
    InputError
        Cut points not increasing in (0, 1] ending at 1, or an interval without a study (its
        weight is not identified: merge cut points).
    """
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    steps = tuple(float(a) for a in steps)
    if not steps or steps[-1] != 1.0 or any(b <= a for a, b in zip(steps, steps[1:], strict=False)) \
            or steps[0] <= 0:
        raise InputError(f"steps must increase within (0, 1] and end at 1, got {list(steps)}")
    p_one = special.ndtr(-y / np.sqrt(v))
    interval = np.searchsorted(np.array(steps), p_one, side="left")
    counts = np.bincount(interval, minlength=len(steps))
    if np.any(counts == 0):
        j = int(np.flatnonzero(counts == 0)[0])
        lo = 0.0 if j == 0 else steps[j - 1]
        raise InputError(f"no study has a one-sided p-value in ({lo:g}, {steps[j]:g}]: its weight "
                         "cannot be estimated; merge that cut point with a neighbour")
    cuts = np.concatenate([[np.inf], special.ndtri(1 - np.array(steps[:-1])), [-np.inf]])
    n_w = len(steps) - 1
    w_fe = 1 / v
    mu0 = float((w_fe * y).sum() / w_fe.sum())
    tau0 = max(float(np.var(y)) - float(np.mean(v)), 0.01 * float(np.mean(v))) if random else 0.0

    def unpack(theta):
        mu = theta[0]
        tau2 = np.exp(theta[1]) if random else 0.0
        omega = np.concatenate([[1.0], np.exp(theta[1 + random:])])
        return mu, tau2, omega

    def nll(theta):
        mu, tau2, omega = unpack(theta)
        val = -_loglik(mu, tau2, omega, y, v, interval, cuts)
        return val if np.isfinite(val) else 1e300

    lw = np.log(_OMEGA_BOUNDS)
    start = np.concatenate([[mu0], [np.log(tau0)] if random else [], np.zeros(n_w)])
    bounds = [(None, None)] + ([(np.log(1e-12 * np.mean(v)), np.log(1e6 * np.var(y) + 1e6 * np.mean(v)))]
                               if random else []) + [tuple(lw)] * n_w
    best = optimize.minimize(nll, start, method="L-BFGS-B", bounds=bounds,
                             options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    for _ in range(3):  # polish from the optimum (L-BFGS-B stops early on flat ridges)
        again = optimize.minimize(nll, best.x, method="L-BFGS-B", bounds=bounds,
                                  options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
        if again.fun >= best.fun - 1e-12:
            break
        best = again
    mu, tau2, omega = unpack(best.x)
    # τ² at its lower bound: the fit at τ² = 0 (the ML estimate on the boundary).
    natural = np.concatenate([[mu], [tau2] if random else [], omega[1:]])

    def nll_natural(x):
        t = x[1] if random else 0.0
        om = np.concatenate([[1.0], x[1 + random:]])
        if t < 0 or np.any(om <= 0):
            return np.inf
        return -_loglik(x[0], t, om, y, v, interval, cuts)

    cov = np.linalg.inv(_hessian(nll_natural, natural))
    se_all = np.sqrt(np.maximum(np.diag(cov), 0.0))
    ll = -float(best.fun)
    # No selection: the ML random-effects (common-effect) fit, by the same likelihood with ω = 1.
    from .kernels.random_effects import random_effects_kernel

    r = random_effects_kernel(y, v, method="ML" if random else "FE", ci=False)
    ll0 = _loglik(float(r.coef[0, 0]), float(r.tau2[0]), np.ones(len(steps)), y, v, interval, cuts)
    lrt = max(0.0, 2 * (ll - ll0))
    se = float(se_all[0])
    crit = float(special.ndtri(0.5 + level / 2))
    z = mu / se
    return SelectionModel(float(mu), se, float(z), float(2 * special.ndtr(-abs(z))),
                          float(mu - crit * se), float(mu + crit * se), float(tau2), steps,
                          tuple(float(o) for o in omega),
                          (float("nan"), *map(float, se_all[1 + random:])), ll, lrt, n_w,
                          float(special.chdtrc(n_w, lrt)), tuple(int(c) for c in counts))


def _hessian(f, x, rel=1e-4):
    """Central second differences of f at x (steps ``rel × max(|xᵢ|, 1e-3)``)."""
    n = x.size
    h = rel * np.maximum(np.abs(x), 1e-3)
    out = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        for j in range(i, n):
            if i == j:
                e = np.zeros(n)
                e[i] = h[i]
                out[i, i] = (f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2
            else:
                ei, ej = np.zeros(n), np.zeros(n)
                ei[i], ej[j] = h[i], h[j]
                out[i, j] = out[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                         + f(x - ei - ej)) / (4 * h[i] * h[j])
    return out
