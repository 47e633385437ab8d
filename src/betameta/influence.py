"""Case-deletion diagnostics of a random-effects (or common-effect) fit.

As metafor's ``influence.rma.uni`` (Viechtbauer & Cheung 2010).

With the full fit's ``µ̂``, its variance ``V`` and weights ``wᵢ = 1/(vᵢ + τ̂²)``, and the fit
without study i (the same τ² method: ``µ̂₋ᵢ``, ``V₋ᵢ``, ``τ̂²₋ᵢ``, ``Q₋ᵢ``):

* ``rstudent = (yᵢ − µ̂₋ᵢ) / √(vᵢ + τ̂²₋ᵢ + V₋ᵢ)`` (studentised deleted residual);
* ``hat = wᵢ/Σw``, ``weight = 100·hat``;
* ``dffits = (µ̂ − µ̂₋ᵢ) / √(hat·(τ̂²₋ᵢ + vᵢ))``;
* ``cooks_d = (µ̂ − µ̂₋ᵢ)²/V``; ``cov_r = V₋ᵢ/V``;
* ``dfbetas = (µ̂ − µ̂₋ᵢ) / √(1/Σⱼ 1/(vⱼ + τ̂²₋ᵢ))`` (all k studies at the deleted τ²);
* ``tau2_del = τ̂²₋ᵢ``, ``qe_del = Q₋ᵢ``.

A study is flagged ``influential`` (metafor's rule, p = 1 coefficient) when
``|dffits| > 3√(p/(k − p))``, or ``P(χ²_p ≤ cooks_d) > 0.5``, or ``hat > 3p/k``, or
``|dfbetas| > 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from ._results import Result, Summary
from .errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from .classical import MetaAnalysis

__all__ = ["Gosh", "Influence", "baujat", "gosh", "influence"]


@dataclass(frozen=True, repr=False)
class Influence(Result):
    """Per-study case-deletion diagnostics (arrays of length k; see the module docstring).

    Parameters
    ----------
    study : tuple of str
        The study labels.
    rstudent, dffits, cooks_d, cov_r : numpy.ndarray
        Studentised deleted residual, DFFITS, Cook's distance and the covariance ratio.
    tau2_del, qe_del : numpy.ndarray
        τ̂² and Q without each study.
    hat, weight : numpy.ndarray
        The hat value ``wᵢ/Σw`` and the weight in percent.
    dfbetas : numpy.ndarray
        DFBETAS of µ.
    influential : numpy.ndarray
        Booleans: metafor's rule for an influential study.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> diag = fit.influence()
    >>> int(diag.influential.sum()), round(float(diag.weight.sum()), 6)
    (0, 100.0)
    """

    study: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cooks_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    qe_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    influential: np.ndarray

    _title = "Influence diagnostics (case deletion)"

    def to_frame(self) -> pd.DataFrame:
        """Return the diagnostics as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per study, one column per field.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> fit.influence().to_frame().columns.tolist()[:4]
        ['study', 'rstudent', 'dffits', 'cooks_d']
        """
        import pandas as pd

        return pd.DataFrame({name: getattr(self, name) for name in self.__dataclass_fields__})


def influence(fit: MetaAnalysis) -> Influence:
    """Return metafor's ``influence()`` case-deletion diagnostics of a fit.

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`), with at least 3 studies.

    Returns
    -------
    Influence
        Per study ``rstudent``, ``dffits``, ``cooks_d``, ``cov_r``, ``tau2_del``, ``qe_del``, ``hat``,
        ``weight``, ``dfbetas`` and whether it is flagged influential (metafor's rules).

    Raises
    ------
    InputError
        Fewer than 3 studies.

    Notes
    -----
    Each study is left out and the model refitted with the same τ² method (the module docstring has
    each statistic's formula, as Viechtbauer & Cheung 2010 define them).

    References
    ----------
    Viechtbauer & Cheung (2010), Res Synth Methods 1:112.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> from betameta.influence import influence
    >>> list(influence(fit).to_frame().columns[:4])
    ['study', 'rstudent', 'dffits', 'cooks_d']
    """
    s = fit.studies
    k = s.k
    if k < 3:
        raise InputError(f"influence diagnostics need at least 3 studies, got {k}")
    fe = fit.random.method == "FE"
    part = fit.fixed if fe else fit.random
    tau2 = 0.0 if fe else fit.random.tau2
    mu, var = part.estimate, part.se**2
    w = 1 / (s.vi + tau2)
    hat = w / w.sum()
    out = {n: np.empty(k) for n in ("rstudent", "dffits", "cooks_d", "cov_r", "tau2_del",
                                    "qe_del", "dfbetas")}
    for i, d in enumerate(fit.deleted):
        dp = d.fixed if fe else d.random
        t2 = 0.0 if fe else d.random.tau2
        diff = mu - dp.estimate
        out["rstudent"][i] = (s.yi[i] - dp.estimate) / np.sqrt(s.vi[i] + t2 + dp.se**2)
        out["dffits"][i] = diff / np.sqrt(hat[i] * (t2 + s.vi[i]))
        out["cooks_d"][i] = diff**2 / var
        out["cov_r"][i] = dp.se**2 / var
        out["tau2_del"][i] = t2
        out["qe_del"][i] = d.heterogeneity.q
        out["dfbetas"][i] = diff / np.sqrt(1 / np.sum(1 / (s.vi + t2)))
    p = 1
    flag = ((np.abs(out["dffits"]) > 3 * np.sqrt(p / (k - p)))
            | (special.chdtr(p, out["cooks_d"]) > 0.5) | (hat > 3 * p / k)
            | (np.abs(out["dfbetas"]) > 1))
    return Influence(s.labels, hat=hat, weight=100 * hat, influential=flag, **out)


def baujat(fit: MetaAnalysis) -> pd.DataFrame:
    """Return the coordinates of the Baujat plot, as metafor's ``baujat``.

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`).

    Returns
    -------
    pandas.DataFrame
        One row per study: ``study``, ``x`` and ``y``.

    Notes
    -----
    ``x`` is each study's contribution to the heterogeneity, ``(yᵢ − µ̂)²/(vᵢ + τ̂²)`` (the full fit),
    and ``y`` its influence on the result, ``(µ̂ − µ̂₋ᵢ)²/V₋ᵢ`` (refitted without it, same method).

    References
    ----------
    Baujat et al. (2002), Stat Med 21:2641.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> from betameta.influence import baujat
    >>> list(baujat(fit).columns)
    ['study', 'x', 'y']
    """
    import pandas as pd

    s = fit.studies
    fe = fit.random.method == "FE"
    part = fit.fixed if fe else fit.random
    tau2 = 0.0 if fe else fit.random.tau2
    x = (s.yi - part.estimate) ** 2 / (s.vi + tau2)
    deleted = [d.fixed if fe else d.random for d in fit.deleted]
    y = np.array([(part.estimate - dp.estimate) ** 2 / dp.se**2 for dp in deleted])
    return pd.DataFrame({"study": s.labels, "x": x, "y": y})


@dataclass(frozen=True, repr=False)
class Gosh(Result):
    """GOSH (graphical display of study heterogeneity; Olkin, Dahabreh & Trikalinos 2012).

    The fit to each subset of studies. ``included`` is (n, k) booleans; ``estimate``, ``tau2``, ``q``,
    ``i2`` and ``h2`` are (n,) (I²/H² as metafor: Q-based for FE, τ²-based otherwise); ``exhaustive`` says
    whether all 2ᵏ − 1 subsets are there.

    Parameters
    ----------
    studies : tuple of str
        The study labels.
    included : numpy.ndarray
        ``(n, k)`` booleans: which studies each subset holds.
    estimate, tau2, q, i2, h2 : numpy.ndarray
        Each subset's pooled estimate, τ², Q, I² and H².
    exhaustive : bool
        Whether every non-empty subset is there (else a random sample).

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> g = fit.gosh(max_subsets=1000)
    >>> g.included.shape, g.exhaustive
    ((1000, 13), False)
    """

    studies: tuple[str, ...]
    included: np.ndarray
    estimate: np.ndarray
    tau2: np.ndarray
    q: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    exhaustive: bool

    def summary(self) -> Summary:
        """Return the quantiles of the subsets' statistics.

        Returns
        -------
        Summary
            One row per statistic (estimate, τ², Q, I², H²) with its 0, 2.5, 50, 97.5 and 100%
            quantiles over the subsets.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> print(fit.gosh(max_subsets=1000).summary().title)
        GOSH: a random sample of 1,000 subsets of 13 studies
        """
        import pandas as pd

        q = (0.0, 0.025, 0.5, 0.975, 1.0)
        table = pd.DataFrame([{"statistic": name, **{f"q{100 * p:g}".replace(".", "_"): v
                                                      for p, v in zip(q, np.nanquantile(x, q), strict=True)}}
                              for name, x in (("estimate", self.estimate), ("tau2", self.tau2),
                                              ("q", self.q), ("i2", self.i2), ("h2", self.h2))])
        how = "all" if self.exhaustive else "a random sample of"
        return Summary(f"GOSH: {how} {self.estimate.size:,} subsets of {len(self.studies)} studies",
                       table)

    def __repr__(self) -> str:
        return (f"Gosh(studies={len(self.studies)}, subsets={self.estimate.size}, "
                f"exhaustive={self.exhaustive})")

    def to_frame(self) -> pd.DataFrame:
        """Return the subsets as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per subset: ``k``, ``q``, ``i2``, ``h2``, ``tau2``, ``estimate``, and a
            boolean column per study (``in[<label>]``).

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> fit.gosh(max_subsets=1000).to_frame().columns.tolist()[:7]
        ['k', 'q', 'i2', 'h2', 'tau2', 'estimate', 'in[1]']
        """
        import pandas as pd

        frame = pd.DataFrame({"k": self.included.sum(axis=1), "q": self.q, "i2": self.i2,
                              "h2": self.h2, "tau2": self.tau2, "estimate": self.estimate})
        return pd.concat([frame, pd.DataFrame(self.included,
                                              columns=[f"in[{s}]" for s in self.studies])], axis=1)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Plot I² against the pooled estimate, one point per subset.

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
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> fit.gosh(max_subsets=1000).plot().get_ylabel()
        'I² (%)'
        """
        import matplotlib.pyplot as plt

        ax = ax or plt.figure(figsize=(5.5, 4.5)).add_subplot()
        ax.scatter(self.estimate, 100 * self.i2, s=4, alpha=0.4, color="#31688e", lw=0)
        ax.set_xlabel("pooled estimate")
        ax.set_ylabel("I² (%)")
        return ax


def gosh(fit: MetaAnalysis, *, max_subsets: int = 1_000_000, seed: int = 20261202) -> Gosh:
    """Return GOSH: the fit to every subset of the studies (or a random sample of them).

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`); its τ² method is used for every subset.
    max_subsets : int
        Enumerate all 2ᵏ − 1 subsets up to this many (k ≤ 19 by default); sample this many above.
    seed : int
        Seed of the sample (each study in with probability ½, empty draws redrawn).

    Returns
    -------
    Gosh
        Per subset its size ``k``, Q, I², H², τ², the estimate and which studies it holds.

    Notes
    -----
    All subsets go through the array kernels at once, one column each; a one-study subset is its own
    estimate with τ² = 0, Q = 0, I² = 0, H² = 1, as metafor reports it.

    References
    ----------
    Olkin, Dahabreh & Trikalinos (2012), Res Synth Methods 3:214.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> from betameta.influence import gosh
    >>> len(gosh(fit.refit(bm.StudyTable(studies.yi[:5], studies.vi[:5], studies.labels[:5]))).to_frame())
    31
    """
    from .kernels import classical_kernel, random_effects_kernel

    if not max_subsets >= 1:
        raise InputError(f"max_subsets must be at least 1, got {max_subsets}")
    s = fit.studies
    k = s.k
    exhaustive = 2**k - 1 <= max_subsets
    if exhaustive:
        codes = np.arange(1, 2**k, dtype=np.int64)
        included = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)
    else:
        rng = np.random.default_rng(seed)
        included = rng.random((max_subsets, k)) < 0.5
        while (empty := ~included.any(axis=1)).any():
            included[empty] = rng.random((int(empty.sum()), k)) < 0.5
    y = np.where(included.T, s.yi[:, None], np.nan)
    v = np.where(included.T, s.vi[:, None], np.nan)
    c = classical_kernel(y, v)
    method = fit.random.method
    one = c.k == 1
    if method == "FE":
        est, tau2 = c.fe_estimate, np.zeros(len(included))
        i2, h2 = c.i2, c.h2
    else:
        r = random_effects_kernel(y, v, method=method, ci=False)  # type: ignore[arg-type]
        est, tau2, i2, h2 = r.coef[:, 0], r.tau2, r.i2, r.h2
        est = np.where(one, c.fe_estimate, est)
    tau2 = np.where(one, 0.0, tau2)
    return Gosh(s.labels, included, est, tau2, np.where(one, 0.0, c.q), np.where(one, 0.0, i2),
                np.where(one, 1.0, h2), exhaustive)
