"""ASSET's subset search for one set of studies (Bhattacharjee et al. 2012).

The m = 1 view of :mod:`betameta.kernels.asset`.

Which subset of the studies carries the effect? The one-sided search takes the subset whose
fixed-effect z is largest in absolute value, the two-sided search the best subset of the
studies with positive effects and of those with negative effects, and each p-value accounts
for the search over all 2ᵏ − 1 subsets by the DLM approximation.

Examples
--------
>>> import numpy as np
>>> from betameta import StudyTable
>>> from betameta.asset import asset
>>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
>>> a = asset(st)
>>> a.subset, round(a.beta, 3), round(a.z, 2)
(('A', 'B', 'D'), 0.31, 5.37)
>>> a.subset_positive, a.subset_negative
(('A', 'B', 'D'), ())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._results import Result, Summary
from .studies import StudyTable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Asset", "asset"]


@dataclass(frozen=True, repr=False)
class Asset(Result):
    """ASSET's one- and two-sided subset searches of one set of studies (see :mod:`betameta.kernels.asset`).

    The one-sided search's best ``subset`` (study names) with its fixed effect ``beta``,
    ``se``, ``z`` and DLM ``p_value``; the two-sided search's ``subset_positive`` and
    ``subset_negative`` with their fixed effects and one-tailed p-values, combined by
    Fisher's method into ``p_value_two_sided``; ``samples`` draws behind the DLM sums.

    Parameters
    ----------
    studies : tuple of str
        The study labels.
    k : int
        The number of studies.
    subset : tuple of str
        The one-sided search's best subset.
    z, beta, se : float
        Its fixed-effect z, estimate and SE.
    p_value, neg_log_10_p_value : float
        The DLM p-value of the maximum over subsets, and its −log10.
    subset_positive, subset_negative : tuple of str
        The two-sided search's subsets of positive and negative effects.
    beta_positive, beta_negative : float
        Their fixed effects (NaN for an empty subset).
    p_positive, p_negative : float
        Their one-tailed p-values.
    p_value_two_sided : float
        Fisher's combination of the two.
    samples : int
        The draws behind the DLM sums.

    Examples
    --------
    >>> import numpy as np
    >>> from betameta import StudyTable
    >>> from betameta.asset import asset
    >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
    >>> a = asset(st)
    >>> a.subset, round(a.beta, 3), a.subset_negative
    (('A', 'B', 'D'), 0.31, ())
    """

    studies: tuple[str, ...]
    k: int
    subset: tuple[str, ...]
    z: float
    beta: float
    se: float
    p_value: float
    neg_log_10_p_value: float
    subset_positive: tuple[str, ...]
    subset_negative: tuple[str, ...]
    beta_positive: float
    beta_negative: float
    p_positive: float
    p_negative: float
    p_value_two_sided: float
    samples: int

    _title = "ASSET subset search (Bhattacharjee et al. 2012)"

    def to_frame(self) -> pd.DataFrame:
        """Return each study's memberships as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per study: ``study`` and whether it is in the one-sided search's subset
            (``in_subset``), the positive (``in_subset_positive``) or the negative subset
            (``in_subset_negative``).

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> from betameta.asset import asset
        >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
        >>> a = asset(st)
        >>> a.to_frame()["in_subset"].tolist()
        [True, True, False, True]
        """
        import pandas as pd

        return pd.DataFrame({"study": self.studies,
                             "in_subset": [s in self.subset for s in self.studies],
                             "in_subset_positive": [s in self.subset_positive for s in self.studies],
                             "in_subset_negative": [s in self.subset_negative for s in self.studies]})

    def summary(self) -> Summary:
        """Return the studies' memberships, titled with both searches' effects and p-values.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`.

        Examples
        --------
        >>> import numpy as np
        >>> from betameta import StudyTable
        >>> from betameta.asset import asset
        >>> st = StudyTable(np.array([0.30, 0.28, 0.02, 0.35]), np.full(4, 0.01), ("A", "B", "C", "D"))
        >>> a = asset(st)
        >>> a.summary().title.split(": ")[0]
        'ASSET subset search (Bhattacharjee et al. 2012)'
        """
        two = (f"two-sided: beta+ = {self.beta_positive:.4g}, beta- = {self.beta_negative:.4g}, "
               f"p = {self.p_value_two_sided:.3g}")
        return Summary(f"{self._title}: one-sided beta = {self.beta:.4g} (SE {self.se:.3g}), "
                       f"p = {self.p_value:.3g}; {two}", self.to_frame())


def asset(studies: StudyTable, *, r: np.ndarray | None = None, samples: int = 200,
          samples_large: int = 2000, refine_below: float = 1e-3,
          seed: int | None = 20261203) -> Asset:
    """ASSET's subset searches of ``studies``.

    Parameters
    ----------
    studies : StudyTable
        Effects and variances (weights ``1/SE``; for one trait that is ASSET's √N up to a
        constant).
    r : numpy.ndarray, optional
        The studies' null z correlation (k, k), for shared samples; identity by default.
    samples, samples_large, refine_below, seed
        Draws behind the DLM sums, more where either p is below ``refine_below``, and the
        seed of the common draws.

    Returns
    -------
    Asset
        The best subset (``subset``) with its fixed effect (``beta``, ``se``, ``z``) and
        search-adjusted ``p_value``; the two-sided search's ``subset_positive``,
        ``subset_negative``, their effects and ``p_value_two_sided``.

    Notes
    -----
    For a subset S, Z_S = Σ_S wᵢzᵢ / √Σ_S wᵢ²; the one-sided search takes the S of largest
    ``|Z_S|`` and the two-sided one combines the best subsets of the positive and of the negative
    studies by Z² = Z²₊ + Z²₋. The p-value of the maximum over all 2ᵏ − 1 subsets is the
    DLM approximation (Bhattacharjee et al. 2012), from seeded draws.

    References
    ----------
    Bhattacharjee, S. et al. (2012). A subset-based approach improves power and
    interpretation for the combined analysis of genetic association studies of heterogeneous
    traits. Am J Hum Genet 90:821–835.

    Examples
    --------
    >>> import betameta as bm
    >>> from betameta.asset import asset
    >>> a = asset(bm.load_studies("examples/lecture.csv", measure="MD"))
    >>> a.subset, round(a.beta, 4), round(a.neg_log_10_p_value, 2)
    (('Prasad 2008', 'Prasad 2000'), -3.2664, 30.72)
    """
    from .kernels.asset import asset_arrays

    a = asset_arrays(studies.yi[:, None], studies.vi[:, None], r=r, samples=samples,
                     samples_large=samples_large, refine_below=refine_below, seed=seed)

    def names(mask: np.ndarray) -> tuple[str, ...]:
        return tuple(s for s, keep in zip(studies.labels, mask[:, 0], strict=True) if keep)

    return Asset(studies.labels, int(a.k[0]), names(a.subset), *(float(getattr(a, f)[0]) for f in (
        "z", "beta", "se", "p_value", "neg_log_10_p_value")), names(a.subset_positive),
        names(a.subset_negative), *(float(getattr(a, f)[0]) for f in (
            "beta_positive", "beta_negative", "p_positive", "p_negative", "p_value_two_sided")),
        int(a.samples[0]))
