"""One-dimensional posterior marginals: summaries, intervals, densities.

Three kinds, all exposing the same interface (``mean``, ``sd``, ``median``,
``quantile``, ``interval``, ``cdf`` and, where it is cheap and exact, ``pdf``):

* :class:`NormalMixture` — µ, θᵢ, θ_new and βF, which are normal given τ;
* :class:`TauFunction` — τ, τ² and I²(τ), increasing functions of τ whose
  quantiles come straight from τ's;
* :class:`Draws` — anything else (ζ²), from exact i.i.d. posterior draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .._options import INTERVALS, IntervalType, check_option, check_probability
from ..kernels.exact import Mixture, TauGrid


class Marginal:
    """Common interface; subclasses define ``mean``, ``sd`` and ``quantile``."""

    mean: float
    sd: float
    exact: bool = True

    def quantile(self, q: float) -> float:
        """Return the ``q`` quantile."""
        raise NotImplementedError

    @property
    def median(self) -> float:
        """The posterior median."""
        return self.quantile(0.5)

    def interval(self, level: float = 0.95, kind: IntervalType = "central") -> tuple[float, float]:
        """Equal-tailed (``central``) or ``shortest`` interval with the given probability.

        The shortest interval minimises ``Q(p + level) − Q(p)`` over ``p`` (golden
        section; exact for unimodal marginals, as all of these are in practice).

        Parameters
        ----------
        level
            The interval's posterior probability.
        kind
            ``central`` (equal tails) or ``shortest`` (highest density, for a unimodal
            marginal).

        Returns
        -------
        tuple of float
            The interval's lower and upper ends.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.bayes import bayes_meta, priors
        >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
        >>> post = bayes_meta(studies, tau_prior=priors.half_normal(1.0))
        >>> [round(x, 4) for x in post.mu.interval()]
        [-2.6752, 0.352]
        >>> [round(x, 4) for x in post.mu.interval(kind="shortest")]
        [-2.7203, 0.3013]
        """
        kind = check_option("interval", kind, INTERVALS)  # type: ignore[assignment]
        check_probability("level", level)
        if kind == "central":
            return self.quantile((1 - level) / 2), self.quantile((1 + level) / 2)
        res = optimize.minimize_scalar(
            lambda p: self.quantile(p + level) - self.quantile(p),
            bounds=(1e-12, 1 - level - 1e-12), method="bounded", options={"xatol": 1e-9},
        )
        # A posterior piled up at its lower bound (τ at 0) has its shortest interval there.
        p = 0.0 if self.quantile(level) - self.quantile(0.0) <= res.fun else res.x
        return self.quantile(p), self.quantile(p + level)

    def stats(self, level: float = 0.95, kind: IntervalType = "central") -> dict[str, float]:
        """``mean, sd, median, ci_low, ci_high`` of the marginal (the interval at ``level``).

        Parameters
        ----------
        level, kind
            As :meth:`interval`.

        Returns
        -------
        dict of str to float
            ``mean``, ``sd``, ``median``, ``ci_low``, ``ci_high``.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.bayes import bayes_meta, priors
        >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
        >>> post = bayes_meta(studies, tau_prior=priors.half_normal(1.0))
        >>> {k: round(v, 4) for k, v in post.tau.stats().items()}
        {'mean': 1.5831, 'sd': 0.4565, 'median': 1.5276, 'ci_low': 0.8528, 'ci_high': 2.6234}
        """
        lo, hi = self.interval(level, kind)
        return {"mean": self.mean, "sd": self.sd, "median": self.median, "ci_low": lo,
                "ci_high": hi}


@dataclass(frozen=True)
class NormalMixture(Marginal):
    """The one-meta-analysis view of an :class:`~betameta.kernels.exact.Mixture` (µ, θᵢ, θ_new, βF).

    Its summaries as floats, moments flagged when they diverge.
    """

    arrays: Mixture

    @property
    def mean(self) -> float:  # type: ignore[override]
        """The posterior mean (NaN where it does not exist)."""
        return float(self.arrays.mean()[0])

    @property
    def sd(self) -> float:  # type: ignore[override]
        """The posterior sd (inf where the variance is infinite)."""
        return float(self.arrays.sd()[0])

    def quantile(self, q: float) -> float:
        """Return the ``q`` quantile of the normal mixture."""
        return float(self.arrays.quantile(q)[0])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Return the cumulative distribution function at ``x``."""
        x = np.asarray(x, dtype=float)
        return self.arrays.cdf(x.reshape(-1, 1)).reshape(x.shape)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Return the density at ``x``."""
        x = np.asarray(x, dtype=float)
        return self.arrays.pdf(x.reshape(-1, 1)).reshape(x.shape)


@dataclass(frozen=True)
class TauFunction(Marginal):
    """``g(τ)`` for an increasing ``g`` (τ itself, τ², I²(τ)), moments of order ``power``."""

    grid: TauGrid
    g: Callable[[np.ndarray], np.ndarray]
    g_inv: Callable[[np.ndarray], np.ndarray]
    power: float  # g(τ) grows like τ^power (0 for bounded g)
    density: Callable[[np.ndarray], np.ndarray] | None = None

    def _moment(self, r: int) -> float:
        if self.power:  # g(τ) = τ^power: exact moments with the analytic tail
            return float(self.grid.moment(r * self.power)[0])
        return float(self.grid.weight[:, 0] @ self.g(self.grid.tau[:, 0]) ** r)

    @property
    def mean(self) -> float:  # type: ignore[override]
        """The posterior mean of τ (inf where it diverges)."""
        return self._moment(1)

    @property
    def sd(self) -> float:  # type: ignore[override]
        """The posterior sd of τ (inf where the variance diverges)."""
        m2 = self._moment(2)
        if not np.isfinite(m2):
            return float("inf")
        m1 = self._moment(1)
        if not self.power:  # bounded g: two passes over the nodes
            g = self.g(self.grid.tau[:, 0])
            return float(np.sqrt(self.grid.weight[:, 0] @ (g - m1) ** 2))
        return float(np.sqrt(max(m2 - m1 * m1, 0.0)))


    def quantile(self, q: float) -> float:
        """Return the ``q`` quantile of τ, from the quadrature's CDF."""
        if q <= 0:
            return float(self.g(np.array(0.0)))
        return float(self.g(self.grid.quantile(q))[0])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Return the cumulative distribution function of τ at ``x``."""
        x = np.asarray(x, dtype=float)
        return self.grid.cdf(self.g_inv(x).reshape(-1, 1)).reshape(x.shape)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Return the density of τ at ``x``."""
        if self.density is None:
            raise NotImplementedError("no closed-form density for this quantity; use draws")
        return self.density(np.asarray(x, dtype=float))


@dataclass(frozen=True)
class Draws(Marginal):
    """Summaries from i.i.d. posterior draws (Monte Carlo error ~ sd/√n)."""

    draws: np.ndarray
    exact: bool = False

    @property
    def mean(self) -> float:  # type: ignore[override]
        """The mean of the draws."""
        return float(np.mean(self.draws))

    @property
    def sd(self) -> float:  # type: ignore[override]
        """The sd of the draws (n − 1 in the denominator)."""
        return float(np.std(self.draws, ddof=1))

    def quantile(self, q: float) -> float:
        """Return the ``q`` quantile of the draws."""
        return float(np.quantile(self.draws, q))

    def interval(self, level: float = 0.95, kind: IntervalType = "central") -> tuple[float, float]:
        """Return a ``central`` or shortest (``hpd``) interval of probability ``level`` from the draws."""
        kind = check_option("interval", kind, INTERVALS)  # type: ignore[assignment]
        check_probability("level", level)
        if kind == "central":
            return super().interval(level, kind)
        s = np.sort(self.draws)
        n = int(np.ceil(level * s.size))
        width = s[n - 1:] - s[: s.size - n + 1]
        i = int(np.argmin(width))
        return float(s[i]), float(s[i + n - 1])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Return the empirical distribution function of the draws at ``x``."""
        s = np.sort(self.draws)
        return np.searchsorted(s, np.asarray(x, dtype=float), side="right") / s.size
