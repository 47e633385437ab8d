"""Priors on the between-cluster variance τ² of the partition model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Tau2Prior", "parse_tau2_prior"]


@dataclass(frozen=True)
class Tau2Prior:
    """A proper prior on τ² (a frozen SciPy distribution), or a point mass (``fixed``)."""

    name: str
    dist: object | None = None
    fixed: float | None = None

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        return self.dist.logpdf(x)  # type: ignore[union-attr]

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return self.dist.cdf(x)  # type: ignore[union-attr]

    @property
    def upper(self) -> float:
        """A τ² above which the prior holds less than 1e-15 of its mass."""
        return float(self.dist.isf(1e-15))  # type: ignore[union-attr]


def parse_tau2_prior(spec: str | Tau2Prior) -> Tau2Prior:
    """``exponential[:rate]`` (default, rate 1), ``gamma:shape,rate``, ``halfnormal-tau:scale``
    (τ ~ half-normal, i.e. τ² ~ Gamma(½, rate 1/(2 scale²))), ``uniform:upper``, ``fixed:x``."""
    if isinstance(spec, Tau2Prior):
        return spec
    name, _, args = spec.strip().lower().partition(":")
    try:
        vals = [float(a) for a in args.split(",")] if args else []
    except ValueError:
        raise ValueError(f"tau2 prior {spec!r}: parameters must be numbers") from None
    if any(not (np.isfinite(x) and x >= 0) for x in vals) or (name != "fixed" and 0 in vals):
        raise ValueError(f"tau2 prior {spec!r}: parameters must be positive and finite")
    if name == "exponential" and len(vals) <= 1:
        rate = vals[0] if vals else 1.0
        return Tau2Prior(f"tau2 ~ exponential({rate:g})", stats.expon(scale=1 / rate))
    if name == "gamma" and len(vals) == 2:
        return Tau2Prior(f"tau2 ~ gamma({vals[0]:g}, {vals[1]:g})",
                         stats.gamma(vals[0], scale=1 / vals[1]))
    if name == "halfnormal-tau" and len(vals) == 1:
        return Tau2Prior(f"tau ~ half-normal({vals[0]:g})", stats.gamma(0.5, scale=2 * vals[0] ** 2))
    if name == "uniform" and len(vals) == 1:
        return Tau2Prior(f"tau2 ~ uniform(0, {vals[0]:g})", stats.uniform(0, vals[0]))
    if name == "fixed" and len(vals) == 1:
        return Tau2Prior(f"tau2 = {vals[0]:g}", fixed=vals[0])
    raise ValueError(f"unknown tau2 prior {spec!r}; use exponential[:rate], gamma:shape,rate, "
                     "halfnormal-tau:scale, uniform:upper or fixed:x")
