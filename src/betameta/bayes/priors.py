"""Priors for the heterogeneity τ and the mean µ of the normal–normal model.

A :class:`TauPrior` is a density on τ ≥ 0. Densities declared on τ² or on the
precision λ = 1/τ² are carried to τ with their Jacobians:
``p_τ(τ) = p_{τ²}(τ²) · 2τ`` and ``p_τ(τ) = p_λ(τ⁻²) · 2τ⁻³``. Each prior knows
its support (so the integration can place a panel edge on a jump), whether it
is proper, and is normalised when proper (marginal likelihoods need that).

The vague priors of Lambert et al. (2005) as named in the lecture:

==== ===========================================  ==========================
L1   τ⁻² ~ Gamma(0.001, 0.001)                    :func:`gamma_precision`
L3   log τ² ~ Uniform(−10, 10)                    :func:`log_uniform` on τ
L5   τ⁻² ~ Uniform(1/1000, 1000)                  :func:`uniform_precision`
L7   τ⁻² ~ Pareto(1, 0.001) (τ² ~ U(0, 1000))     :func:`pareto_precision`
L9   τ ~ Uniform(0, 100)                          :func:`uniform`
L11  τ ~ N(0, 100) truncated at 0 (sd 10)         :func:`half_normal`
==== ===========================================  ==========================
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import integrate, special

from .._options import check_probability
from ..errors import InputError

__all__ = [
    "LAMBERT",
    "UNIT_FREE",
    "MuPrior",
    "TauPrior",
    "custom",
    "default_tau_prior",
    "dumouchel",
    "exponential",
    "fixed_tau",
    "fixed_tau2",
    "flat_mu",
    "flat_tau",
    "gamma_precision",
    "gamma_tau2",
    "half_cauchy",
    "half_normal",
    "half_t",
    "inverse_gamma_tau2",
    "jeffreys",
    "lambert",
    "log_normal",
    "log_uniform",
    "normal_mu",
    "pareto_precision",
    "parse_mu_prior",
    "parse_tau_prior",
    "prior_quantile",
    "resolve_tau_prior",
    "uisd",
    "uniform",
    "uniform_precision",
    "uniform_shrinkage",
    "uniform_tau2",
]

_LOG2 = np.log(2.0)


@dataclass(frozen=True)
class TauPrior:
    """A prior density on τ.

    Parameters
    ----------
    name : str
        Readable description, e.g. ``"half-normal(0.5)"``.
    logpdf : callable or None
        ``logpdf(tau, v)`` → log density on τ (normalised when proper), for ``tau`` of
        shape (n, m) and the (k, m) within-study variances ``v`` of m meta-analyses
        (used only by data-dependent priors).
        ``None`` for a point mass.
    support : (float, float)
        Where the density is positive.
    proper : bool
        Whether the density integrates to one.
    fixed : float or None
        τ of a point-mass prior.
    params : dict
        Family name and parameters of built-in priors (``{"family": "halfnormal",
        "scale": 1.0}``), so other engines (PyMC) can rebuild the same prior.

    Examples
    --------
    >>> from betameta.bayes.priors import half_normal
    >>> prior = half_normal(0.5)
    >>> prior.name, prior.proper, prior.params
    ('half-normal(0.5)', True, {'family': 'halfnormal', 'scale': 0.5})
    >>> round(float(prior(0.5)), 4)
    0.9679
    """

    name: str
    logpdf: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    support: tuple[float, float] = (0.0, np.inf)
    proper: bool = True
    fixed: float | None = None
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def __call__(self, tau: np.ndarray | float, v: np.ndarray | None = None) -> np.ndarray:
        """Density ``p(τ)`` (for plotting; a point mass has none)."""
        if self.logpdf is None:
            raise InputError(f"{self.name} is a point mass and has no density")
        tau = np.asarray(tau, dtype=float)
        vv = np.ones((1, 1)) if v is None else np.asarray(v, dtype=float).reshape(-1, 1)
        lo, hi = self.support
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.exp(self.logpdf(tau.reshape(-1, 1), vv)).reshape(tau.shape)
        return np.where((tau >= lo) & (tau <= hi), out, 0.0)

    def __repr__(self) -> str:
        return f"TauPrior({self.name}{'' if self.proper else ', improper'})"


@dataclass(frozen=True)
class MuPrior:
    """Prior of µ: flat (``sd = inf``) or ``N(mean, sd²)``; ``sd = 0`` is a point mass.

    Parameters
    ----------
    mean : float
        The prior mean (unused when flat).
    sd : float
        The prior SD: ``inf`` for the improper flat prior, 0 for µ fixed at ``mean``.

    Examples
    --------
    >>> from betameta.bayes.priors import MuPrior
    >>> MuPrior(0.0, 4.0), MuPrior().proper
    (MuPrior(normal(0, sd=4)), False)
    """

    mean: float = 0.0
    sd: float = np.inf

    @property
    def proper(self) -> bool:
        """Whether the prior is proper (a finite sd)."""
        return bool(np.isfinite(self.sd))

    @property
    def scale(self) -> float:
        """The prior's sd.

        The exact engine's tail scan looks beyond it (as for a meta-regression's
        :class:`~betameta.kernels.exact.CoefficientPrior`).
        """
        return self.sd

    @property
    def name(self) -> str:
        """The prior as written in the grammar."""
        return "flat" if not self.proper else f"normal({self.mean:g}, sd={self.sd:g})"

    def __repr__(self) -> str:
        return f"MuPrior({self.name})"


def flat_mu() -> MuPrior:
    """Return the improper uniform prior on µ.

    Returns
    -------
    MuPrior
        ``sd`` infinite: no marginal likelihood or Bayes factor for µ.

    Examples
    --------
    >>> flat_mu().proper
    False
    """
    return MuPrior()


def normal_mu(mean: float = 0.0, sd: float = 10.0) -> MuPrior:
    """Return the normal prior ``µ ~ N(mean, sd²)``.

    Parameters
    ----------
    mean : float
        Prior mean.
    sd : float
        Prior standard deviation (> 0).

    Returns
    -------
    MuPrior
        The prior.

    Raises
    ------
    InputError
        ``sd`` not > 0.

    Examples
    --------
    >>> normal_mu(0, 10).name
    'normal(0, sd=10)'
    """
    if not sd > 0:
        raise InputError(f"the normal prior of mu needs sd > 0, got {sd}")
    return MuPrior(float(mean), float(sd))


def _positive(name: str, **values: float) -> None:
    for key, value in values.items():
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{name}: {key} must be a finite number > 0, got {value}")


def _on_tau2(logpdf2: Callable[[np.ndarray], np.ndarray]) -> Callable:
    return lambda tau, v: logpdf2(tau * tau) + _LOG2 + np.log(tau)


def _on_precision(logpdf_l: Callable[[np.ndarray], np.ndarray]) -> Callable:
    return lambda tau, v: logpdf_l(1.0 / (tau * tau)) + _LOG2 - 3.0 * np.log(tau)


def fixed_tau(tau: float) -> TauPrior:
    """Return a point mass at τ.

    Parameters
    ----------
    tau : float
        The heterogeneity (finite, ≥ 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``tau`` negative or not finite.

    Notes
    -----
    The model given τ; τ = 0 is the common-effect model.

    Examples
    --------
    >>> fixed_tau(0.3).fixed
    0.3
    """
    if not (np.isfinite(tau) and tau >= 0):
        raise InputError(f"fixed tau must be finite and >= 0, got {tau}")
    return TauPrior(f"tau = {tau:g}", None, (tau, tau), True, float(tau))


def fixed_tau2(tau2: float) -> TauPrior:
    """Return a point mass at τ².

    Parameters
    ----------
    tau2 : float
        The heterogeneity variance (finite, ≥ 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``tau2`` negative or not finite.

    Examples
    --------
    >>> p = fixed_tau2(0.25)
    >>> p.name, p.fixed
    ('tau2 = 0.25', 0.5)
    """
    if not (np.isfinite(tau2) and tau2 >= 0):
        raise InputError(f"fixed tau2 must be finite and >= 0, got {tau2}")
    return replace(fixed_tau(float(np.sqrt(tau2))), name=f"tau2 = {tau2:g}")


# Log densities written out (scipy.stats' logpdf costs ~0.3 ms a call in argument checks,
# several times per fit); the reference grid (tests/bayes/test_exact_grid.py) checks them.
def _half_normal_logpdf(scale: float) -> Callable:
    c = _LOG2 - 0.5 * np.log(2 * np.pi) - np.log(scale)
    return lambda t, v: c - 0.5 * (t / scale) ** 2


def _half_t_logpdf(scale: float, df: float) -> Callable:
    c = (_LOG2 + special.gammaln((df + 1) / 2) - special.gammaln(df / 2)
         - 0.5 * np.log(df * np.pi) - np.log(scale))
    return lambda t, v: c - (df + 1) / 2 * np.log1p((t / scale) ** 2 / df)


def half_normal(scale: float) -> TauPrior:
    """Return the half-normal prior ``τ ~ |N(0, scale²)|``.

    Parameters
    ----------
    scale : float
        Scale (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``scale`` not a finite number > 0.

    Notes
    -----
    ``p(τ) = 2φ(τ/scale)/scale``, τ ≥ 0.

    Examples
    --------
    >>> p = half_normal(1.0)
    >>> p.name, round(float(p(1.0)), 4)
    ('half-normal(1)', 0.4839)
    """
    _positive("half-normal", scale=scale)
    return TauPrior(f"half-normal({scale:g})",
                    _half_normal_logpdf(scale),
                    params={"family": "halfnormal", "scale": scale})


def half_t(scale: float, df: float) -> TauPrior:
    """Return the half-Student-t prior ``τ ~ scale·|t_df|``.

    Parameters
    ----------
    scale : float
        Scale (> 0).
    df : float
        Degrees of freedom (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``scale`` or ``df`` not a finite number > 0.

    Notes
    -----
    ``p(τ) = 2Γ((df+1)/2)/(Γ(df/2)√(dfπ) scale)·(1 + (τ/scale)²/df)^(−(df+1)/2)``.

    Examples
    --------
    >>> round(float(half_t(1.0, 3.0)(0.0)), 4)
    0.7351
    """
    _positive("half-t", scale=scale, df=df)
    return TauPrior(f"half-t({scale:g}, df={df:g})",
                    _half_t_logpdf(scale, df),
                    params={"family": "halft", "scale": scale, "df": df})


def half_cauchy(scale: float) -> TauPrior:
    """Return the half-Cauchy prior ``τ ~ |Cauchy(0, scale)|``.

    Parameters
    ----------
    scale : float
        Scale (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``scale`` not a finite number > 0.

    Notes
    -----
    ``p(τ) = 2/(π scale (1 + (τ/scale)²))``.

    Examples
    --------
    >>> round(float(half_cauchy(1.0)(1.0)), 4)
    0.3183
    """
    _positive("half-Cauchy", scale=scale)
    return TauPrior(f"half-Cauchy({scale:g})",
                    lambda t, v: np.log(2 / (np.pi * scale)) - np.log1p((t / scale) ** 2),
                    params={"family": "halfcauchy", "scale": scale})


def exponential(rate: float) -> TauPrior:
    """Return the exponential prior ``τ ~ Exp(rate)``.

    Parameters
    ----------
    rate : float
        Rate (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``rate`` not a finite number > 0.

    Notes
    -----
    ``p(τ) = rate·exp(−rate τ)``.

    Examples
    --------
    >>> round(float(exponential(2.0)(0.5)), 4)
    0.7358
    """
    _positive("exponential", rate=rate)
    return TauPrior(f"exponential({rate:g})", lambda t, v: np.log(rate) - rate * t,
                    params={"family": "exponential", "rate": rate})


def log_normal(mu: float, sigma: float) -> TauPrior:
    """Return the log-normal prior ``log τ ~ N(mu, sigma²)``.

    Parameters
    ----------
    mu : float
        Mean of log τ.
    sigma : float
        Standard deviation of log τ (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``sigma`` not a finite number > 0.

    Examples
    --------
    >>> round(float(log_normal(0.0, 1.0)(1.0)), 4)
    0.3989
    """
    _positive("log-normal", sigma=sigma)
    return TauPrior(f"log-normal({mu:g}, {sigma:g})",
                    lambda t, v: (-np.log(t * sigma * np.sqrt(2 * np.pi))
                                  - (np.log(t) - mu) ** 2 / (2 * sigma * sigma)))


def uniform(lower: float = 0.0, upper: float = np.inf) -> TauPrior:
    """Return the uniform prior ``τ ~ U(lower, upper)``.

    Parameters
    ----------
    lower, upper : float
        The range, ``0 ≤ lower < upper``; an infinite ``upper`` gives the improper flat prior.

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``lower`` negative or not below ``upper``.

    Examples
    --------
    >>> p = uniform(0, 2)
    >>> p.name, float(p(1.0)), float(p(3.0))
    ('uniform(0, 2)', 0.5, 0.0)
    """
    if not (0 <= lower < upper):
        raise InputError(f"uniform prior on tau needs 0 <= lower < upper, got {lower}, {upper}")
    if not np.isfinite(upper):
        return flat_tau()
    c = -np.log(upper - lower)
    return TauPrior(f"uniform({lower:g}, {upper:g})", lambda t, v: np.full_like(t, c),
                    (lower, upper), params={"family": "uniform", "lower": lower, "upper": upper})


def flat_tau() -> TauPrior:
    """Return the improper uniform prior on τ > 0.

    Returns
    -------
    TauPrior
        The prior.

    Examples
    --------
    >>> flat_tau().proper
    False
    """
    return TauPrior("uniform(0, inf)", lambda t, v: np.zeros_like(t), proper=False)


def uniform_tau2(lower: float = 0.0, upper: float = np.inf) -> TauPrior:
    """Return the uniform prior ``τ² ~ U(lower, upper)``.

    Parameters
    ----------
    lower, upper : float
        The range of τ², ``0 ≤ lower < upper``; improper when ``upper`` is infinite.

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``lower`` negative or not below ``upper``.

    Notes
    -----
    On τ: ``p(τ) = 2τ/(upper − lower)``.

    Examples
    --------
    >>> round(float(uniform_tau2(0, 4)(1.0)), 4)
    0.5
    """
    if not (0 <= lower < upper):
        raise InputError(f"uniform prior on tau2 needs 0 <= lower < upper, got {lower}, {upper}")
    c = -np.log(upper - lower) if np.isfinite(upper) else 0.0
    return TauPrior(f"tau2 ~ uniform({lower:g}, {upper:g})",
                    _on_tau2(lambda t2: np.full_like(t2, c)),
                    (np.sqrt(lower), np.sqrt(upper)), bool(np.isfinite(upper)))


def log_uniform(lower: float, upper: float) -> TauPrior:
    """Return the log-uniform prior ``log τ ~ U(log lower, log upper)``.

    Parameters
    ----------
    lower, upper : float
        The range of τ, ``0 < lower < upper``.

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``lower`` or ``upper`` not a finite number > 0, or not ``lower < upper``.

    Notes
    -----
    ``p(τ) = 1/(τ log(upper/lower))`` on the range.

    Examples
    --------
    >>> round(float(log_uniform(0.1, 10.0)(1.0)), 4)
    0.2171
    """
    _positive("log-uniform", lower=lower, upper=upper)
    if not lower < upper:
        raise InputError(f"log-uniform needs lower < upper, got {lower}, {upper}")
    c = -np.log(np.log(upper / lower))
    return TauPrior(f"log-uniform({lower:g}, {upper:g})", lambda t, v: c - np.log(t),
                    (lower, upper))


def gamma_precision(shape: float, rate: float) -> TauPrior:
    """Return a gamma prior on the precision, ``τ⁻² ~ Gamma(shape, rate)``.

    Parameters
    ----------
    shape, rate : float
        Shape and rate (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``shape`` or ``rate`` not a finite number > 0.

    Notes
    -----
    Equivalently τ² ~ inverse-gamma(shape, rate); on τ, ``p(τ) = p_λ(τ⁻²)·2τ⁻³``. The lecture's L1 is
    (0.001, 0.001).

    Examples
    --------
    >>> round(float(gamma_precision(1.0, 1.0)(1.0)), 4)
    0.7358
    """
    _positive("gamma on the precision", shape=shape, rate=rate)
    return TauPrior(f"1/tau2 ~ gamma({shape:g}, {rate:g})",
                    _on_precision(lambda lam: shape * np.log(rate) - special.gammaln(shape)
                                  + (shape - 1) * np.log(lam) - rate * lam),
                    params={"family": "gamma_precision", "shape": shape, "rate": rate})


def inverse_gamma_tau2(shape: float, scale: float) -> TauPrior:
    """Return an inverse-gamma prior on τ², ``τ² ~ inverse-gamma(shape, scale)``.

    Parameters
    ----------
    shape, scale : float
        Shape and scale (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``shape`` or ``scale`` not a finite number > 0.

    Notes
    -----
    Density ``scale^shape/Γ(shape)·(τ²)^(−shape−1) exp(−scale/τ²)`` on τ², times 2τ on τ.

    Examples
    --------
    >>> round(float(inverse_gamma_tau2(1.0, 1.0)(1.0)), 4)
    0.7358
    """
    _positive("inverse-gamma on tau2", shape=shape, scale=scale)
    return TauPrior(f"tau2 ~ inv-gamma({shape:g}, {scale:g})",
                    _on_tau2(lambda t2: shape * np.log(scale) - special.gammaln(shape)
                             - (shape + 1) * np.log(t2) - scale / t2))


def uniform_precision(lower: float, upper: float) -> TauPrior:
    """Return a uniform prior on the precision, ``τ⁻² ~ U(lower, upper)``.

    Parameters
    ----------
    lower, upper : float
        The range of τ⁻², ``0 < lower < upper < ∞``.

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``lower`` or ``upper`` not a finite number > 0, or not ``lower < upper``.

    Examples
    --------
    >>> round(float(uniform_precision(0.5, 2.0)(1.0)), 4)
    1.3333
    """
    _positive("uniform on the precision", lower=lower, upper=upper)
    if not lower < upper:
        raise InputError(f"uniform on the precision needs lower < upper, got {lower}, {upper}")
    c = -np.log(upper - lower)
    return TauPrior(f"1/tau2 ~ uniform({lower:g}, {upper:g})",
                    _on_precision(lambda lam: np.full_like(lam, c)),
                    (1 / np.sqrt(upper), 1 / np.sqrt(lower)))


def pareto_precision(alpha: float, scale: float) -> TauPrior:
    """Return a Pareto prior on the precision, ``τ⁻² ~ Pareto(alpha, scale)``.

    Parameters
    ----------
    alpha, scale : float
        Shape and lower bound of τ⁻² (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``alpha`` or ``scale`` not a finite number > 0.

    Notes
    -----
    Density ``alpha·scale^alpha/λ^(alpha+1)`` on λ = τ⁻² ≥ scale, i.e. τ ≤ scale^(−½); the lecture's L7 is
    (1, 0.001).

    Examples
    --------
    >>> round(float(pareto_precision(1.0, 0.25)(1.0)), 4)
    0.5
    """
    _positive("Pareto on the precision", alpha=alpha, scale=scale)
    c = np.log(alpha) + alpha * np.log(scale)
    return TauPrior(f"1/tau2 ~ Pareto({alpha:g}, {scale:g})",
                    _on_precision(lambda lam: c - (alpha + 1) * np.log(lam)),
                    (0.0, 1 / np.sqrt(scale)))


def data_scale(v: np.ndarray) -> np.ndarray:
    """Typical standard error of each column.

    ``(mean 1/vᵢ)^(−½)`` over the studies present (bayesmeta's reference scale s0; also where the exact
    engine centres its τ scan).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / np.sqrt(np.nanmean(1.0 / v, axis=0))


def _s0(v: np.ndarray, s0: float | None) -> np.ndarray | float:
    return s0 if s0 is not None else data_scale(v)


def dumouchel(s0: float | None = None) -> TauPrior:
    """Return DuMouchel's prior, ``s0/(s0 + τ) ~ U(0, 1)``.

    Parameters
    ----------
    s0 : float, optional
        The scale; by default the data's ``(mean σᵢ⁻²)^(−½)`` (:func:`data_scale`).

    Returns
    -------
    TauPrior
        The prior.

    Notes
    -----
    ``p(τ) = s0/(s0 + τ)²`` (bayesmeta; Spiegelhalter et al. 2004).

    Examples
    --------
    >>> float(dumouchel(1.0)(1.0))
    0.25
    """
    def logpdf(t: np.ndarray, v: np.ndarray) -> np.ndarray:
        s = _s0(v, s0)
        return np.log(s) - 2 * np.log(s + t)
    return TauPrior("DuMouchel" + (f"({s0:g})" if s0 else ""), logpdf)


def uniform_shrinkage(s0: float | None = None) -> TauPrior:
    """Return the uniform shrinkage prior, ``s0²/(s0² + τ²) ~ U(0, 1)``.

    Parameters
    ----------
    s0 : float, optional
        The scale; by default the data's ``(mean σᵢ⁻²)^(−½)`` (:func:`data_scale`).

    Returns
    -------
    TauPrior
        The prior.

    Notes
    -----
    ``p(τ) = 2 s0² τ/(s0² + τ²)²``.

    Examples
    --------
    >>> float(uniform_shrinkage(1.0)(1.0))
    0.5
    """
    def logpdf(t: np.ndarray, v: np.ndarray) -> np.ndarray:
        s2 = _s0(v, s0) ** 2
        return _LOG2 + np.log(s2) + np.log(t) - 2 * np.log(s2 + t * t)
    return TauPrior("uniform shrinkage" + (f"({s0:g})" if s0 else ""), logpdf)


def jeffreys() -> TauPrior:
    """Return Jeffreys' prior for τ in bayesmeta's form.

    Returns
    -------
    TauPrior
        The prior.

    Notes
    -----
    ``p(τ) ∝ √(Σ (τ/(σᵢ² + τ²))²)``: improper (it decays like 1/τ), but the posterior is proper for k ≥ 2.

    Examples
    --------
    >>> jeffreys().proper
    False
    """
    def logpdf(t: np.ndarray, v: np.ndarray) -> np.ndarray:
        vv = np.where(np.isfinite(v), v, np.inf)[:, None, :]  # missing studies add nothing
        return 0.5 * np.log(np.sum((t / (vv + t * t)) ** 2, axis=0))
    return TauPrior("Jeffreys", logpdf, proper=False)


def custom(
    logpdf: Callable[[np.ndarray], np.ndarray],
    support: tuple[float, float] = (0.0, np.inf),
    name: str = "custom",
) -> TauPrior:
    """Return a user's density on τ, given as a vectorised log density (up to a constant).

    Parameters
    ----------
    logpdf : callable
        ``logpdf(tau)`` for an array ``tau``.
    support : (float, float)
        Where the density is positive.
    name : str
        How the prior is named in results.

    Returns
    -------
    TauPrior
        The prior.

    Notes
    -----
    It is normalised numerically; if it does not integrate (or its tails decay no faster than 1/τ), the
    prior is marked improper (allowed, but then there is no marginal likelihood).

    Examples
    --------
    >>> p = custom(lambda t: -t, name='exp(1)')
    >>> p.proper, round(float(p(1.0)), 4)
    (True, 0.3679)
    """
    lo, hi = float(support[0]), float(support[1])
    with np.errstate(all="ignore"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", integrate.IntegrationWarning)
        total, _ = integrate.quad(lambda t: float(np.exp(logpdf(np.array([t]))[0])), lo, hi,
                                  limit=200)
    if np.isnan(total) or not total > 0:
        raise InputError(f"custom tau prior {name!r}: its density is not positive and finite anywhere "
                         f"on ({lo:g}, {hi:g})")
    for w in caught:  # quad's doubts matter only for a density that is then used
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    proper = bool(np.isfinite(total) and total < 1e300)
    try:  # a slowly divergent integral can look finite to quad: check the tails' decay
        proper = proper and _decays(logpdf, lo, hi)
    except FloatingPointError:
        proper = False
    c = -np.log(total) if proper else 0.0
    return TauPrior(name, lambda t, v: logpdf(t) + c, (lo, hi), proper)


def _decays(logpdf: Callable, lo: float, hi: float) -> bool:
    """Power-law exponent of the density at the open ends (must beat 1/τ)."""
    ok = True
    if not np.isfinite(hi):
        a, b = logpdf(np.array([1e8, 1e9]))
        ok &= bool((b - a) / np.log(10) < -1.0 or not np.isfinite(b))
    if lo == 0:
        a, b = logpdf(np.array([1e-9, 1e-10]))
        ok &= bool((b - a) / np.log(10) < 1.0 or not np.isfinite(b))
    return ok


#: Lambert et al.'s (2005) vague priors L1–L11 by name, each a function returning its
#: :class:`TauPrior` (the lecture's sensitivity grid uses them).
LAMBERT: dict[str, Callable[[], TauPrior]] = {
    "L1": lambda: replace(gamma_precision(0.001, 0.001), name="L1: 1/tau2 ~ gamma(0.001, 0.001)"),
    "L3": lambda: replace(log_uniform(np.exp(-5), np.exp(5)), name="L3: log tau2 ~ U(-10, 10)"),
    "L5": lambda: replace(uniform_precision(0.001, 1000), name="L5: 1/tau2 ~ U(0.001, 1000)"),
    "L7": lambda: replace(pareto_precision(1, 0.001), name="L7: 1/tau2 ~ Pareto(1, 0.001)"),
    "L9": lambda: replace(uniform(0, 100), name="L9: tau ~ U(0, 100)"),
    "L11": lambda: replace(half_normal(10.0), name="L11: tau ~ N(0, 100) truncated at 0"),
}


def lambert(name: str) -> TauPrior:
    """Return one of the lecture's vague priors (Lambert et al. 2005).

    Parameters
    ----------
    name : str
        ``L1``, ``L3``, ``L5``, ``L7``, ``L9`` or ``L11`` (any case).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        An unknown name.

    Examples
    --------
    >>> lambert('l1').name
    'L1: 1/tau2 ~ gamma(0.001, 0.001)'
    """
    key = name.upper()
    if key not in LAMBERT:
        raise InputError(f"unknown prior {name!r}; the named vague priors are {', '.join(LAMBERT)}")
    return LAMBERT[key]()


def gamma_tau2(shape: float, rate: float) -> TauPrior:
    """Return a gamma prior on τ², ``τ² ~ Gamma(shape, rate)``.

    Parameters
    ----------
    shape, rate : float
        Shape and rate (> 0).

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        ``shape`` or ``rate`` not a finite number > 0.

    Notes
    -----
    ``tau2~exponential(rate)`` when shape = 1 (the partition model's default family); on τ the density is
    times 2τ.

    Examples
    --------
    >>> p = gamma_tau2(1.0, 1.0)
    >>> p.name, round(float(p(1.0)), 4)
    ('tau2 ~ exponential(1)', 0.7358)
    """
    _positive("gamma on tau2", shape=shape, rate=rate)
    return TauPrior(f"tau2 ~ gamma({shape:g}, {rate:g})" if shape != 1 else f"tau2 ~ exponential({rate:g})",
                    _on_tau2(lambda t2: shape * np.log(rate) - special.gammaln(shape)
                             + (shape - 1) * np.log(t2) - rate * t2))


def _upto(make: Callable[[float, float], TauPrior]) -> Callable[..., TauPrior]:
    return lambda *a: make(0.0, a[0]) if len(a) == 1 else make(*a)


#: (parameter, family) of the prior grammar (:mod:`betameta.prior_grammar`) → (allowed
#: numbers of arguments, constructor); parameter None for the bare names.
_TAU_FAMILIES: dict[tuple[str | None, str], tuple[tuple[int, ...], Callable[..., TauPrior]]] = {
    ("tau", "flat"): ((0,), flat_tau),
    ("tau", "halfnormal"): ((1,), half_normal),
    ("tau", "halfcauchy"): ((1,), half_cauchy),
    ("tau", "halft"): ((2,), half_t),
    ("tau", "exponential"): ((1,), exponential),
    ("tau", "lognormal"): ((2,), log_normal),
    ("tau", "uniform"): ((1, 2), _upto(uniform)),
    ("tau", "loguniform"): ((2,), log_uniform),
    ("tau", "fixed"): ((1,), fixed_tau),
    ("tau2", "flat"): ((0,), uniform_tau2),
    ("tau2", "uniform"): ((1, 2), _upto(uniform_tau2)),
    ("tau2", "exponential"): ((1,), lambda rate: gamma_tau2(1.0, rate)),
    ("tau2", "gamma"): ((2,), gamma_tau2),
    ("tau2", "invgamma"): ((2,), inverse_gamma_tau2),
    ("tau2", "fixed"): ((1,), fixed_tau2),
    ("precision", "gamma"): ((2,), gamma_precision),
    ("precision", "uniform"): ((2,), uniform_precision),
    ("precision", "pareto"): ((2,), pareto_precision),
    (None, "dumouchel"): ((0, 1), dumouchel),
    (None, "shrinkage"): ((0, 1), uniform_shrinkage),
    (None, "jeffreys"): ((0,), jeffreys),
    **{(None, name): ((0,), (lambda n: lambda: lambert(n))(name))
       for name in ("L1", "L3", "L5", "L7", "L9", "L11")},
}


#: Measures whose heterogeneity τ has no unit of the outcome: log ratios (OR, RR, IRR, ROM,
#: CVR, VR) and logs of means and rates (a change of unit shifts them, τ stays), standardised
#: mean differences, correlations, Fisher's z and proportions on any scale.
UNIT_FREE = ("OR", "RR", "SMD", "SMDH", "SMD1", "ZCOR", "COR", "ROM", "CVR", "VR", "MNLN", "PR",
             "PLO", "PAS", "PFT", "IRR", "IRLN")


def uisd(n: np.ndarray, v: np.ndarray) -> float:
    """Return the unit-information standard deviation of a set of studies.

    Parameters
    ----------
    n : numpy.ndarray
        The studies' total sample sizes.
    v : numpy.ndarray
        Their sampling variances.

    Returns
    -------
    float
        ``σ_U``.

    Notes
    -----
    ``σ_U = √(Σnᵢ / Σ 1/vᵢ)`` (bayesmeta's ``uisd``; Röver et al. 2021, eq. 6): the standard deviation of
    one observation, when each study's variance is ``σ_U²/nᵢ``.

    Examples
    --------
    >>> import numpy as np
    >>> uisd(np.array([100, 100]), np.array([0.04, 0.04]))
    2.0
    """
    n, v = np.asarray(n, dtype=float), np.asarray(v, dtype=float)
    return float(np.sqrt(n.sum() / (1.0 / v).sum()))


def default_tau_prior(studies) -> TauPrior:
    """Return the τ prior used when none is given.

    Parameters
    ----------
    studies : StudyTable or None
        The studies (their measure and sample sizes set the scale); None for effects without a measure.

    Returns
    -------
    TauPrior
        The prior.

    Notes
    -----
    Half-normal(0.5) for effects without a unit (log OR/RR, SMD, Fisher z, and effects given without a
    measure, which are taken to be such: GWAS per-allele log odds ratios or standardised betas),
    half-normal(σ_U/2) for mean and risk differences, whose scale is the outcome's (σ_U from :func:`uisd`).
    Röver et al. (2021) discuss half-normal priors scaled by the UISD as weakly informative; a mean
    difference in days then gets a prior in days. Without sample sizes the scale cannot be known:
    :func:`betameta.bayes.bayes_meta` then notes a prior–data conflict when the REML estimate of τ lies
    beyond the prior's 99% quantile.

    Examples
    --------
    >>> default_tau_prior(None).name
    'half-normal(0.5)'
    """
    measure, n = getattr(studies, "measure", None), getattr(studies, "n", None)
    if measure in ("MD", "RD") and n is not None and np.all(np.isfinite(n)) and np.all(n > 0):
        scale = 0.5 * uisd(n, studies.vi)
        prior = half_normal(float(f"{scale:.3g}"))
        return replace(prior, name=f"{prior.name} (half the unit-information SD)")
    return half_normal(0.5)


def prior_quantile(prior: TauPrior, q: float, v: np.ndarray) -> float:
    """Return the ``q`` quantile of a proper τ prior (NaN for an improper one).

    Parameters
    ----------
    prior : TauPrior
        The prior.
    q : float
        The probability.
    v : numpy.ndarray
        The studies' variances (for data-dependent priors, and to centre the grid).

    Returns
    -------
    float
        The quantile.

    Notes
    -----
    By integrating the density on a fine grid in log τ around the data's scale (for checks, not for
    inference: relative accuracy ~1e-4).

    Examples
    --------
    >>> import numpy as np
    >>> round(prior_quantile(half_normal(1.0), 0.99, np.array([0.01, 0.02])), 3)
    2.576
    """
    check_probability("q", q)
    if prior.fixed is not None:
        return float(prior.fixed)
    if not prior.proper:
        return float("nan")
    center = float(np.log(data_scale(np.asarray(v, dtype=float).reshape(-1, 1))[0]))
    u = center + np.linspace(-60.0, 60.0, 24_001)
    tau = np.exp(u)
    dens = prior(tau, np.asarray(v, dtype=float)) * tau
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(u))])
    if not cum[-1] > 0:
        return float("nan")
    return float(np.interp(q * cum[-1], cum, tau))


def parse_tau_prior(spec: str) -> TauPrior:
    """Return a τ prior from the prior grammar (:mod:`betameta.prior_grammar`).

    ``tau~halfnormal(0.5)``, ``tau2~exponential(1)``, ``precision~gamma(0.001,0.001)``, ``tau2=25``,
    ``L1`` …; or an old colon spelling (``halfnormal:0.5``, ``fixed-tau2:25``, ``gamma-precision:a,b`` …).

    Families: τ ~ flat, halfnormal(s), halfcauchy(s), halft(s,df), exponential(rate),
    lognormal(mu,sigma), uniform([lo,]hi), loguniform(lo,hi); τ² ~ flat, uniform([lo,]hi),
    exponential(rate), gamma(shape,rate), invgamma(shape,scale); precision ~ gamma(shape,rate),
    uniform(lo,hi), pareto(alpha,scale); point masses ``tau=X``, ``tau2=X``; bare names
    ``L1 L3 L5 L7 L9 L11``, ``dumouchel[(s0)]``, ``shrinkage[(s0)]``, ``jeffreys``.

    Parameters
    ----------
    spec
        The prior, in that grammar.

    Returns
    -------
    TauPrior
        The prior: its log density in τ, support, whether it is proper, and its name.

    Raises
    ------
    InputError
        An unknown family, bad parameters, or ``auto`` (which needs the studies: see
        :func:`resolve_tau_prior`).

    Examples
    --------
    >>> parse_tau_prior("tau~halfnormal(0.5)").name
    'half-normal(0.5)'
    >>> parse_tau_prior("tau2~exponential(1)").name
    'tau2 ~ exponential(1)'
    """
    from ..prior_grammar import build_prior, parse_prior_spec

    if spec.strip().lower() == "auto":
        raise InputError("tau prior 'auto' depends on the studies: pass tau_prior=None (or "
                         "default_tau_prior(studies))")
    return build_prior(parse_prior_spec(spec, option="tau"), _TAU_FAMILIES, "tau prior")


def resolve_tau_prior(spec: str | TauPrior | None, studies=None) -> TauPrior:
    """Return a τ prior from what a caller was given.

    Parameters
    ----------
    spec : TauPrior, str or None
        A prior, a spec for :func:`parse_tau_prior`, or ``None``/``"auto"`` for :func:`default_tau_prior`.
    studies : StudyTable, optional
        The studies the default prior is scaled to.

    Returns
    -------
    TauPrior
        The prior.

    Raises
    ------
    InputError
        A spec :func:`parse_tau_prior` cannot read.

    Examples
    --------
    >>> resolve_tau_prior('tau~halfcauchy(1)').name
    'half-Cauchy(1)'
    """
    if isinstance(spec, TauPrior):
        return spec
    if spec is None or spec.strip().lower() == "auto":
        return default_tau_prior(studies)
    return parse_tau_prior(spec)


def parse_mu_prior(spec: str) -> MuPrior:
    """Return a µ prior from the prior grammar: ``mu~flat`` or ``mu~normal(mean,sd)``.

    Parameters
    ----------
    spec
        The prior, in the grammar of :mod:`betameta.prior_grammar` (old spellings ``flat``
        and ``normal:mean,sd`` are accepted).

    Returns
    -------
    MuPrior
        The prior, with its ``mean`` and ``sd`` (``sd`` infinite for the flat prior).

    Raises
    ------
    InputError
        A family other than flat or normal, or bad parameters (the message shows the grammar).

    Examples
    --------
    >>> prior = parse_mu_prior("mu~normal(0,10)")
    >>> prior.name, prior.mean, prior.sd
    ('normal(0, sd=10)', 0.0, 10.0)
    """
    from ..prior_grammar import build_prior, parse_prior_spec

    return build_prior(parse_prior_spec(spec, option="mu"), _MU_FAMILIES, "mu prior")


_MU_FAMILIES: dict[tuple[str | None, str], tuple[tuple[int, ...], Callable[..., MuPrior]]] = {
    ("mu", "flat"): ((0,), flat_mu), ("mu", "normal"): ((2,), normal_mu)}
