"""METASOFT's RE2 test, m-values and binary-effects test for one set of studies.

The m = 1 view of :mod:`betameta.kernels.metasoft` and :mod:`betameta.kernels.binary_effects`, with the
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
    """Han & Eskin's RE2 for one set of studies (see :mod:`betameta.kernels.metasoft`).

    Parameters
    ----------
    k : int
        The number of studies.
    mu, tau2 : float
        The ML estimates of the random-effects model.
    stat1, stat2 : float
        ``Z²_FE`` and the heterogeneity part of the likelihood-ratio statistic.
    p_value, neg_log_10_p_value : float
        The p-value of ``stat1 + stat2`` under ½χ²₁ + ½χ²₂, corrected for k, and its −log10.
    neg_log_10_p_asymptotic : float
        −log10 of the uncorrected (asymptotic) p-value.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta import StudyTable
    >>> from betameta.metasoft import re2, mvalues, binary_effects
    >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
    >>> r = re2(st)
    >>> round(r.mu, 4), round(r.tau2, 4), r.neg_log_10_p_value > r.neg_log_10_p_asymptotic
    (0.2375, 0.0064, True)
    """

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
    r"""RE2 of ``studies``: ML (µ, τ²), ``stat1``, ``stat2`` and the p-value corrected for k.

    Parameters
    ----------
    studies
        Effects and variances (see :func:`betameta.load_studies`).

    Returns
    -------
    Re2
        ``k``, the ML ``mu`` and ``tau2``, ``stat1`` (Z²_FE), ``stat2`` (the heterogeneity
        part of the likelihood-ratio statistic), ``p_value`` and ``neg_log_10_p_value``
        (corrected for k), and the asymptotic ``neg_log_10_p_asymptotic``.

    Notes
    -----
    The statistic is the likelihood ratio of the ML random-effects fit against µ = τ² = 0,
    split as stat1 + stat2; its null distribution is the mixture ½χ²₁ + ½χ²₂, with the tail
    corrected for small k by a simulated table (:mod:`betameta.kernels.metasoft`).

    References
    ----------
    Han, B. & Eskin, E. (2011). Random-effects model aimed at discovering associations in
    meta-analysis of genome-wide association studies. Am J Hum Genet 88:586–598.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import StudyTable
    >>> from betameta.metasoft import re2
    >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
    >>> studies = StudyTable(locus["beta"].to_numpy(), locus["se"].to_numpy() ** 2, tuple(locus["study"]))
    >>> r = re2(studies)
    >>> round(r.stat1, 2), round(r.stat2, 3), round(r.neg_log_10_p_value, 2)
    (48.8, 2.023, 11.6)
    """
    from .kernels.metasoft import re2_arrays

    r = re2_arrays(studies.yi[:, None], studies.vi[:, None])
    return Re2(int(r.k[0]), *(float(getattr(r, f)[0]) for f in (
        "mu", "tau2", "stat1", "stat2", "p_value", "neg_log_10_p_value", "neg_log_10_p_asymptotic")))


@dataclass(frozen=True, repr=False)
class MValues(Result):
    """m-values of one set of studies.

    ``m_value[i] = P(study i has an effect | y)`` and each study's own two-sided ``p_value``; ``exact``
    whether every configuration was summed.

    Parameters
    ----------
    studies : tuple of str
        The study labels.
    m_value : numpy.ndarray
        The posterior probability that each study has an effect.
    p_value : numpy.ndarray
        Each study's own two-sided p-value.
    exact : bool
        Whether all 2ᵏ configurations were summed (else a Gibbs sampler).
    sigma : float
        The prior SD of an effect.
    alpha, beta : float
        The beta-binomial prior on the configurations.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta import StudyTable
    >>> from betameta.metasoft import re2, mvalues, binary_effects
    >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
    >>> m = mvalues(st)
    >>> m.exact, m.m_value.round(3).tolist()
    (True, [0.992, 0.986, 0.19, 0.998])
    """

    studies: tuple[str, ...]
    m_value: np.ndarray
    p_value: np.ndarray
    exact: bool
    sigma: float
    alpha: float
    beta: float

    _title = "m-values (Han & Eskin 2012)"

    def to_frame(self) -> pd.DataFrame:
        """Return the m-values as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per study: ``study``, ``m_value``, ``p_value``.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> from betameta.metasoft import re2, mvalues, binary_effects
        >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
        >>> mvalues(st).to_frame().round(3).values.tolist()[2]
        ['C', 0.19, 0.841]
        """
        import pandas as pd

        return pd.DataFrame({"study": self.studies, "m_value": self.m_value, "p_value": self.p_value})

    def summary(self) -> Summary:
        """Return the per-study table, titled with the prior.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> from betameta.metasoft import re2, mvalues, binary_effects
        >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
        >>> print(mvalues(st).summary().title)
        m-values (exact; effect ~ N(0, 0.2^2), configurations ~ beta-binomial(1, 1))
        """
        how = "exact" if self.exact else "Gibbs sampler"
        return Summary(f"m-values ({how}; effect ~ N(0, {self.sigma:g}^2), configurations "
                       f"~ beta-binomial({self.alpha:g}, {self.beta:g}))", self.to_frame())

    def plot_pm(self, ax: Axes | None = None) -> Axes:
        """METASOFT's PM-plot.

        Each study's −log10 p against its m-value, with the regions m < 0.1 (no effect) and m > 0.9
        (an effect) shaded.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> from betameta.metasoft import re2, mvalues, binary_effects
        >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
        >>> mvalues(st).plot_pm().get_title(loc="left")
        'PM-plot'
        """
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
    r"""Return the m-values of ``studies``: each study's posterior probability of an effect.

    Parameters
    ----------
    studies
        Effects and variances (see :func:`betameta.load_studies`).
    sigma
        The prior sd of an effect (METASOFT's default 0.2).
    alpha, beta
        The Beta(α, β) prior of the fraction of studies with an effect (default 1, 1).
    max_exact
        Sum over all 2ᵏ configurations up to this many studies; a seeded Gibbs sampler above.
    sweeps, seed
        Sweeps and seed of the Gibbs sampler.

    Returns
    -------
    MValues
        ``m_value`` and each study's own two-sided ``p_value``, ``exact`` (whether every
        configuration was summed) and the PM-plot (``plot_pm``).

    Notes
    -----
    With cᵢ = 1 when study i has an effect, m_i = P(cᵢ = 1 | y) = Σ_c cᵢ p(y | c) p(c) /
    Σ_c p(y | c) p(c); given c the effects of the studies with cᵢ = 1 share one mean with
    a N(0, σ²) prior, integrated in closed form, and p(c) is Beta-binomial.

    References
    ----------
    Han, B. & Eskin, E. (2012). Interpreting meta-analyses of genome-wide association
    studies. PLoS Genet 8:e1002555.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import StudyTable
    >>> from betameta.metasoft import mvalues
    >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
    >>> studies = StudyTable(locus["beta"].to_numpy(), locus["se"].to_numpy() ** 2, tuple(locus["study"]))
    >>> mvalues(studies).m_value.round(3).tolist()
    [1.0, 0.999, 0.042, 0.931, 0.95]
    """
    from .kernels.metasoft import mvalue_arrays

    r = mvalue_arrays(studies.yi[:, None], studies.vi[:, None], sigma=sigma, alpha=alpha, beta=beta,
                      max_exact=max_exact, sweeps=sweeps, seed=seed)
    p = 2 * special.ndtr(-np.abs(studies.yi) / studies.sei)
    return MValues(studies.labels, r.m_value[:, 0], p, r.exact, sigma, alpha, beta)


@dataclass(frozen=True, repr=False)
class BinaryEffects(Result):
    """METASOFT's binary-effects test of one set of studies (see :mod:`betameta.kernels.binary_effects`).

    The statistic ``stat`` (Z_BE), its two-sided ``p_value`` by importance sampling from ``samples``
    draws, and each study's weight ``h_value``.

    Parameters
    ----------
    studies : tuple of str
        The study labels.
    k : int
        The number of studies.
    stat : float
        Z_BE.
    p_value, neg_log_10_p_value : float
        Its two-sided p-value and −log10.
    samples : int
        The importance-sampling draws behind the p-value.
    h_value : numpy.ndarray
        Each study's weight (its probability of an effect under the BE model).

    Examples
    --------
    >>> import numpy as np
    >>> from betameta import StudyTable
    >>> from betameta.metasoft import re2, mvalues, binary_effects
    >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
    >>> be = binary_effects(st)
    >>> round(be.stat, 3), be.samples
    (5.376, 100000)
    """

    studies: tuple[str, ...]
    k: int
    stat: float
    p_value: float
    neg_log_10_p_value: float
    samples: int
    h_value: np.ndarray

    _title = "Binary-effects test (Han & Eskin 2012)"

    def to_frame(self) -> pd.DataFrame:
        """Return the h-values as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per study: ``study``, ``h_value``.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> from betameta.metasoft import re2, mvalues, binary_effects
        >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
        >>> binary_effects(st).to_frame().round(3).values.tolist()[2]
        ['C', 0.042]
        """
        import pandas as pd

        return pd.DataFrame({"study": self.studies, "h_value": self.h_value})

    def summary(self) -> Summary:
        """Return the h-values, titled with the statistic and its p-value.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> from betameta.metasoft import re2, mvalues, binary_effects
        >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
        >>> print(binary_effects(st).summary().title)
        Binary-effects test (Han & Eskin 2012): Z_BE = 5.376, p = 1.04e-06 (100,000 importance-sampling draws)
        """
        return Summary(f"{self._title}: Z_BE = {self.stat:.4g}, p = {self.p_value:.3g} "
                       f"({self.samples:,} importance-sampling draws)", self.to_frame())


def binary_effects(studies: StudyTable, *, samples: int = 1000, samples_large: int = 100_000,
                   refine_below: float = 1e-4, seed: int | None = 20261203) -> BinaryEffects:
    r"""METASOFT's binary-effects test of ``studies``.

    Parameters
    ----------
    studies
        Effects and variances (see :func:`betameta.load_studies`).
    samples
        Importance-sampling draws of the p-value.
    samples_large, refine_below
        Draws used again where the p-value is below ``refine_below``.
    seed
        Seed of the draws (made study by study, so a study set's p does not depend on
        other variants).

    Returns
    -------
    BinaryEffects
        ``stat`` (Z_BE), its two-sided ``p_value`` and ``neg_log_10_p_value``, the draws used
        and each study's ``h_value``.

    Notes
    -----
    Z_BE = Σ hᵢwᵢzᵢ / √Σ(hᵢwᵢ)², zᵢ = yᵢ/√vᵢ, wᵢ = 1/√vᵢ, with hᵢ the h-value, METASOFT's
    quick stand-in for the m-value; its null distribution has no closed form, so the p-value is estimated
    by importance sampling with METASOFT's proposal (:mod:`betameta.kernels.binary_effects`).

    References
    ----------
    Han, B. & Eskin, E. (2012). Interpreting meta-analyses of genome-wide association
    studies. PLoS Genet 8:e1002555.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import StudyTable
    >>> from betameta.metasoft import binary_effects
    >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
    >>> studies = StudyTable(locus["beta"].to_numpy(), locus["se"].to_numpy() ** 2, tuple(locus["study"]))
    >>> round(binary_effects(studies).stat, 3)
    7.634
    """
    from .kernels.binary_effects import binary_effects_arrays

    r = binary_effects_arrays(studies.yi[:, None], studies.vi[:, None], samples=samples,
                              samples_large=samples_large, refine_below=refine_below, seed=seed)
    return BinaryEffects(studies.labels, int(r.k[0]), float(r.stat[0]), float(r.p_value[0]),
                         float(r.neg_log_10_p_value[0]), int(r.samples[0]), r.h_value[:, 0])
