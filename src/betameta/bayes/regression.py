"""Exact Bayesian meta-regression (bayesmeta's ``bmr``): ``yᵢ ~ N(xᵢ'β, vᵢ + τ²)``.

Given τ, β is Gaussian under a flat or normal prior
(:func:`~betameta.kernels.exact.regression_coefficients`); τ is integrated by the same
quadrature as the intercept-only model (:func:`~betameta.kernels.exact.tau_grid`, any prior
of the catalogue), so each coefficient's posterior is a normal mixture over the τ nodes
(:class:`~betameta.kernels.exact.Mixture`, the one summariser), with the same rules for
moments that do not exist. The Bayes factor for ``βⱼ = 0`` (a proper prior on β) is the
Savage–Dickey ratio ``p(βⱼ = 0 | y) / p(βⱼ = 0)``, exact here because βⱼ's prior does not
depend on τ.

References
----------
Röver, C., Friede, T. (2023). Using the bayesmeta R package for Bayesian random-effects
meta-regression. Computer Methods and Programs in Biomedicine 229:107303.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._options import check_probability
from .._results import Result, Summary
from ..errors import InputError
from ..kernels.exact import CoefficientPrior, Mixture, TauGrid, regression_coefficients, tau_grid
from ..regression import Design, study_design
from ..studies import StudyTable
from .marginals import NormalMixture, TauFunction
from .priors import TauPrior, resolve_tau_prior

__all__ = ["BayesRegression", "bayes_meta_regression"]


@dataclass(frozen=True, repr=False)
class BayesRegression(Result):
    """Result of :func:`bayes_meta_regression`.

    Parameters
    ----------
    studies : StudyTable
        The studies fitted.
    design : Design
        The design matrix and how it was coded.
    tau_prior : TauPrior
        The prior of τ.
    beta_prior : CoefficientPrior
        The prior of the coefficients (flat, or normal per term).
    level : float
        The probability of every interval.
    grid : TauGrid
        The quadrature in τ the posterior is computed on.
    coefficients : tuple of NormalMixture
        The exact marginal posterior of each coefficient, in the order of ``terms``.
    tau : TauFunction
        The marginal posterior of τ.
    notes : tuple of str
        Posterior moments that do not exist, and why.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import load_studies
    >>> from betameta.bayes.regression import bayes_meta_regression
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
    ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
    ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
    >>> fit = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5")
    >>> fit.terms, round(fit.coefficients[1].mean, 4), round(fit.tau.median, 4)
    (('intercept', 'lat'), -0.0249, 0.3428)
    """

    studies: StudyTable = field(repr=False)
    design: Design = field(repr=False)
    tau_prior: TauPrior
    beta_prior: CoefficientPrior = field(repr=False)
    level: float
    grid: TauGrid = field(repr=False)
    coefficients: tuple[NormalMixture, ...] = field(repr=False)
    tau: TauFunction = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        """The names of the coefficients."""
        return self.design.terms

    def to_frame(self) -> pd.DataFrame:
        """Return the coefficients' posteriors as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per coefficient: ``term``, ``mean``, ``sd``, ``median``, ``ci_low``,
            ``ci_high`` (central intervals at ``level``).

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta import load_studies
        >>> from betameta.bayes.regression import bayes_meta_regression
        >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
        ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
        ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
        >>> fit = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5")
        >>> fit.to_frame()[["term", "median"]].round(4).values.tolist()
        [['intercept', 0.1566], ['lat', -0.0255]]
        """
        return pd.DataFrame([{"term": t, **c.stats(self.level)}
                             for t, c in zip(self.terms, self.coefficients, strict=True)])

    def bayes_factor_zero(self) -> np.ndarray:
        """Return the Savage–Dickey Bayes factor of each coefficient being 0.

        Returns
        -------
        numpy.ndarray
            ``p(βⱼ = 0 | y)/p(βⱼ = 0)`` per coefficient; NaN under a flat prior, which has no
            density to compare with.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta import load_studies
        >>> from betameta.bayes.regression import bayes_meta_regression
        >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
        ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
        ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
        >>> fit = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5")
        >>> fit.bayes_factor_zero().tolist()
        [nan, nan]
        >>> proper = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5",
        ...                                beta_mean=0.0, beta_sd=1.0)
        >>> proper.bayes_factor_zero().round(2).tolist()  # > 1: the data favour 0 over N(0, 1)
        [2.58, 4.8]
        """
        if not self.beta_prior.proper:
            return np.full(len(self.terms), np.nan)
        m, s = self.beta_prior.mean, self.beta_prior.sd
        prior0 = np.exp(-0.5 * (m / s) ** 2) / (np.sqrt(2 * np.pi) * s)
        post0 = np.array([float(c.pdf(np.array([0.0]))[0]) for c in self.coefficients])
        return post0 / prior0

    def predict(self, newmods: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Posterior of ``x'β`` (the mean effect at those moderators) and of a new study's effect there.

        Parameters
        ----------
        newmods : pandas.DataFrame or array_like
            The moderator columns, or design rows without the intercept column
            (:meth:`~betameta.regression.Design.rows`).

        Returns
        -------
        pandas.DataFrame
            One row per prediction: ``mean``, ``sd``, ``ci_low``, ``ci_high`` of ``x'β``, and the
            interval ``pi_low``, ``pi_high`` of a new study's effect.

        Raises
        ------
        InputError
            A moderator missing or unknown level, or the wrong number of columns.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta import load_studies
        >>> from betameta.bayes.regression import bayes_meta_regression
        >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
        ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
        ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
        >>> fit = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5")
        >>> fit.predict(pd.DataFrame({"lat": [20, 50]}))["mean"].round(4).tolist()
        [-0.3754, -1.1221]
        """
        X = self.design.rows(newmods)
        t = self.grid.nodes_and_probes
        _, b, C = _conditionals(self, t)
        exist = self.grid.existence(self.beta_prior.proper)
        lo, hi = (1 - self.level) / 2, (1 + self.level) / 2
        rows = []
        for x in X:
            mean = b[:, 0, :] @ x
            var = np.einsum("p,npq,q->n", x, C[:, 0], x)
            mix = Mixture.at_nodes(self.grid, mean[:, None], np.sqrt(var)[:, None], exist.mu_mean,
                                   exist.mu_var)
            new = Mixture.at_nodes(self.grid, mean[:, None], np.sqrt(var + t[:, 0] ** 2)[:, None],
                                   exist.mu_mean, exist.theta_new_var)
            rows.append({"mean": float(mix.mean()[0]), "sd": float(mix.sd()[0]),
                         "ci_low": float(mix.quantile(lo)[0]), "ci_high": float(mix.quantile(hi)[0]),
                         "pi_low": float(new.quantile(lo)[0]), "pi_high": float(new.quantile(hi)[0])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as a JSON-ready dict.

        Returns
        -------
        dict
            ``k``, ``tau_prior``, ``beta_prior``, ``level``, ``coefficients`` (``term, mean, sd,
            median, ci_low, ci_high, bf_zero``), ``tau`` (mean, sd, median, interval) and
            ``notes``.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta import load_studies
        >>> from betameta.bayes.regression import bayes_meta_regression
        >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
        ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
        ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
        >>> fit = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5")
        >>> d = fit.to_dict()
        >>> d["beta_prior"], d["coefficients"][1]["term"]
        ('flat', 'lat')
        """
        coefs = self.to_frame().to_dict(orient="records")
        for row, bf in zip(coefs, self.bayes_factor_zero(), strict=True):
            row["bf_zero"] = float(bf)
        return {"k": self.studies.k, "tau_prior": self.tau_prior.name, "beta_prior": self.beta_prior.name,
                "level": self.level, "coefficients": coefs, "tau": self.tau.stats(self.level),
                "notes": list(self.notes)}

    def summary(self) -> Summary:
        """Return the posterior table of the coefficients with a readable report.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`; its text adds τ's posterior and the notes.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta import load_studies
        >>> from betameta.bayes.regression import bayes_meta_regression
        >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
        ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
        ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
        >>> fit = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5")
        >>> print(fit.summary().title)
        Bayesian meta-regression of k = 10 studies; tau ~ half-normal(0.5), beta ~ flat
        """
        from ..classical import _fmt

        pct = f"{100 * self.level:g}%"
        width = max(12, *(len(t) + 2 for t in self.terms))
        lines = [f"Bayesian meta-regression of k = {self.studies.k} studies; tau ~ {self.tau_prior.name}, "
                 f"beta ~ {self.beta_prior.name}", "",
                 f"{'term':<{width}}{'mean':>11}{'sd':>11}{'median':>11}  {pct + ' interval'}"]
        for t, c in zip(self.terms, self.coefficients, strict=True):
            lo, hi = c.interval(self.level)
            lines.append(f"{t:<{width}}{_fmt(c.mean):>11}{_fmt(c.sd):>11}{_fmt(c.median):>11}  "
                         f"[{_fmt(lo)}, {_fmt(hi)}]")
        lo, hi = self.tau.interval(self.level)
        lines += ["", f"tau: mean {_fmt(self.tau.mean)}, median {_fmt(self.tau.median)}, "
                  f"{pct} [{_fmt(lo)}, {_fmt(hi)}]"] + [f"note: {n}" for n in self.notes]
        return Summary(lines[0], self.to_frame(), text="\n".join(lines))

    def __repr__(self) -> str:
        coefs = ", ".join(f"{t}={c.mean:.4g}" for t, c in zip(self.terms, self.coefficients, strict=True))
        return f"BayesRegression(k={self.studies.k}, {coefs}, tau={self.tau.median:.4g})"


def _conditionals(fit: BayesRegression, t: np.ndarray):
    y, v = fit.studies.yi[:, None], fit.studies.vi[:, None]
    return regression_coefficients(t, y, v, fit.beta_prior)


def bayes_meta_regression(
    studies: StudyTable,
    mods: Sequence[str],
    tau_prior: TauPrior | str | None = None,
    *,
    beta_mean: Sequence[float] | float | None = None,
    beta_sd: Sequence[float] | float | None = None,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
    intercept: bool = True,
    factors: Sequence[str] = (),
    reference: Mapping[str, str] | None = None,
) -> BayesRegression:
    """Exact posterior of the random-effects meta-regression (module docstring).

    Parameters
    ----------
    studies, mods, data, intercept, factors, reference
        As :func:`~betameta.regression.meta_regression`.
    tau_prior
        Any prior of :mod:`betameta.bayes.priors` (default as :func:`~betameta.bayes.bayes_meta`).
    beta_mean, beta_sd
        A normal prior on every coefficient (one value for all, or one per term); by
        default flat (bayesmeta's default).
    level
        Probability of the reported intervals.

    Returns
    -------
    BayesRegression
        The exact marginal posteriors of every coefficient and of τ.

    Raises
    ------
    InputError
        Bad moderators (as :func:`~betameta.regression.design_matrix`), a prior of the wrong
        length, or an improper posterior.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import load_studies
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
    ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
    ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
    >>> fit = bayes_meta_regression(load_studies(d), ["lat"], "halfnormal:0.5")
    >>> fit.terms
    ('intercept', 'lat')
    """
    design = study_design(studies, mods, data=data, intercept=intercept, factors=factors,
                          reference=reference)
    p = design.X.shape[1]
    if (beta_mean is None) != (beta_sd is None):
        raise InputError("give both beta_mean and beta_sd for a normal prior on the coefficients")
    if beta_sd is None:
        mean, sd = np.zeros(p), np.full(p, np.inf)
    else:
        mean, sd = (np.broadcast_to(np.asarray(x, dtype=float), (p,)).copy() if np.ndim(x) == 0
                    else np.asarray(x, dtype=float) for x in (beta_mean, beta_sd))
        if mean.shape != (p,) or sd.shape != (p,):
            raise InputError("the coefficient prior needs one mean and sd per term "
                             f"({', '.join(design.terms)})")
        if not np.all((sd > 0) & np.isfinite(sd)) or not np.all(np.isfinite(mean)):
            raise InputError("the coefficients' prior sds must be positive and finite")
    prior = CoefficientPrior(design.X, mean, sd)
    tau_prior = resolve_tau_prior(tau_prior, studies)
    check_probability("level", level)
    y, v = studies.yi[:, None], studies.vi[:, None]
    grid = tau_grid(y, v, tau_prior, prior)
    if not grid.proper[0]:
        raise InputError(f"the posterior is improper (tau ~ {tau_prior.name}, beta ~ {prior.name}, "
                         f"k = {studies.k}, p = {p}); use a proper prior")
    exist = grid.existence(prior.proper)
    _, b, C = regression_coefficients(grid.nodes_and_probes, y, v, prior)
    coefficients = tuple(NormalMixture(Mixture.at_nodes(grid, b[:, :, j], np.sqrt(C[:, :, j, j]),
                                                        exist.mu_mean, exist.mu_var))
                         for j in range(p))
    ident = lambda t: t  # noqa: E731
    tau = TauFunction(grid, ident, ident, 1.0)
    notes = tuple(grid.existence_notes(prior.proper, mean="the coefficients"))
    return BayesRegression(studies, design, tau_prior, prior, level, grid, coefficients, tau, notes)
