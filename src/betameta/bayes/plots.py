"""Plots of the exact posterior: marginal densities with priors, shrinkage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .posterior import BayesMeta


def _axes(ax: Axes | None, size: tuple[float, float] = (5.5, 3.6)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=size).add_subplot()


def plot_posterior(fit: BayesMeta, name: str = "tau", ax: Axes | None = None,
                   prior: bool = True) -> Axes:
    """Posterior density of ``mu``, ``tau``, ``theta_new``, ``beta_f`` or ``theta[...]``.

    The prior density is drawn dashed for ``tau`` (from the τ prior) and for
    ``mu`` when its prior is normal; the shaded band is the reported interval.
    """
    ax = _axes(ax)
    marg = fit.marginal(name)
    lo, hi = marg.quantile(0.002), marg.quantile(0.998)
    if name == "tau":
        lo = 0.0
    x = np.linspace(lo, hi, 400)
    if not hasattr(marg, "pdf") or name in ("tau2", "i2", "zeta2"):
        raise InputError(f"no density plot for {name!r}; use fit.sample() for it")
    dens = marg.pdf(x)
    ax.plot(x, dens, color="#31688e", lw=2, label="posterior")
    a, b = marg.interval(fit.level, fit.interval_kind)  # type: ignore[arg-type]
    band = (x >= a) & (x <= b)
    ax.fill_between(x[band], dens[band], color="#31688e", alpha=0.2,
                    label=f"{100 * fit.level:g}% {fit.interval_kind}")
    ax.axvline(marg.median, color="#31688e", lw=0.8, ls=":")
    if prior and name == "tau" and fit.tau_prior.logpdf is not None:
        ax.plot(x, fit.tau_prior(x, fit.studies.vi), color="grey", ls="--",
                label=f"prior: {fit.tau_prior.name}")
    if prior and name == "mu" and fit.mu_prior.proper:
        from scipy import stats

        ax.plot(x, stats.norm.pdf(x, fit.mu_prior.mean, fit.mu_prior.sd), color="grey", ls="--",
                label=f"prior: {fit.mu_prior.name}")
    ax.set_xlabel({"tau": "τ", "mu": "µ", "theta_new": "θ_new", "beta_f": "βF"}.get(name, name))
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_shrinkage(fit: BayesMeta, ax: Axes | None = None) -> Axes:
    """Observed ``yᵢ`` ± CI (open) against posterior ``θᵢ`` with intervals (filled), plus µ, θ_new."""
    s = fit.studies
    ax = _axes(ax, (6.0, 0.45 * s.k + 1.8))
    from scipy import stats

    crit = stats.norm.ppf(0.5 + fit.level / 2)
    rows = np.arange(s.k, 0, -1) + 2.0
    ax.errorbar(s.yi, rows + 0.15, xerr=crit * s.sei, fmt="o", mfc="white", color="grey",
                capsize=2, label="observed yᵢ")
    kind = fit.interval_kind
    for i, th in enumerate(fit.theta):
        lo, hi = th.interval(fit.level, kind)  # type: ignore[arg-type]
        ax.errorbar([th.mean], [rows[i] - 0.15], xerr=[[th.mean - lo], [hi - th.mean]], fmt="o",
                    color="#31688e", capsize=2, label="posterior θᵢ" if i == 0 else None)
    for y0, marg, label, color in ((1.2, fit.mu, "µ", "#35b779"),
                                   (0.4, fit.theta_new, "θ_new", "#fde725")):
        lo, hi = marg.interval(fit.level, kind)  # type: ignore[arg-type]
        ax.errorbar([marg.median], [y0], xerr=[[marg.median - lo], [hi - marg.median]], fmt="D",
                    color=color, ecolor="black", capsize=3, label=label)
    ax.set_yticks(list(rows) + [1.2, 0.4], list(s.labels) + ["µ", "θ_new"])
    ax.axvline(fit.beta_f.mean, color="#440154", ls="--", lw=0.8, label="βF")
    ax.set_xlabel("effect")
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.set_title(f"Shrinkage (τ ~ {fit.tau_prior.name})", fontsize=9, loc="left")
    return ax
