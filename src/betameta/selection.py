"""Selection models for publication bias (metafor's ``selmodel``).

The step function of Vevea & Hedges (1995) and the beta weight function of Citkowicz & Vevea (2017).

Publication is assumed to depend on each study's one-sided p-value ``pᵢ = 1 − Φ(yᵢ/sᵢ)`` (small
p for large positive effects) through a weight ``w(p)``. With ``σᵢ² = vᵢ + τ²`` study i's
density is ``w(pᵢ) φ((yᵢ − µ)/σᵢ)/σᵢ / Aᵢ`` with ``Aᵢ = ∫ w(p(y)) φ((y − µ)/σᵢ)/σᵢ dy``.

``type="stepfun"``: ``w`` is constant between cut points ``0 < a₁ < … < a_J = 1``: ``ω₁ = 1``
for ``p ≤ a₁``, ``ω_j`` for ``a_{j−1} < p ≤ a_j``. With ``c_j = sᵢ Φ⁻¹(1 − a_j)`` (so
``p ≤ a_j ⇔ y ≥ c_j``), ``Aᵢ = Σ_j ω_j [Φ((c_{j−1} − µ)/σᵢ) − Φ((c_j − µ)/σᵢ)]``; ω within
[1e-4, 100] (metafor's bounds).

``type="beta"``: ``w(p) = p^(δ₁−1) (1 − p)^(δ₂−1)`` with p truncated to [1e-5, 1 − 1e-5] (as
metafor does, so that the weight stays finite), δ within [1e-5, 100]; ``Aᵢ`` is the two constant
tails ``w(1e-5) [1 − Φ((c₊ − µ)/σᵢ)] + w(1 − 1e-5) Φ((c₋ − µ)/σᵢ)``, ``c± = ±sᵢ Φ⁻¹(1 − 1e-5)``,
plus the integral between them by composite Gauss–Legendre quadrature (16 panels of 16 nodes
over the part of ``(c₋, c₊)`` within µ ± 40σᵢ; tested against adaptive quadrature to 1e-11).

µ, τ² (0 for a common-effect fit) and the weights are estimated by maximum likelihood (as
metafor, whatever the τ² method of the fit; a τ² that runs to 0 is refitted at 0); standard
errors from the inverse of the observed information (numerical second derivatives); the
likelihood-ratio test against no selection (all ω = 1, or δ₁ = δ₂ = 1) compares with the ML
random-effects (or common-effect) fit on as many degrees of freedom as weight parameters.

References
----------
Vevea, J. L., Hedges, L. V. (1995). A general linear model for estimating effect size in the
presence of publication bias. Psychometrika 60:419–435.

Citkowicz, M., Vevea, J. L. (2017). A parsimonious weight function for modeling publication
bias. Psychological Methods 22:28–41.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, special

from ._options import SELECTION_TYPES, SelectionType, check_option
from ._results import Result, Summary
from .errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SelectionModel", "selection_model"]

_P_MIN = 1e-5  # metafor's truncation of p for the beta weight function
_CUT = float(special.ndtri(1 - _P_MIN))  # |y/s| beyond which p is truncated
_PANELS = 16
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_NODES = 0.5 * (_GL_X + 1)  # on [0, 1] within a panel
_WEIGHTS = np.tile(_GL_W, _PANELS)  # every panel's weights, in node order


@dataclass(frozen=True, repr=False)
class SelectionModel(Result):
    """The fit of :func:`selection_model`: ``type``.

    ``estimate`` (µ) with ``se``, ``z``, ``p``, ``ci_low``/``ci_high``; ``tau2``; the weight parameters
    ``delta`` with ``delta_se`` (step function: ``delta[0] = 1``, fixed, se NaN; beta: δ₁, δ₂); ``steps``
    (empty for beta); ``loglik``; ``lrt`` on ``lrt_df`` with ``lrt_p`` against no selection;
    ``n_per_interval``: studies whose p-value falls in each step interval (empty for beta).

    Parameters
    ----------
    type : str
        ``"stepfun"`` or ``"beta"``.
    estimate, se, z, p, ci_low, ci_high : float
        µ adjusted for selection, with its Wald test and interval.
    tau2 : float
        τ² adjusted for selection (0 for a common-effect fit).
    steps : tuple of float
        The step function's cut points in one-sided p (empty for beta).
    delta, delta_se : tuple of float
        The weight function's parameters and their standard errors.
    loglik : float
        The maximised log-likelihood.
    lrt, lrt_df, lrt_p : float
        The likelihood-ratio test against no selection.
    n_per_interval : tuple of int
        The number of studies in each step interval (empty for beta).

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> sel = fit.selection_model(type="beta")
    >>> round(sel.estimate, 4), sel.lrt_df
    (-0.7894, 2)
    """

    type: str
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

    def to_frame(self) -> pd.DataFrame:
        """Return the parameters as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per parameter: ``mu`` (with ``se``, ``ci_low``, ``ci_high`` and ``p``),
            ``tau2``, and ``delta_1``, ``delta_2``, … with their ``se``.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> fit.selection_model(type="beta").to_frame()["parameter"].tolist()
        ['mu', 'tau2', 'delta_1', 'delta_2']
        """
        import pandas as pd

        nan = float("nan")
        rows = [{"parameter": "mu", "estimate": self.estimate, "se": self.se, "ci_low": self.ci_low,
                 "ci_high": self.ci_high, "p": self.p},
                {"parameter": "tau2", "estimate": self.tau2, "se": nan, "ci_low": nan,
                 "ci_high": nan, "p": nan}]
        rows += [{"parameter": f"delta_{j + 1}", "estimate": d, "se": se, "ci_low": nan,
                  "ci_high": nan, "p": nan}
                 for j, (d, se) in enumerate(zip(self.delta, self.delta_se, strict=True))]
        return pd.DataFrame(rows)

    def summary(self) -> Summary:
        """Return the parameter table, titled with the test of no selection.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> print(fit.selection_model(type="beta").summary().title)
        Selection model (beta): log-likelihood -11.9529; LRT of no selection 1.424 on 2 df, p = 0.4906
        """
        return Summary(f"Selection model ({self.type}): log-likelihood {self.loglik:.4f}; LRT of no "
                       f"selection {self.lrt:.4g} on {self.lrt_df} df, p = {self.lrt_p:.4g}",
                       self.to_frame())


class _StepWeights:
    """ω₂…ω_J of the step function (ω₁ = 1)."""

    bounds = (1e-4, 100.0)

    def __init__(self, y, v, steps):
        if not steps or steps[-1] != 1.0 or steps[0] <= 0 \
                or any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise InputError(f"steps must increase within (0, 1] and end at 1, got {list(steps)}")
        p_one = special.ndtr(-y / np.sqrt(v))
        self.interval = np.searchsorted(np.array(steps), p_one, side="left")
        self.counts = np.bincount(self.interval, minlength=len(steps))
        if np.any(self.counts == 0):
            j = int(np.flatnonzero(self.counts == 0)[0])
            lo = 0.0 if j == 0 else steps[j - 1]
            raise InputError(f"no study has a one-sided p-value in ({lo:g}, {steps[j]:g}]: its "
                             "weight cannot be estimated; merge that cut point with a neighbour")
        cuts = np.concatenate([[np.inf], special.ndtri(1 - np.array(steps[:-1])), [-np.inf]])
        self.c = np.sqrt(v)[:, None] * cuts[None, :]  # (k, J + 1): c_0 = +inf … c_J = −inf
        self.n = len(steps) - 1
        self.null = np.ones(self.n)

    def log_weight(self, delta):
        return np.log(np.concatenate([[1.0], delta]))[self.interval]

    def mass(self, mu, sig, delta):
        omega = np.concatenate([[1.0], delta])
        with np.errstate(invalid="ignore"):
            upper = special.ndtr((self.c[:, :-1] - mu) / sig[:, None])
            lower = special.ndtr((self.c[:, 1:] - mu) / sig[:, None])
        return (omega[None, :] * (upper - lower)).sum(axis=1)


class _BetaWeights:
    """δ₁, δ₂ of the beta weight function."""

    bounds = (1e-5, 100.0)
    n = 2
    null = np.ones(2)
    counts = ()  # no intervals

    def __init__(self, y, v):
        self.s = np.sqrt(v)
        z = np.clip(y / self.s, -_CUT, _CUT)
        self.log_p, self.log_q = special.log_ndtr(-z), special.log_ndtr(z)

    def log_weight(self, delta):
        return (delta[0] - 1) * self.log_p + (delta[1] - 1) * self.log_q

    def mass(self, mu, sig, delta):
        d1, d2 = delta[0] - 1, delta[1] - 1
        hi, lo = _CUT * self.s, -_CUT * self.s
        w_hi = np.exp(d1 * np.log(_P_MIN) + d2 * np.log1p(-_P_MIN))  # p ≤ 1e-5: y ≥ c₊
        w_lo = np.exp(d1 * np.log1p(-_P_MIN) + d2 * np.log(_P_MIN))
        tails = w_hi * special.ndtr((mu - hi) / sig) + w_lo * special.ndtr((lo - mu) / sig)
        a, b = np.maximum(lo, mu - 40 * sig), np.minimum(hi, mu + 40 * sig)
        width = np.maximum(b - a, 0.0) / _PANELS
        left = a[:, None] + width[:, None] * np.arange(_PANELS)[None, :]
        yy = (left[:, :, None] + width[:, None, None] * _NODES).reshape(len(a), -1)
        x = yy / self.s[:, None]
        t = (yy - mu) / sig[:, None]
        f = np.exp(d1 * special.log_ndtr(-x) + d2 * special.log_ndtr(x) - 0.5 * t * t)
        inner = (f * _WEIGHTS).sum(axis=1) * 0.5 * width / (sig * np.sqrt(2 * np.pi))
        return tails + inner


def _loglik(mu, tau2, delta, y, v, weights):
    sig = np.sqrt(v + tau2)
    z = (y - mu) / sig
    # A weight function putting no mass where the data are gives log 0: an infinite value the
    # optimiser's objective turns into a large finite one, so no warning is wanted.
    with np.errstate(divide="ignore"):
        log_mass = np.log(weights.mass(mu, sig, delta))
    return float(np.sum(weights.log_weight(delta) - 0.5 * z * z - np.log(sig)
                        - 0.5 * np.log(2 * np.pi) - log_mass))


def _maximise(nll, start, bounds):
    """L-BFGS-B from ``start``, polished from its own optimum (it stops early on flat ridges)."""
    opts = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000}
    best = optimize.minimize(nll, start, method="L-BFGS-B", bounds=bounds, options=opts)
    for _ in range(3):
        again = optimize.minimize(nll, best.x, method="L-BFGS-B", bounds=bounds, options=opts)
        if again.fun >= best.fun - 1e-12:
            break
        best = again
    return best


def selection_model(y: np.ndarray, v: np.ndarray, *, type: SelectionType = "stepfun",
                    steps: tuple[float, ...] | None = None, random: bool = True,
                    level: float = 0.95) -> SelectionModel:
    """Fit a selection model (module docstring) to effects ``y`` with variances ``v``.

    Parameters
    ----------
    y, v : array_like
        Effect estimates and their sampling variances.
    type : {"stepfun", "beta"}
        Step-function (Vevea–Hedges) or beta (Citkowicz–Vevea) weight function.
    steps : tuple of float, optional
        Cut points of the step function, increasing in (0, 1] and ending at 1 (default
        ``(0.025, 1)``); not used by the beta model.
    random : bool
        ``False`` fixes τ² = 0 (a common-effect fit).
    level : float
        Confidence level of the interval for µ.

    Returns
    -------
    SelectionModel

    Raises
    ------
    InputError
        Cut points not increasing in (0, 1] ending at 1, or an interval without a study (its
        weight is not identified: merge cut points).
    ValueError
        An unknown ``type``, or ``steps`` given for the beta model.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0.1, 0.3, 0.5, 0.2, 0.8, 0.05, 0.4])
    >>> v = np.array([0.01, 0.04, 0.09, 0.02, 0.16, 0.01, 0.05])
    >>> fit = selection_model(y, v, type="beta", random=False)
    >>> fit.type, fit.lrt_df
    ('beta', 2)
    """
    type = check_option("type", type, SELECTION_TYPES)
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    if type == "beta":
        if steps is not None:
            raise InputError("steps apply to the step-function model only (type='stepfun')")
        weights, steps = _BetaWeights(y, v), ()
    else:
        steps = tuple(float(a) for a in (steps if steps is not None else (0.025, 1.0)))
        weights = _StepWeights(y, v, steps)
    n_w = weights.n
    w_fe = 1 / v
    mu0 = float((w_fe * y).sum() / w_fe.sum())
    lw = tuple(np.log(weights.bounds))

    def fit(with_tau):
        def unpack(theta):
            return theta[0], (np.exp(theta[1]) if with_tau else 0.0), np.exp(theta[1 + with_tau:])

        def nll(theta):
            mu, tau2, delta = unpack(theta)
            val = -_loglik(mu, tau2, delta, y, v, weights)
            return val if np.isfinite(val) else 1e300

        tau0 = max(float(np.var(y)) - float(np.mean(v)), 0.01 * float(np.mean(v)))
        tau_bounds = [(np.log(1e-12 * np.mean(v)), np.log(1e6 * np.var(y) + 1e6 * np.mean(v)))]
        bounds = [(None, None)] + (tau_bounds if with_tau else []) + [lw] * n_w
        # The likelihood can have several maxima (a weight function trades against µ and τ²):
        # start from the common-effect estimate, the extremes and the median of the effects,
        # each with a small and a large τ².
        best = None
        taus = (tau0, max(float(np.var(y)), float(np.mean(v)))) if with_tau else (None,)
        for m in (mu0, *np.quantile(y, (0.0, 0.5, 1.0))):
            for t in taus:
                start = np.concatenate([[m], [np.log(t)] if with_tau else [], np.zeros(n_w)])
                res = _maximise(nll, start, bounds)
                if best is None or res.fun < best.fun:
                    best = res
        return (*unpack(best.x), -float(best.fun))

    mu, tau2, delta, ll = fit(random)
    if random and tau2 < 1e-6 * float(np.mean(v)):  # τ² runs to its bound: the ML fit at τ² = 0
        at_zero = fit(False)
        if at_zero[3] >= ll - 1e-12:
            mu, tau2, delta, ll = at_zero
    free_tau = random and tau2 > 0
    natural = np.concatenate([[mu], [tau2] if free_tau else [], delta])

    def nll_natural(x):
        t = x[1] if free_tau else 0.0
        d = x[1 + free_tau:]
        if t < 0 or np.any(d <= 0):
            return np.inf
        return -_loglik(x[0], t, d, y, v, weights)

    cov = np.linalg.inv(_hessian(nll_natural, natural))
    se_all = np.sqrt(np.maximum(np.diag(cov), 0.0))
    # No selection: the ML random-effects (common-effect) fit, by the same likelihood.
    from .kernels.random_effects import random_effects_kernel

    r = random_effects_kernel(y, v, method="ML" if random else "FE", ci=False)
    ll0 = _loglik(float(r.coef[0, 0]), float(r.tau2[0]), weights.null, y, v, weights)
    lrt = max(0.0, 2 * (ll - ll0))
    se = float(se_all[0])
    crit = float(special.ndtri(0.5 + level / 2))
    z = mu / se
    delta_se = tuple(map(float, se_all[1 + free_tau:]))
    if type == "stepfun":
        delta, delta_se = np.concatenate([[1.0], delta]), (float("nan"), *delta_se)
    return SelectionModel(type, float(mu), se, float(z), float(2 * special.ndtr(-abs(z))),
                          float(mu - crit * se), float(mu + crit * se), float(tau2), steps,
                          tuple(map(float, delta)), delta_se, ll, lrt, n_w,
                          float(special.chdtrc(n_w, lrt)),
                          tuple(int(c) for c in weights.counts))


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
