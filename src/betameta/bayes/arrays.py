"""The exact posterior for many meta-analyses at once (a trailing variant axis).

The genome-wide engine calls :func:`bayes_arrays` with ``(k, m)`` arrays; it uses
the same quadrature (:func:`~betameta.bayes.exact.tau_grid`) and conditionals as
:func:`~betameta.bayes.bayes_meta`, column by column in chunks to bound memory.
"""

from __future__ import annotations

import numpy as np

from .exact import conditional, normal_mixture_quantile, tau_grid, theta_conditionals
from .priors import MuPrior, TauPrior

__all__ = ["bayes_arrays"]


def bayes_arrays(
    y: np.ndarray,
    v: np.ndarray,
    tau_prior: TauPrior,
    mu_prior: MuPrior,
    *,
    level: float = 0.95,
    chunk: int = 2048,
) -> dict[str, np.ndarray]:
    """Posterior summaries for each column of ``y``/``v`` (shape ``(k, m)``, NaN = missing).

    Returns arrays of shape ``(m,)``: ``mu_mean, mu_sd, mu_ci_low, mu_ci_high`` (central),
    ``tau_mean, tau_median, tau_ci_low, tau_ci_high``, ``beta_f_mean, beta_f_sd``,
    ``log_marginal`` (``log ∫ p(τ) p(y|τ) dτ``), ``log10_bf_tau0``
    (``log10 p(y|τ=0)/p(y)``; NaN unless the τ prior is proper) and ``proper``.
    Columns with an improper posterior, or fewer than 2 studies under a flat µ
    prior, are NaN; a moment that does not exist is NaN (a mean) or inf (an sd), by the
    same rules as :func:`~betameta.bayes.bayes_meta` (:meth:`.TauGrid.existence`).
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    if y.shape != v.shape:
        raise ValueError(f"y and v must have the same shape, got {y.shape} and {v.shape}")
    m = y.shape[1]
    names = ("mu_mean", "mu_sd", "mu_ci_low", "mu_ci_high", "tau_mean", "tau_median",
             "tau_ci_low", "tau_ci_high", "beta_f_mean", "beta_f_sd", "log_marginal",
             "log10_bf_tau0")
    out = {name: np.full(m, np.nan) for name in names}
    out["proper"] = np.zeros(m, dtype=bool)
    present = np.isfinite(y) & np.isfinite(v) & (v > 0)
    usable = present.sum(axis=0) >= (1 if mu_prior.proper else 2)
    cols_all = np.flatnonzero(usable)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    for start in range(0, cols_all.size, chunk):
        cols = cols_all[start:start + chunk]
        yy = np.where(present[:, cols], y[:, cols], np.nan)
        vv = np.where(present[:, cols], v[:, cols], np.nan)
        g = tau_grid(yy, vv, tau_prior, mu_prior)
        ok = g.proper
        _, mu_hat, var = conditional(g.tau, yy, vv, mu_prior)
        w = g.weight
        sd = np.sqrt(var)
        mean = (w * mu_hat).sum(axis=0)
        res = {
            "mu_mean": mean,
            "mu_sd": np.sqrt((w * (var + (mu_hat - mean) ** 2)).sum(axis=0)),  # two passes
            "mu_ci_low": normal_mixture_quantile(w, mu_hat, sd, lo_q),
            "mu_ci_high": normal_mixture_quantile(w, mu_hat, sd, hi_q),
            "tau_mean": g.moment(1.0),
            "tau_median": g.quantile(0.5),
            "tau_ci_low": g.quantile(lo_q),
            "tau_ci_high": g.quantile(hi_q),
            "log_marginal": g.log_z,
        }
        _, _, bf_mean, bf_var = theta_conditionals(g.tau, yy, vv, mu_hat, var)
        res["beta_f_mean"] = (w * bf_mean).sum(axis=0)
        res["beta_f_sd"] = np.sqrt((w * (bf_var + (bf_mean - res["beta_f_mean"]) ** 2)).sum(axis=0))
        if tau_prior.proper:
            ll0 = conditional(np.zeros((1, cols.size)), yy, vv, mu_prior)[0][0]
            res["log10_bf_tau0"] = (ll0 - g.log_z) / np.log(10)
        # The moments that do not exist, as bayes_meta reports them (exact.TauGrid.existence).
        exist = g.existence(mu_prior.proper)
        res["mu_mean"] = np.where(exist.mu_mean, res["mu_mean"], np.nan)
        res["mu_sd"] = np.where(exist.mu_var, res["mu_sd"], np.inf)
        for name, value in res.items():
            out[name][cols] = np.where(ok, value, np.nan)
        out["proper"][cols] = ok
    return out
