"""Prior sensitivity: a grid of priors on (µ, τ) and the posterior as a function of fixed τ².

Reproduces the lecture's panels on a set of studies: (a) βF and µ, (b) ζ and τ,
each with posterior mean and 95% interval under ψ² ∈ {0.1, 1, 1000} × τ² fixed
at {1/4, 1, 25, 100} and under the vague priors L1…L11 with ψ² = 1000; (c) βF, µ
and every θᵢ as functions of a fixed τ² for ψ² = 1 and 1000. The lesson: the
prior moves µ and τ, hardly βF and ζ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .._results import Result, Summary
from ..classical import meta_analysis
from ..errors import InputError
from ..kernels.exact import conditional, theta_conditionals
from ..studies import StudyTable
from .posterior import bayes_meta
from .priors import LAMBERT, MuPrior, TauPrior, fixed_tau2, lambert, normal_mu

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SensitivityAnalysis", "plot_prior_vs_likelihood", "sensitivity_analysis"]


@dataclass(frozen=True, repr=False)
class SensitivityAnalysis(Result):
    """Result of :func:`sensitivity_analysis`.

    Parameters
    ----------
    studies : StudyTable
        The studies analysed.
    level : float
        The level of every interval.
    table : pandas.DataFrame
        One row per (prior, quantity): ``prior``, ``psi2``, ``tau_prior``, ``quantity``
        (``beta_f``, ``mu``, ``zeta``, ``tau``), posterior ``mean``, ``ci_low``, ``ci_high``.
    curves : pandas.DataFrame
        The posteriors at fixed τ²: ``psi2``, ``tau2``, ``quantity`` (``beta_f``, ``mu``,
        ``theta[...]``), ``mean``, ``ci_low``, ``ci_high``.
    reference : dict
        The classical FE (βF, ζ̂) and DL (µ, τ) estimates with their intervals, by quantity.

    Examples
    --------
    >>> import betameta as bm
    >>> from betameta.bayes import sensitivity_analysis
    >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
    >>> sens = sensitivity_analysis(studies, psi2=(1.0,), tau2_fixed=(1.0,), vague=("L1",))
    >>> sens.table["prior"].unique().tolist(), sorted(sens.reference)
    (['psi2=1, tau2=1', 'L1, psi2=1000'], ['beta_f', 'mu', 'tau', 'zeta'])
    """

    studies: StudyTable
    level: float
    table: pd.DataFrame
    curves: pd.DataFrame
    reference: dict[str, tuple[float, float, float]]

    def to_frame(self) -> pd.DataFrame:
        """Return the sensitivity table.

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`table`: one row per (prior, quantity).

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.bayes import sensitivity_analysis
        >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
        >>> sens = sensitivity_analysis(studies, psi2=(1.0,), tau2_fixed=(1.0,), vague=("L1",))
        >>> sens.to_frame().shape
        (8, 7)
        """
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return the analysis as a JSON-ready dict.

        Returns
        -------
        dict
            ``level``, the rows of ``table`` and ``curves``, and ``reference`` (each quantity's
            ``estimate``, ``ci_low``, ``ci_high``).

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.bayes import sensitivity_analysis
        >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
        >>> sens = sensitivity_analysis(studies, psi2=(1.0,), tau2_fixed=(1.0,), vague=("L1",))
        >>> d = sens.to_dict()
        >>> sorted(d), round(d["reference"]["mu"]["estimate"], 3)
        (['curves', 'level', 'reference', 'table'], -1.205)
        """
        return {"level": self.level, "table": self.table.to_dict(orient="records"),
                "curves": self.curves.to_dict(orient="records"),
                "reference": {k: {"estimate": a, "ci_low": b, "ci_high": c}
                              for k, (a, b, c) in self.reference.items()}}

    def __repr__(self) -> str:
        return f"SensitivityAnalysis(k={self.studies.k}, priors={self.table['prior'].nunique()})"

    def summary(self) -> Summary:
        """Return the (prior, quantity) table, titled with the number of priors.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.bayes import sensitivity_analysis
        >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
        >>> sens = sensitivity_analysis(studies, psi2=(1.0,), tau2_fixed=(1.0,), vague=("L1",))
        >>> print(sens.summary().title)
        Prior sensitivity of beta_f, mu, zeta and tau: k = 6, 2 priors
        """
        return Summary(f"Prior sensitivity of beta_f, mu, zeta and tau: k = {self.studies.k}, "
                       f"{self.table['prior'].nunique()} priors", self.to_frame())

    def plot(self, ax: Sequence[Axes] | None = None) -> np.ndarray:
        """Six panels, lettered.

        (a) βF, (b) µ, (c) ζ, (d) τ under every prior, each against its classical estimate (line,
        interval shaded); (e), (f) βF, µ and θᵢ against fixed τ² for the first two ``curve_psi2``.

        Parameters
        ----------
        ax : sequence of matplotlib.axes.Axes or None
            Six axes to draw in; a new figure when ``None``.

        Returns
        -------
        numpy.ndarray
            The six axes.

        Raises
        ------
        InputError
            ``ax`` is not six axes.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.bayes import sensitivity_analysis
        >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
        >>> sens = sensitivity_analysis(studies, psi2=(1.0,), tau2_fixed=(1.0,), vague=("L1",))
        >>> axes = sens.plot()
        >>> axes.shape, axes[1].get_title(loc="left")
        ((6,), '(b) µ   (line: DL -1.21)')
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig = plt.figure(figsize=(11, 13.5))
            outer = fig.add_gridspec(2, 1, height_ratios=[2.5, 1.0], hspace=0.25)
            top = outer[0].subgridspec(2, 2, hspace=0.3, wspace=0.08)  # shared prior labels
            bottom = outer[1].subgridspec(1, 2, wspace=0.22)  # each with its own y axis
            axes = np.array([fig.add_subplot(top[i // 2, i % 2]) for i in range(4)]
                            + [fig.add_subplot(bottom[0, i]) for i in range(2)])
        else:
            axes = np.asarray(ax, dtype=object).ravel()
            if axes.size != 6:
                raise InputError(f"the sensitivity plot needs 6 axes, got {axes.size}")
        labels = list(dict.fromkeys(self.table["prior"]))
        rows = np.arange(len(labels))[::-1]
        titles = {"beta_f": "(a) βF = Σwᵢθᵢ/Σwᵢ", "mu": "(b) µ", "zeta": "(c) ζ", "tau": "(d) τ"}
        ref_names = {"beta_f": "FE", "mu": "DL", "zeta": "FE ζ̂", "tau": "DL τ̂"}
        for slot, quantity in enumerate(("beta_f", "mu", "zeta", "tau")):
            a = axes[slot]
            part = self.table[self.table["quantity"] == quantity].set_index("prior").loc[labels]
            colors = ["#31688e" if p.startswith("psi2") else "#b5367a" for p in labels]
            a.hlines(rows, part["ci_low"], part["ci_high"], colors=colors, lw=1.5)
            a.scatter(part["mean"], rows, c=colors, s=18, zorder=3)
            est, lo, hi = self.reference[quantity]
            a.axvline(est, color="black", lw=1)
            if np.isfinite(lo):
                a.axvspan(lo, hi, color="grey", alpha=0.15)
            a.set_yticks(rows, labels if slot % 2 == 0 else [], fontsize=8)
            a.set_title(f"{titles[quantity]}   (line: {ref_names[quantity]} {est:.3g})",
                        fontsize=10, loc="left")
        for slot, psi2 in enumerate(sorted(self.curves["psi2"].unique())[:2]):
            a = axes[4 + slot]
            part = self.curves[self.curves["psi2"] == psi2]
            for quantity, color in (("beta_f", "#440154"), ("mu", "#35b779")):
                c = part[part["quantity"] == quantity]
                a.plot(c["tau2"], c["mean"], color=color, lw=2.0,
                       label="βF" if quantity == "beta_f" else "µ")
                a.fill_between(c["tau2"], c["ci_low"], c["ci_high"], color=color, alpha=0.15)
            for j, (_, c) in enumerate(part[part["quantity"].str.startswith("theta")].groupby(
                    "quantity", sort=False)):
                a.plot(c["tau2"], c["mean"], color="grey", lw=0.8, label="θᵢ" if j == 0 else None)
            a.set_xlim(0, part["tau2"].max())
            a.set_xlabel("fixed τ²")
            a.set_title(f"({'ef'[slot]}) posterior mean and {100 * self.level:g}% interval, "
                        f"ψ² = {psi2:g}", fontsize=10, loc="left")
            a.legend(frameon=False, fontsize=8, ncol=3, loc="upper center",
                     bbox_to_anchor=(0.5, -0.16))
        return axes


def _prior_grid(psi2: Sequence[float], tau2_fixed: Sequence[float], vague: Sequence[str],
                vague_psi2: float) -> list[tuple[str, float, object]]:
    for name, values in (("psi2", psi2), ("vague_psi2", (vague_psi2,))):
        bad = [x for x in values if not (np.isfinite(x) and x > 0)]
        if bad:
            raise InputError(f"{name}: the prior variance of mu must be a finite number > 0, got {bad[0]}")
    grid: list[tuple[str, float, object]] = []
    for p2 in psi2:
        for t2 in tau2_fixed:
            grid.append((f"psi2={p2:g}, tau2={t2:g}", p2, fixed_tau2(t2)))
    for name in vague:
        grid.append((f"{name}, psi2={vague_psi2:g}", vague_psi2, lambert(name)))
    return grid


def sensitivity_analysis(
    studies: StudyTable,
    *,
    psi2: Sequence[float] = (0.1, 1.0, 1000.0),
    tau2_fixed: Sequence[float] = (0.25, 1.0, 25.0, 100.0),
    vague: Sequence[str] = tuple(LAMBERT),
    vague_psi2: float = 1000.0,
    tau2_curve: np.ndarray | None = None,
    curve_psi2: Sequence[float] = (1.0, 1000.0),
    mu_mean: float = 0.0,
    level: float = 0.95,
) -> SensitivityAnalysis:
    """Posterior of βF, µ, ζ and τ over a grid of priors, and curves in fixed τ².

    ``µ ~ N(mu_mean, ψ²)`` throughout. ζ summaries come from exact posterior
    draws (100,000, seeded); everything else is exact.

    Parameters
    ----------
    studies
        Effects and variances (see :func:`betameta.load_studies`).
    psi2
        Prior variances ψ² of µ crossed with each fixed τ².
    tau2_fixed
        Values at which τ² is held fixed (a point-mass prior).
    vague
        Lambert et al.'s vague τ priors (``L1`` … ``L11``; see
        :data:`betameta.bayes.priors.LAMBERT`), each with ψ² = ``vague_psi2``.
    vague_psi2
        The prior variance of µ under the vague priors.
    tau2_curve
        The τ² values of the curves (default: a grid around the DL estimate).
    curve_psi2
        The ψ² of each curve in fixed τ².
    mu_mean
        The prior mean of µ.
    level
        Probability of the central intervals.

    Returns
    -------
    SensitivityAnalysis
        ``table`` (one row per prior and quantity: ``prior``, ``psi2``, ``tau_prior``,
        ``quantity`` in βF, µ, τ, ζ, ``mean``, ``ci_low``, ``ci_high``), ``curves`` (the
        posteriors against fixed τ²), ``reference`` (the classical FE and DL values), and
        ``plot()`` with the lecture's panels (a)–(f).

    Notes
    -----
    Given τ, βF = Σθᵢ/σᵢ² / Σ1/σᵢ² is a linear function of the θᵢ, so its posterior is
    the normal mixture over τ of the θᵢ's conditional posteriors; ζ² = Σ(θᵢ − βF)²/σᵢ² /
    Σ1/σᵢ² is not linear, hence its draws.

    Examples
    --------
    >>> import betameta as bm
    >>> from betameta.bayes import sensitivity_analysis
    >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
    >>> sens = sensitivity_analysis(studies, psi2=(1.0,), tau2_fixed=(1.0,), vague=("L1",))
    >>> sens.table.pivot_table(index="prior", columns="quantity", values="mean")["mu"].round(3).tolist()
    [-1.093, -1.164]
    """
    rows = []
    for label, p2, tau_prior in _prior_grid(psi2, tau2_fixed, vague, vague_psi2):
        fit = bayes_meta(studies, tau_prior=tau_prior, mu_prior=normal_mu(mu_mean, np.sqrt(p2)),  # type: ignore[arg-type]
                         level=level)
        zeta = np.sqrt(fit.zeta2.draws)  # type: ignore[attr-defined]
        for quantity, marg in (("beta_f", fit.beta_f), ("mu", fit.mu), ("tau", fit.tau)):
            lo, hi = marg.interval(level)
            rows.append({"prior": label, "psi2": p2, "tau_prior": tau_prior.name,  # type: ignore[attr-defined]
                         "quantity": quantity, "mean": marg.mean, "ci_low": lo, "ci_high": hi})
        q = np.quantile(zeta, [(1 - level) / 2, (1 + level) / 2])
        rows.append({"prior": label, "psi2": p2, "tau_prior": tau_prior.name,  # type: ignore[attr-defined]
                     "quantity": "zeta", "mean": float(zeta.mean()), "ci_low": q[0], "ci_high": q[1]})
    table = pd.DataFrame(rows)

    fe = meta_analysis(studies, method="FE")
    dl = meta_analysis(studies, method="DL")
    tau2 = _tau2_curve(dl) if tau2_curve is None else np.asarray(tau2_curve, float)
    curves = pd.concat([_curves(studies, tau2, p2, mu_mean, level) for p2 in curve_psi2],
                       ignore_index=True)
    reference = {
        "beta_f": (fe.fixed.estimate, fe.fixed.ci_low, fe.fixed.ci_high),
        "mu": (dl.random.estimate, dl.random.ci_low, dl.random.ci_high),
        "zeta": (float(np.sqrt(fe.heterogeneity.zeta2)), np.nan, np.nan),
        "tau": (dl.random.tau, float(np.sqrt(dl.random.tau2_ci_low)),
                float(np.sqrt(dl.random.tau2_ci_high))),
    }
    return SensitivityAnalysis(studies, level, table, curves, reference)


def _tau2_curve(dl) -> np.ndarray:
    """Return the default fixed-τ² grid, on the data's scale.

    0 to twice the upper Q-profile bound of τ² (at least twice the largest within-study variance),
    quadratically spaced so that the fast change near τ² = 0 is resolved.
    """
    top = 2.0 * max(dl.random.tau2_ci_high, dl.random.tau2, float(np.max(dl.studies.vi)))
    return top * np.linspace(0.0, 1.0, 101) ** 2


def _curves(studies: StudyTable, tau2: np.ndarray, psi2: float, mu_mean: float,
            level: float) -> pd.DataFrame:
    """Closed-form posterior of βF, µ and θᵢ given τ² (all normal) along a τ² grid."""
    tau = np.sqrt(tau2)[None, :]
    y, v = studies.yi[:, None], studies.vi[:, None]
    mu = MuPrior(mu_mean, float(np.sqrt(psi2)))
    _, mu_hat, var = conditional(tau, y, v, mu)  # (1, T): one meta-analysis per τ² value
    th_mean, th_var, bf_mean, bf_var = theta_conditionals(tau.T, y, v, mu_hat.T, var.T)
    th_mean, th_var = th_mean[..., 0], th_var[..., 0]
    bf_mean, bf_var = bf_mean[:, 0], bf_var[:, 0]
    mu_hat, var = mu_hat[0], var[0]
    z = stats.norm.ppf(0.5 + level / 2)
    parts = [("beta_f", bf_mean, bf_var), ("mu", mu_hat, var)]
    parts += [(f"theta[{lab}]", th_mean[i], th_var[i]) for i, lab in enumerate(studies.labels)]
    frames = [pd.DataFrame({"psi2": psi2, "tau2": tau2, "quantity": q, "mean": m,
                            "ci_low": m - z * np.sqrt(s2), "ci_high": m + z * np.sqrt(s2)})
              for q, m, s2 in parts]
    return pd.concat(frames, ignore_index=True)


def plot_prior_vs_likelihood(
    studies: StudyTable, prior: TauPrior | None = None, *, ax: Axes | None = None,
    mu_prior: MuPrior | None = None,
) -> Axes:
    """Plot a τ prior against the marginal likelihood ``p(y|τ)``, both on the log τ scale.

    The default prior is the lecture's Γ(0.01, 0.01) on the precision τ⁻²: on
    log τ its density is nearly flat over many orders of magnitude below the
    data's scale, where the likelihood is flat too, so the prior, not the data,
    decides how much posterior mass sits at tiny τ.

    Parameters
    ----------
    studies : StudyTable
        The studies.
    prior : TauPrior or None
        The τ prior (default Γ(0.01, 0.01) on τ⁻²); it must have a density.
    ax : matplotlib.axes.Axes or None
        Where to draw; a new figure when ``None``.
    mu_prior : MuPrior or None
        The µ prior the likelihood integrates over (default flat).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import betameta as bm
    >>> from betameta.bayes.sensitivity import plot_prior_vs_likelihood
    >>> ax = plot_prior_vs_likelihood(bm.load_studies("examples/lecture.csv", measure="MD"))
    >>> [t.get_text() for t in ax.get_legend().texts]
    ['likelihood p(y|τ)', 'prior density of log τ: 1/tau2 ~ gamma(0.01, 0.01)']
    """
    import matplotlib.pyplot as plt

    from .priors import flat_mu, gamma_precision

    prior = prior or gamma_precision(0.01, 0.01)
    mu_prior = mu_prior or flat_mu()
    ax = ax or plt.figure(figsize=(6, 3.6)).add_subplot()
    log_tau = np.linspace(-8, 5, 600)
    tau = np.exp(log_tau)
    ll = conditional(tau[:, None], studies.yi[:, None], studies.vi[:, None], mu_prior)[0][:, 0]
    lik = np.exp(ll - ll.max())
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        dens = prior(tau, studies.vi) * tau  # density of log τ
    ax.plot(log_tau, lik, color="#31688e", lw=2, label="likelihood p(y|τ)")
    ax.plot(log_tau, dens / np.nanmax(dens), color="#b5367a", lw=2, ls="--",
            label=f"prior density of log τ: {prior.name}")
    ax.set_xlabel("log τ")
    ax.set_ylabel("relative to its maximum")
    ax.legend(frameon=False, fontsize=8)
    return ax
