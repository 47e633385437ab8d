"""Small-study effects.

Begg's rank correlation test and Duval & Tweedie's trim and fill (metafor's ``ranktest`` and ``trimfill``).

* Rank test (Begg & Mazumdar 1994): Kendall's τ between the standardised effects
  ``(yᵢ − µ̂_FE)/√(vᵢ − V_FE)`` and the variances ``vᵢ``; the p-value is exact without
  ties and from the normal approximation with tie-corrected variance otherwise (R's
  ``cor.test(method = "kendall", exact = TRUE)``, as metafor uses it).
* Trim and fill (Duval & Tweedie 2000), estimator L0, R0 or Q0
  (``k − ½ − √(2k² − 4S_r + ¼)``, Duval 2005): on the side where studies
  are missing (by default the side opposite to the slope of the Egger-type meta-regression
  on √vᵢ, as metafor chooses it), the k₀ most extreme studies are trimmed and the pooled
  estimate re-fitted, iterating until k₀ settles; with ranks ``r`` of ``|yᵢ − µ̂|`` (ties by
  order) and ``S = Σ r`` over positive deviations, ``L0 = (4S − k(k+1))/(2k − 1)`` and
  ``R0 = γ − 1`` (γ the length of the run of largest ranks on the positive side); then the
  k₀ trimmed studies are mirrored about the trimmed estimate, ``2µ̂ − yᵢ`` with the same
  variance, and the model is fitted again to all studies and the filled ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ._options import check_option, check_probability
from ._results import Result
from .errors import InputError

if TYPE_CHECKING:
    from .classical import MetaAnalysis

__all__ = ["FailSafeN", "RankTest", "TrimAndFill", "fail_safe_n", "rank_test", "trim_and_fill"]


@dataclass(frozen=True, repr=False)
class RankTest(Result):
    """Begg's rank correlation test for funnel-plot asymmetry.

    Parameters
    ----------
    tau : float
        Kendall's τ between the standardised effects and the variances.
    p : float
        Its two-sided p-value.
    exact : bool
        Whether ``p`` is from Kendall's exact distribution (no ties) rather than the normal
        approximation.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> test = fit.rank_test()
    >>> round(test.tau, 4), test.exact
    (0.0256, True)
    """

    _title = "Rank correlation test for funnel-plot asymmetry (Begg & Mazumdar)"

    tau: float
    p: float
    exact: bool


def rank_test(fit: MetaAnalysis) -> RankTest:
    """Return Begg and Mazumdar's rank correlation test for funnel-plot asymmetry (metafor's ``ranktest``).

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`).

    Returns
    -------
    RankTest
        Kendall's ``tau`` between the standardised effects and the variances, its ``p`` and whether
        that p is ``exact`` (no ties).

    Notes
    -----
    ``yᵢ* = (yᵢ − µ̂_FE)/√(vᵢ − Var µ̂_FE)`` against ``vᵢ``; the p-value is Kendall's exact
    distribution without ties, the normal approximation with them (as metafor).

    References
    ----------
    Begg & Mazumdar (1994), Biometrics 50:1088.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> from betameta.small_study import rank_test
    >>> r = rank_test(fit)
    >>> round(r.tau, 4), round(r.p, 4)
    (0.0256, 0.9524)
    """
    s = fit.studies
    fe = fit.fixed  # the common-effect estimate, whatever the fit's τ² method
    ystar = (s.yi - fe.estimate) / np.sqrt(s.vi - fe.se**2)
    ties = np.unique(ystar).size < s.k or np.unique(s.vi).size < s.k
    res = stats.kendalltau(ystar, s.vi, method="asymptotic" if ties else "exact")
    return RankTest(float(res.statistic), float(res.pvalue), not ties)


@dataclass(frozen=True, repr=False)
class TrimAndFill(Result):
    """Trim and fill.

    The estimated number of missing studies ``k0`` (with its standard error for L0), the ``side`` they
    were missing on, the filled studies' effects and variances, and the fit to the observed and filled
    studies together.

    Parameters
    ----------
    estimator : str
        ``"L0"``, ``"R0"`` or ``"Q0"``.
    side : str
        ``"left"`` or ``"right"``: where the missing studies were imputed.
    k0 : int
        The estimated number of missing studies.
    se_k0 : float
        Its standard error (L0 and Q0; NaN for R0).
    filled_yi, filled_vi : numpy.ndarray
        The imputed studies' effects (mirrored about the trimmed estimate) and variances.
    fit : MetaAnalysis
        The fit to the observed and imputed studies together.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> filled = fit.trim_and_fill()
    >>> filled.k0, filled.side, round(filled.fit.random.estimate, 4)
    (1, 'right', -0.6571)
    """

    estimator: str
    side: str
    k0: int
    se_k0: float
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    fit: MetaAnalysis

    _title = "Trim and fill"

    def to_frame(self) -> pd.DataFrame:
        """Return the result as a one-row table.

        Returns
        -------
        pandas.DataFrame
            ``estimator``, ``side``, ``k0``, ``se_k0``, and the filled fit's ``estimate``,
            ``se``, ``ci_low``, ``ci_high``, ``p`` and ``tau2``.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> fit.trim_and_fill().to_frame()[["k0", "estimate"]].round(4).values.tolist()
        [[1.0, -0.6571]]
        """
        r = self.fit.random
        return pd.DataFrame([{"estimator": self.estimator, "side": self.side, "k0": self.k0,
                              "se_k0": self.se_k0, "estimate": r.estimate, "se": r.se,
                              "ci_low": r.ci_low, "ci_high": r.ci_high, "p": r.p,
                              "tau2": r.tau2}])


def _k0(y: np.ndarray, centre: float, estimator: str) -> tuple[float, float]:
    k = y.size
    dev = y - centre
    ranks = stats.rankdata(np.abs(dev), method="ordinal")
    signed = np.sign(dev) * ranks
    if estimator in ("L0", "Q0"):
        s_r = signed[signed > 0].sum()
        if estimator == "L0":
            k0 = (4 * s_r - k * (k + 1)) / (2 * k - 1)
        else:
            root = 2 * k * k - 4 * s_r + 0.25
            if root < 0:  # metafor's trimfill fails here too
                raise InputError("the Q0 estimator is not defined for these studies (its square "
                                 f"root's argument is {root:g} < 0): use L0 or R0")
            k0 = k - 0.5 - np.sqrt(root)
        var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0
                  - 18 * k * k0**2 - 18 * k * k0 + 6 * k * k * k0) / 24
        if estimator == "L0":
            return k0, 4 * np.sqrt(var_sr) / (2 * k - 1)
        return k0, 2 * np.sqrt(var_sr) / np.sqrt((k - 0.5) ** 2 - k0 * (2 * k - k0 - 1))
    # R0: the run of the largest ranks that are all on the positive side.
    order = np.argsort(-ranks)
    run = 0
    for i in order:
        if signed[i] <= 0:
            break
        run += 1
    return run - 1.0, np.sqrt(2 * max(0.0, run - 1.0) + 2)


def trim_and_fill(fit: MetaAnalysis, *, estimator: Literal["L0", "R0", "Q0"] = "L0",
                  side: Literal["left", "right"] | None = None, max_iter: int = 100) -> TrimAndFill:
    """Return Duval and Tweedie's trim and fill with the fit's own τ² method (metafor's ``trimfill``).

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`).
    estimator : {"L0", "R0", "Q0"}
        The estimator of the number of missing studies.
    side : {"left", "right"}, optional
        Where studies are missing; by default against the slope of the Egger-type meta-regression
        on √vᵢ, as metafor chooses.
    max_iter : int
        Iterations of trimming before giving up.

    Returns
    -------
    TrimAndFill
        ``k0`` (with its standard error for L0), the ``side``, the filled studies and the fit to the
        observed and filled studies together.

    Raises
    ------
    InputError
        An unknown estimator or side, or Q0 undefined for these studies.
    RuntimeError
        k0 still changing after ``max_iter`` iterations.

    Notes
    -----
    The module docstring has the estimators: the ranks of ``|yᵢ − µ̂|`` of the trimmed fit, recomputed
    until k0 stops changing; the filled studies mirror the k0 most extreme on the other side.

    References
    ----------
    Duval & Tweedie (2000), Biometrics 56:455.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> from betameta.small_study import trim_and_fill
    >>> t = trim_and_fill(fit)
    >>> t.k0, t.side
    (1, 'right')
    """
    from .studies import StudyTable

    estimator = check_option("estimator", estimator, ("L0", "R0", "Q0"))  # type: ignore[assignment]
    s = fit.studies
    if side is None:
        # metafor's choice: against the slope of the Egger-type meta-regression on √vᵢ, fitted
        # directly (egger_test refuses k = 2, where trim and fill of an FE fit still runs).
        from .kernels.random_effects import random_effects_kernel

        X = np.column_stack([np.ones(s.k), s.sei])
        slope = random_effects_kernel(s.yi, s.vi, X, method=fit.random.method).coef[0, 1]  # type: ignore[arg-type]
        side = "right" if slope < 0 else "left"
    side = check_option("side", side, ("left", "right"))  # type: ignore[assignment]
    flip = -1.0 if side == "right" else 1.0
    order = np.argsort(flip * s.yi, kind="stable")
    y, v = flip * s.yi[order], s.vi[order]
    k = y.size

    def pooled(yy, vv) -> float:
        if yy.size == 1:  # one study left after trimming: its own estimate (τ² = 0)
            return float(yy[0])
        r = fit.refit(StudyTable(yy, vv, tuple(map(str, range(yy.size)))))
        return r.fixed.estimate if fit.random.method == "FE" else r.random.estimate

    k0, k0_prev, centre, se_k0 = 0, -1, 0.0, float("nan")
    for _ in range(max_iter):
        if k0 == k0_prev:
            break
        k0_prev = k0
        centre = pooled(y[: k - k0], v[: k - k0])
        raw, se_k0 = _k0(y, centre, estimator)
        k0 = int(min(max(0, round(raw)), k - 1))
    else:
        raise RuntimeError(f"trim and fill did not settle in {max_iter} iterations")
    filled_y = flip * (2 * centre - y[k - k0:]) if k0 else np.empty(0)
    filled_v = v[k - k0:] if k0 else np.empty(0)
    labels = s.labels + tuple(f"filled {i + 1}" for i in range(k0))
    both = StudyTable(np.concatenate([s.yi, filled_y]), np.concatenate([s.vi, filled_v]), labels,
                      s.measure)
    return TrimAndFill(estimator, side, k0, float(se_k0), filled_y, filled_v, fit.refit(both))


@dataclass(frozen=True, repr=False)
class FailSafeN(Result):
    """Fail-safe N.

    How many unpublished null studies would bring the result to the threshold (``method``: Rosenthal,
    Orwin or Rosenberg); ``p`` the combined p-value it starts from (Rosenthal: Stouffer's one-sided;
    Rosenberg: the fixed-effect test), ``mean_effect`` and ``target`` for Orwin (and the fixed effect for
    Rosenberg).

    Parameters
    ----------
    method : str
        ``"Rosenthal"``, ``"Orwin"`` or ``"Rosenberg"``.
    n : int
        The number of null studies needed.
    alpha : float
        The one-sided (Rosenthal) or two-sided (Rosenberg) level of significance aimed at.
    p : float
        The combined p-value of the observed studies (NaN for Orwin).
    mean_effect, target : float
        Orwin's unweighted mean effect and the effect it is brought to; for Rosenberg,
        ``mean_effect`` is the fixed-effect estimate (NaN otherwise).

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> safe = fit.fail_safe_n()
    >>> safe.method, safe.n
    ('Rosenthal', 598)
    """

    method: str
    n: int
    alpha: float
    p: float
    mean_effect: float
    target: float

    _title = "Fail-safe N"


def fail_safe_n(fit: MetaAnalysis, *, method: Literal["Rosenthal", "Orwin", "Rosenberg"] = "Rosenthal",
                alpha: float = 0.05, target: float | None = None) -> FailSafeN:
    """Return the fail-safe N as metafor's ``fsn`` computes it.

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`).
    method : {"Rosenthal", "Orwin", "Rosenberg"}
        The approach.
    alpha : float
        The significance level the unpublished studies would bring the result to.
    target : float, optional
        Orwin's target effect (half the unweighted mean by default).

    Returns
    -------
    FailSafeN
        ``n``, how many null studies would be needed, with the ``method``, its p-value and target.

    Raises
    ------
    InputError
        An unknown method, ``alpha`` outside (0, 1), or an Orwin target that is 0 or not finite.

    Notes
    -----
    With ``zᵢ = yᵢ/√vᵢ``: Rosenthal (1979) ``⌈(Σzᵢ/z_α)² − k⌉``, ``z_α = Φ⁻¹(1 − α)``, from
    Stouffer's one-sided p ``Φ(−|Σzᵢ|/√k)``; Orwin (1983) ``⌈k(ȳ − t)/t⌉`` with ȳ the
    unweighted mean and target ``t = ȳ/2`` by default; Rosenberg (2005)
    ``⌈k(Z²/z²_{α/2} − 1)⌉`` with Z the fixed-effect z statistic.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> from betameta.small_study import fail_safe_n
    >>> fail_safe_n(fit).n
    598
    """
    from scipy import special

    method = check_option("method", method, ("Rosenthal", "Orwin", "Rosenberg"))  # type: ignore[assignment]
    check_probability("alpha", alpha)
    if target is not None and not (np.isfinite(target) and target != 0):
        raise InputError(f"Orwin's target must be a finite non-zero effect, got {target}")
    s = fit.studies
    k = s.k
    nan = float("nan")
    if method == "Rosenthal":
        zsum = float(np.sum(s.yi / s.sei))
        n = (zsum / special.ndtri(1 - alpha)) ** 2 - k
        return FailSafeN(method, int(max(0, np.ceil(n))), alpha,
                         float(special.ndtr(-abs(zsum) / np.sqrt(k))), nan, nan)
    if method == "Orwin":
        mean = float(np.mean(s.yi))
        t = mean / 2 if target is None else float(target)
        return FailSafeN(method, int(max(0, np.ceil(k * (mean - t) / t))), alpha, nan, mean, t)
    fe = fit.fixed
    n = k * ((fe.estimate / fe.se) ** 2 / special.ndtri(1 - alpha / 2) ** 2 - 1)
    return FailSafeN(method, int(max(0, np.ceil(n))), alpha, float(fe.p), float(fe.estimate), nan)
