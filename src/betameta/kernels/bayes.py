"""The exact posterior for many meta-analyses at once (a trailing variant axis).

The genome-wide engine calls :func:`bayes_arrays` with ``(k, m)`` arrays; it uses
the same quadrature (:func:`~betameta.kernels.exact.tau_grid`) and conditionals as
:func:`~betameta.bayes.bayes_meta`, column by column in chunks to bound memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .._results import ArrayResult
from ..bayes.priors import MuPrior, TauPrior
from ..errors import InputError
from .classical import COMPILED_FROM
from .exact import (
    _EPS,
    _W_MIN,
    STUDY_RULE,
    QuadratureRule,
    gauss_legendre,
    gauss_nodes,
    log_bf_mu0,
    log_bf_tau0,
    mixtures,
    panel_edges,
    tau_grid,
)

__all__ = ["BayesArrays", "bayes_arrays"]


#: The summaries of each column, in order.
_FIELDS = ("mu_mean", "mu_sd", "mu_ci_low", "mu_ci_high", "tau_mean", "tau_median", "tau_ci_low",
           "tau_ci_high", "beta_f_mean", "beta_f_sd", "zeta2_mean", "log_marginal", "log10_bf_tau0",
           "log10_bf_mu0")


@dataclass(frozen=True, repr=False)
class BayesArrays(ArrayResult):
    """Posterior summaries of each column of :func:`bayes_arrays` (arrays of shape ``(m,)``).

    A moment that does not exist is NaN (a mean) or inf (an sd), as
    :func:`~betameta.bayes.bayes_meta` says.

    Parameters
    ----------
    mu_mean, mu_sd, mu_ci_low, mu_ci_high : numpy.ndarray
        Mean, sd and central interval of µ.
    tau_mean, tau_median, tau_ci_low, tau_ci_high : numpy.ndarray
        Mean, median and central interval of τ.
    beta_f_mean, beta_f_sd : numpy.ndarray
        Mean and sd of the fixed-effects average βF.
    zeta2_mean : numpy.ndarray
        The exact posterior mean of ζ².
    log_marginal : numpy.ndarray
        ``log ∫ p(τ) p(y|τ) dτ`` (the log marginal likelihood when both priors are proper).
    log10_bf_tau0 : numpy.ndarray
        ``log10 p(y|τ=0)/p(y)`` (NaN unless the τ prior is proper), as bayesmeta defines it.
    log10_bf_mu0 : numpy.ndarray
        ``log10 p(y|µ=0)/p(y)`` (NaN unless both priors are proper).
    proper : numpy.ndarray
        Whether each posterior is proper.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.bayes.priors import parse_mu_prior, parse_tau_prior
    >>> from betameta.kernels.bayes import bayes_arrays
    >>> y = np.array([[0.1, 0.5], [0.9, np.nan], [0.2, 0.4]])
    >>> v = np.array([[0.01, 0.02], [0.02, 0.02], [0.04, 0.01]])
    >>> b = bayes_arrays(y, v, parse_tau_prior("tau~halfnormal(0.5)"), parse_mu_prior("mu~flat"))
    >>> b.proper.tolist(), b.mu_ci_low.round(3).tolist()
    ([True, True], [-0.254, -0.087])
    """

    mu_mean: np.ndarray
    mu_sd: np.ndarray
    mu_ci_low: np.ndarray
    mu_ci_high: np.ndarray
    tau_mean: np.ndarray
    tau_median: np.ndarray
    tau_ci_low: np.ndarray
    tau_ci_high: np.ndarray
    beta_f_mean: np.ndarray
    beta_f_sd: np.ndarray
    zeta2_mean: np.ndarray
    log_marginal: np.ndarray
    log10_bf_tau0: np.ndarray
    log10_bf_mu0: np.ndarray
    proper: np.ndarray


def bayes_arrays(
    y: np.ndarray,
    v: np.ndarray,
    tau_prior: TauPrior,
    mu_prior: MuPrior,
    *,
    level: float = 0.95,
    chunk: int = 2048,
    rule: QuadratureRule = STUDY_RULE,
) -> BayesArrays:
    """Posterior summaries of the normal–normal model for every column of ``(k, m)`` arrays.

    Parameters
    ----------
    y, v : numpy.ndarray
        ``(k, m)`` effects and variances (NaN for a missing study).
    tau_prior, mu_prior
        The priors (:mod:`betameta.bayes.priors`).
    level
        Probability of the central intervals.
    chunk
        Columns per pass (bounds memory).
    rule
        The quadrature's size (below).

    Returns
    -------
    BayesArrays
        ``(m,)`` arrays of the posterior summaries; columns with an improper posterior, or
        fewer than 2 studies under a flat µ prior, are NaN.

    Notes
    -----
    The quadrature is :func:`~betameta.kernels.exact.tau_grid`'s, of the size ``rule``
    gives (:data:`~betameta.kernels.exact.STUDY_RULE` by default, the study level's and the
    genome-wide run's: 1.2e-10 worst on the accuracy grid; smaller rules' measured accuracy
    in :class:`~betameta.kernels.exact.QuadratureRule`). From
    :data:`~betameta.kernels.classical.COMPILED_FROM` columns on the summaries are
    computed by :func:`~betameta.kernels.exact_loops.grid_summaries` (tested equal to the
    NumPy path, which is :class:`~betameta.kernels.exact.TauGrid` and
    :func:`~betameta.kernels.exact.mixtures`, the study level's own code).

    Examples
    --------
    >>> import numpy as np
    >>> from betameta.bayes.priors import parse_mu_prior, parse_tau_prior
    >>> from betameta.kernels.bayes import bayes_arrays
    >>> y = np.array([[0.1, 0.5], [0.9, np.nan], [0.2, 0.4]])
    >>> v = np.array([[0.01, 0.02], [0.02, 0.02], [0.04, 0.01]])
    >>> b = bayes_arrays(y, v, parse_tau_prior("tau~halfnormal(0.5)"), parse_mu_prior("mu~flat"))
    >>> b.mu_mean.round(4).tolist(), b.tau_median.round(4).tolist()
    ([0.4001, 0.4431], [0.4442, 0.1779])
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    if y.shape != v.shape:
        raise InputError(f"y and v must have the same shape, got {y.shape} and {v.shape}")
    m = y.shape[1]
    out = {name: np.full(m, np.nan) for name in _FIELDS}
    proper = np.zeros(m, dtype=bool)
    present = np.isfinite(y) & np.isfinite(v) & (v > 0)
    usable = present.sum(axis=0) >= (1 if mu_prior.proper else 2)
    cols_all = np.flatnonzero(usable)
    for start in range(0, cols_all.size, chunk):
        cols = cols_all[start:start + chunk]
        yy = np.where(present[:, cols], y[:, cols], np.nan)
        vv = np.where(present[:, cols], v[:, cols], np.nan)
        if cols.size >= COMPILED_FROM and tau_prior.fixed is None:
            res = _summaries_compiled(yy, vv, tau_prior, mu_prior, level, rule)
        else:
            res = _summaries_numpy(yy, vv, tau_prior, mu_prior, level, rule)
        ok = res.pop("proper")
        if tau_prior.proper:
            res["log10_bf_tau0"] = log_bf_tau0(res["log_marginal"], yy, vv, mu_prior) / np.log(10)
            if mu_prior.proper:
                res["log10_bf_mu0"] = log_bf_mu0(res["log_marginal"], yy, vv, tau_prior,
                                                 rule=rule) / np.log(10)
        for name, value in res.items():
            out[name][cols] = np.where(ok, value, np.nan)
        proper[cols] = ok
    return BayesArrays(**out, proper=proper)


def _summaries_numpy(y, v, tau_prior, mu_prior, level, rule) -> dict[str, np.ndarray]:
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    g = tau_grid(y, v, tau_prior, mu_prior, rule=rule)
    mix = mixtures(g, y, v, mu_prior)
    return {
        "mu_mean": mix.mu.mean(),
        "mu_sd": mix.mu.sd(),
        "mu_ci_low": mix.mu.quantile(lo_q),
        "mu_ci_high": mix.mu.quantile(hi_q),
        "tau_mean": g.moment(1.0),
        "tau_median": g.quantile(0.5),
        "tau_ci_low": g.quantile(lo_q),
        "tau_ci_high": g.quantile(hi_q),
        "log_marginal": g.log_z,
        "zeta2_mean": mix.zeta2_mean,
        "beta_f_mean": mix.beta_f.mean(),
        "beta_f_sd": mix.beta_f.sd(),
        "proper": g.proper,
    }


def _summaries_compiled(y, v, tau_prior, mu_prior, level, rule) -> dict[str, np.ndarray]:
    from .exact_loops import SUMMARY_ROWS, grid_summaries

    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    order = rule.order
    edges, slope_lo, slope_hi = panel_edges(y, v, tau_prior, mu_prior, rule)
    tau, tail_tau = gauss_nodes(edges, order)
    t_all = np.concatenate([tau, tail_tau])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lp = tau_prior.logpdf(t_all[:-1], v)
    x, gw, vander = gauss_legendre(order)
    out = np.empty((len(SUMMARY_ROWS), y.shape[1]))
    grid_summaries(t_all, np.ascontiguousarray(lp, dtype=float), np.ascontiguousarray(edges), x, gw,
                   vander, y, v,
                   float(mu_prior.mean), float(mu_prior.sd), np.array(tau_prior.support, dtype=float),
                   slope_lo, slope_hi, np.array([lo_q, 0.5, hi_q]), float(special.ndtri(lo_q)),
                   float(special.ndtri(hi_q)), _EPS, _W_MIN, out)
    res = dict(zip(SUMMARY_ROWS, out, strict=True))
    res["proper"] = res["proper"] > 0
    return res
