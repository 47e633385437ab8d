"""Priors on the between-cluster variance τ² of the partition model.

Densities and CDFs are written with NumPy/SciPy ufuncs (no frozen-distribution
overhead): they are evaluated at ~60 nodes for every variant of a genome.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import InputError

__all__ = ["Tau2Prior", "parse_tau2_prior"]


@dataclass(frozen=True)
class Tau2Prior:
    """``τ² ~ Gamma(shape, rate)`` (Exp(rate) when shape = 1), ``U(0, upper)``, or a point mass.

    Parameters
    ----------
    name : str
        The prior as results print it.
    family : {"gamma", "uniform", "fixed"}
        The family.
    a, b : float
        Gamma's shape and rate; the uniform's upper bound (``a``); the point mass's value
        (``a``).

    Examples
    --------
    >>> prior = parse_tau2_prior("tau2~exponential(2)")
    >>> prior.family, prior.a, prior.b
    ('gamma', 1.0, 2.0)
    """

    name: str
    family: str  # "gamma", "uniform" or "fixed"
    a: float = 1.0
    b: float = 1.0

    @property
    def fixed(self) -> float | None:
        """The fixed value, for a fixed prior (else None)."""
        return self.a if self.family == "fixed" else None

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Return the log density at ``x``.

        Parameters
        ----------
        x : numpy.ndarray
            Values of τ² (≥ 0).

        Returns
        -------
        numpy.ndarray
            ``log p(x)`` (−inf outside a uniform's support).

        Examples
        --------
        >>> import numpy as np
        >>> parse_tau2_prior("tau2~gamma(2,3)").logpdf(np.array([0.5, 1.0])).round(4).tolist()
        [0.0041, -0.8028]
        """
        if self.family == "gamma":
            return (self.a * np.log(self.b) - special.gammaln(self.a) + (self.a - 1) * np.log(x)
                    - self.b * x)
        return np.where((x >= 0) & (x <= self.a), -np.log(self.a), -np.inf)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Return the cumulative distribution function at ``x``.

        Parameters
        ----------
        x : numpy.ndarray
            Values of τ² (≥ 0).

        Returns
        -------
        numpy.ndarray
            ``P(τ² ≤ x)``.

        Examples
        --------
        >>> import numpy as np
        >>> parse_tau2_prior("tau2~uniform(4)").cdf(np.array([1.0, 8.0])).tolist()
        [0.25, 1.0]
        """
        if self.family == "gamma":
            return special.gammainc(self.a, self.b * x)
        return np.clip(x / self.a, 0.0, 1.0)

    @property
    def upper(self) -> float:
        """A τ² above which the prior holds less than 1e-15 of its mass."""
        if self.family == "gamma":
            return float(special.gammainccinv(self.a, 1e-15) / self.b)
        return self.a


def parse_tau2_prior(spec: str | Tau2Prior) -> Tau2Prior:
    """Return the partition model's τ² prior from the prior grammar (:mod:`betameta.prior_grammar`).

    ``tau2~exponential([rate])`` (rate 1 by default), ``tau2~gamma(shape,rate)``,
    ``tau~halfnormal(scale)`` (τ² ~ Gamma(½, rate 1/(2 scale²))), ``tau2~uniform([0,]upper)``, ``tau2=X``;
    or the old spellings ``exponential[:rate]``, ``gamma:shape,rate``, ``halfnormal-tau:scale``,
    ``uniform:upper``, ``fixed:x``.

    Parameters
    ----------
    spec : str or Tau2Prior
        The prior, as written (a :class:`Tau2Prior` is returned as it is).

    Returns
    -------
    Tau2Prior
        The prior, named as the results print it.

    Raises
    ------
    InputError
        A spec the grammar cannot read, an unknown family, or a parameter that is negative or
        zero where it must be positive.

    Examples
    --------
    >>> parse_tau2_prior("tau2~gamma(2,3)")
    Tau2Prior(name='tau2 ~ gamma(2, 3)', family='gamma', a=2.0, b=3.0)
    >>> parse_tau2_prior("tau~halfnormal(0.5)").name
    'tau ~ half-normal(0.5)'
    """
    if isinstance(spec, Tau2Prior):
        return spec
    from ..prior_grammar import build_prior, parse_prior_spec

    parsed = parse_prior_spec(spec, option="tau2")
    vals = parsed.args
    # Zero is a value only for a point mass and as the lower end of tau2~uniform(0, upper).
    positive = vals[1:] if (parsed.parameter, parsed.family) == ("tau2", "uniform") else vals
    if any(x < 0 for x in vals) or (parsed.family != "fixed" and 0 in positive):
        raise InputError(f"tau2 prior {spec!r}: parameters must be positive and finite")
    return build_prior(parsed, _TAU2_FAMILIES, "the partition model's tau2 prior")


def _uniform(*bounds: float) -> Tau2Prior:
    if len(bounds) == 2 and bounds[0] != 0:
        raise InputError("the partition model's tau2~uniform starts at 0: write tau2~uniform(UPPER)")
    return Tau2Prior(f"tau2 ~ uniform(0, {bounds[-1]:g})", "uniform", bounds[-1])


_TAU2_FAMILIES = {
    ("tau2", "exponential"): ((0, 1), lambda rate=1.0: Tau2Prior(f"tau2 ~ exponential({rate:g})",
                                                                 "gamma", 1.0, rate)),
    ("tau2", "gamma"): ((2,), lambda a, b: Tau2Prior(f"tau2 ~ gamma({a:g}, {b:g})", "gamma", a, b)),
    ("tau", "halfnormal"): ((1,), lambda s: Tau2Prior(f"tau ~ half-normal({s:g})", "gamma", 0.5,
                                                      1 / (2 * s * s))),
    ("tau2", "uniform"): ((1, 2), _uniform),
    ("tau2", "fixed"): ((1,), lambda x: Tau2Prior(f"tau2 = {x:g}", "fixed", x)),
}
