"""METASOFT's RE2 test, m-values and binary-effects test for one set of studies: the m = 1
view of :mod:`betameta.kernels.metasoft` and :mod:`betameta.kernels.binary_effects`, with the
PM-plot.

Examples
--------
>>> import numpy as np
>>> from betameta import StudyTable
>>> from betameta.metasoft import mvalues, re2
>>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
>>> r = re2(st)
>>> round(r.stat1, 2), round(r.stat2, 3), round(r.neg_log_10_p_value, 2)
(22.56, 0.584, 5.56)
>>> [round(float(m), 3) for m in mvalues(st).m_value]
[0.992, 0.986, 0.19, 0.998]
>>> be = binary_effects(st)
>>> round(be.stat, 2), [round(float(h), 3) for h in be.h_value]
(5.38, [0.986, 0.978, 0.042, 0.995])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from ._results import Result, Summary
from .studies import StudyTable

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["BinaryEffects", "MValues", "Re2", "binary_effects", "mvalues", "re2"]


@dataclass(frozen=True, repr=False)
class Re2(Result):
    """Han & Eskin's RE2 for one set of studies (see :mod:`betameta.kernels.metasoft`)."""

    k: int
    mu: float
    tau2: float
    stat1: float
    stat2: float
    p_value: float
    neg_log_10_p_value: float
    neg_log_10_p_asymptotic: float

    _title = "RE2 random-effects test (Han & Eskin 2011)"


def re2(studies: StudyTable) -> Re2:
    """RE2 of ``studies``: ML (µ, τ²), ``stat1``, ``stat2`` and the p-value corrected for k."""
    from .kernels.metasoft import re2_arrays

    r = re2_arrays(studies.yi[:, None], studies.vi[:, None])
    return Re2(int(r.k[0]), *(float(getattr(r, f)[0]) for f in (
        "mu", "tau2", "stat1", "stat2", "p_value", "neg_log_10_p_value", "neg_log_10_p_asymptotic")))


@dataclass(frozen=True, repr=False)
class MValues(Result):
    """m-values of one set of studies: ``m_value[i] = P(study i has an effect | y)`` and
    each study's own two-sided ``p_value``; ``exact`` whether every configuration was summed."""

    studies: tuple[str, ...]
    m_value: np.ndarray
    p_value: np.ndarray
    exact: bool
    sigma: float
    alpha: float
    beta: float

    _title = "m-values (Han & Eskin 2012)"

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study``, ``m_value``, ``p_value``."""
        import pandas as pd

        return pd.DataFrame({"study": self.studies, "m_value": self.m_value, "p_value": self.p_value})

    def summary(self) -> Summary:
        """The per-study table, titled with the prior."""
        how = "exact" if self.exact else "Gibbs sampler"
        return Summary(f"m-values ({how}; effect ~ N(0, {self.sigma:g}^2), configurations "
                       f"~ beta-binomial({self.alpha:g}, {self.beta:g}))", self.to_frame())

    def plot_pm(self, ax: Axes | None = None) -> Axes:
        """METASOFT's PM-plot: each study's −log10 p against its m-value, with the regions
        m < 0.1 (no effect) and m > 0.9 (an effect) shaded."""
        import matplotlib.pyplot as plt

        ax = ax or plt.figure(figsize=(5.0, 4.0)).add_subplot()
        ax.axvspan(0, 0.1, color="#31688e", alpha=0.12, lw=0)
        ax.axvspan(0.9, 1, color="#b5367a", alpha=0.12, lw=0)
        lp = -np.log10(self.p_value)
        ax.scatter(self.m_value, lp, color="black", s=18, zorder=3)
        for name, x, y in zip(self.studies, self.m_value, lp, strict=True):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("m-value: P(the study has an effect | data)")
        ax.set_ylabel("−log10 p of the study")
        ax.set_title("PM-plot", fontsize=9, loc="left")
        return ax


def mvalues(studies: StudyTable, *, sigma: float = 0.2, alpha: float = 1.0, beta: float = 1.0,
            max_exact: int = 14, sweeps: int = 2000, seed: int | None = 20261203) -> MValues:
    """m-values of ``studies`` (METASOFT's defaults: σ = 0.2, α = β = 1); exact up to
    ``max_exact`` studies, a seeded Gibbs sampler above."""
    from .kernels.metasoft import mvalue_arrays

    r = mvalue_arrays(studies.yi[:, None], studies.vi[:, None], sigma=sigma, alpha=alpha, beta=beta,
                      max_exact=max_exact, sweeps=sweeps, seed=seed)
    p = 2 * special.ndtr(-np.abs(studies.yi) / studies.sei)
    return MValues(studies.labels, r.m_value[:, 0], p, r.exact, sigma, alpha, beta)


@dataclass(frozen=True, repr=False)
class BinaryEffects(Result):
    """METASOFT's binary-effects test of one set of studies (see
    :mod:`betameta.kernels.binary_effects`): the statistic ``stat`` (Z_BE), its two-sided
    ``p_value`` by importance sampling from ``samples`` draws, and each study's weight
    ``h_value``."""

    studies: tuple[str, ...]
    k: int
    stat: float
    p_value: float
    neg_log_10_p_value: float
    samples: int
    h_value: np.ndarray

    _title = "Binary-effects test (Han & Eskin 2012)"

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study``, ``h_value``."""
        import pandas as pd

        return pd.DataFrame({"study": self.studies, "h_value": self.h_value})

    def summary(self) -> Summary:
        """The h-values, titled with the statistic and its p-value."""
        return Summary(f"{self._title}: Z_BE = {self.stat:.4g}, p = {self.p_value:.3g} "
                       f"({self.samples:,} importance-sampling draws)", self.to_frame())


def binary_effects(studies: StudyTable, *, samples: int = 1000, samples_large: int = 100_000,
                   refine_below: float = 1e-4, seed: int | None = 20261203) -> BinaryEffects:
    """BE of ``studies``: the h-value-weighted z statistic and its importance-sampled p
    (``samples`` draws, ``samples_large`` where p < ``refine_below``)."""
    from .kernels.binary_effects import binary_effects_arrays

    r = binary_effects_arrays(studies.yi[:, None], studies.vi[:, None], samples=samples,
                              samples_large=samples_large, refine_below=refine_below, seed=seed)
    return BinaryEffects(studies.labels, int(r.k[0]), float(r.stat[0]), float(r.p_value[0]),
                         float(r.neg_log_10_p_value[0]), int(r.samples[0]), r.h_value[:, 0])
