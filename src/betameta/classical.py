"""Classical meta-analysis of one set of studies: fixed effect, heterogeneity, random effects.

The fixed-effect, Q and DerSimonian-Laird numbers come from the vectorised
:func:`betameta.kernels.classical_kernel`; the τ² estimators, the Q-profile interval, the
Hartung-Knapp-Sidik-Jonkman test, the prediction interval and Egger's regression from
:func:`betameta.kernels.random_effects_kernel` (both as their m = 1 view). Conventions
follow metafor 3.8 (``rma.uni``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from ._options import Tau2Method, TestType, check_fit_options, check_option, check_probability
from ._results import Result, Summary
from .errors import InputError
from .kernels import classical_kernel, random_effects_kernel
from .studies import StudyTable

__all__ = [
    "EggerTest",
    "FixedEffect",
    "Heterogeneity",
    "MetaAnalysis",
    "RandomEffects",
    "TotalTest",
    "meta_analysis",
]


@dataclass(frozen=True, repr=False)
class FixedEffect(Result):
    """Inverse-variance estimate ``Σwy/Σw`` (common effect, or the fixed-effects average βF).

    Parameters
    ----------
    estimate, se : float
        ``Σwᵢyᵢ/Σwᵢ`` with ``wᵢ = 1/vᵢ``, and its standard error ``1/√Σwᵢ``.
    ci_low, ci_high : float
        The Wald interval ``estimate ± z₁₋α/₂·se``.
    z, p : float
        ``estimate/se`` and its two-sided normal p-value.
    log10_p : float
        log10 of ``p``, exact where ``p`` underflows a double.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> round(fit.fixed.estimate, 4), round(fit.fixed.se, 4)
    (-0.4303, 0.0405)
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    log10_p: float


@dataclass(frozen=True, repr=False)
class Heterogeneity(Result):
    """Cochran's Q on ``df = k − 1`` and the heterogeneity measures derived from it.

    Parameters
    ----------
    q : float
        ``Q = Σwᵢ(yᵢ − β̂F)²``.
    df : int
        ``k − 1``.
    p : float
        The χ²(df) upper tail of Q.
    i2 : float
        ``max(0, (Q − df)/Q)``, a fraction.
    h2 : float
        ``Q/df``.
    zeta2 : float
        ``max(0, (Q − df)/Σwᵢ)``, the spread of the study effects about βF (ζ²).
    log10_p : float
        log10 of ``p``, exact where ``p`` underflows a double.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> h = fit.heterogeneity
    >>> round(h.q, 2), h.df, round(h.i2, 4)
    (152.23, 12, 0.9212)
    """

    q: float
    df: int
    p: float
    i2: float
    h2: float
    zeta2: float
    log10_p: float


@dataclass(frozen=True, repr=False)
class RandomEffects(Result):
    """Random-effects mean under a τ² estimator.

    ``tau2_ci_*`` and ``i2_ci_*`` are Q-profile bounds; ``i2`` and ``h2`` are
    metafor's τ²-based ``τ²/(τ² + s̃²)`` and ``(τ² + s̃²)/s̃²`` with the "typical"
    within-study variance ``s̃² = (k−1)Σw / ((Σw)² − Σw²)``. With ``test="hksj"``
    the statistic is a t with ``df = k − 1``; otherwise ``df`` is ``None``.

    Parameters
    ----------
    method, test : str
        The τ² estimator and the test of the mean (``"z"`` or ``"hksj"``).
    tau2, tau2_ci_low, tau2_ci_high : float
        τ̂² and its Q-profile interval.
    tau : float
        ``√τ̂²``.
    i2, i2_ci_low, i2_ci_high : float
        I² at τ̂² (a fraction) and at the τ² interval's bounds.
    h2 : float
        H² at τ̂².
    estimate, se, ci_low, ci_high : float
        ``µ̂ = Σwᵢyᵢ/Σwᵢ`` with ``wᵢ = 1/(vᵢ + τ̂²)``, its SE and interval.
    z, p : float
        The test statistic of ``µ = 0`` and its two-sided p-value.
    df : int or None
        The t test's degrees of freedom, ``None`` for a z test.
    pi_low, pi_high : float
        The prediction interval ``µ̂ ± crit·√(τ̂² + se²)`` for a new study's true effect.
    log10_p : float
        log10 of ``p``.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> r = fit.random
    >>> r.method, round(r.tau2, 4), round(r.pi_low, 4), round(r.pi_high, 4)
    ('REML', 0.3132, -1.8667, 0.4376)
    """

    method: str
    test: str
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    tau: float
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    df: int | None
    pi_low: float
    pi_high: float
    log10_p: float


@dataclass(frozen=True, repr=False)
class TotalTest(Result):
    """The test that any study effect is non-zero: ``Z² = Σ yᵢ²/vᵢ = Z²_F + Q`` on k df.

    Parameters
    ----------
    z2 : float
        ``Z² = Σyᵢ²/vᵢ``.
    df : int
        ``k``.
    p, log10_p : float
        The χ²(k) upper tail of Z², and its log10.
    z2_fixed : float
        ``Z²_F = (β̂F/se)²``, the part due to the common effect.
    q : float
        Cochran's Q, the part due to heterogeneity.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> t = fit.total_test
    >>> round(t.z2, 2), round(t.z2_fixed + t.q, 2), t.df
    (265.12, 265.12, 13)
    """

    z2: float
    df: int
    p: float
    log10_p: float
    z2_fixed: float
    q: float


@dataclass(frozen=True, repr=False)
class EggerTest(Result):
    """Egger-type regression test for funnel-plot asymmetry (metafor's ``regtest``).

    ``y = b0 + b1·seᵢ``; ``statistic`` tests ``b1 = 0`` (z for ``model="rma"`` on a z fit, t
    on ``df = k − 2`` for ``model="lm"`` and on an HKSJ fit); ``limit_estimate`` is ``b0``,
    the effect as the standard error goes to 0, with its interval and its two-sided
    ``limit_p`` (the same test).

    Parameters
    ----------
    model : str
        ``"rma"`` (a random- or fixed-effects meta-regression) or ``"lm"`` (weighted least
        squares with a multiplicative dispersion).
    statistic, p : float
        The test of ``b1 = 0`` and its two-sided p-value.
    df : int or None
        The t test's degrees of freedom, ``None`` for a z test.
    slope, slope_se : float
        ``b1`` and its standard error.
    limit_estimate, limit_ci_low, limit_ci_high : float
        ``b0`` and its interval.
    tau2 : float
        The residual τ² of the fit (0 for ``"lm"``).
    predictor : str
        The predictor: ``"sei"``, ``"vi"``, ``"ni"``, ``"ninv"`` or ``"sqrtninv"``.
    limit_p : float
        The two-sided p-value of ``b0 = 0``.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> e = fit.egger_test()
    >>> round(e.statistic, 4), round(e.p, 4), round(e.limit_estimate, 4)
    (-0.8033, 0.4218, -0.5104)
    """

    model: str
    statistic: float
    p: float
    df: int | None
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    tau2: float
    predictor: str = "sei"
    limit_p: float = float("nan")

    _title = "Regression test for funnel-plot asymmetry (Egger)"


@dataclass(frozen=True, repr=False)
class PetPeese(Result):
    """PET-PEESE (Stanley & Doucouliagos 2014).

    ``pet`` (b0 of ``y = b0 + b1·seᵢ``) and ``peese`` (b0 of ``y = b0 + b1·vᵢ``), both weighted least
    squares with weights 1/vᵢ and a multiplicative dispersion; ``chosen`` is PEESE when PET's b0 differs
    from 0 at the two-sided level ``alpha`` (a genuine effect: PEESE's quadratic bias model), PET
    otherwise; ``estimate``/``ci_low``/``ci_high`` are the chosen b0's.
    """

    pet: EggerTest
    peese: EggerTest
    alpha: float
    chosen: str
    estimate: float
    ci_low: float
    ci_high: float

    _title = "PET-PEESE"

    def to_frame(self) -> pd.DataFrame:
        """One row per model: its limit estimate b0, interval, p-value, and which is chosen."""
        return pd.DataFrame([{"model": name, "estimate": t.limit_estimate, "ci_low": t.limit_ci_low,
                              "ci_high": t.limit_ci_high, "p": t.limit_p,
                              "chosen": name == self.chosen}
                             for name, t in (("PET", self.pet), ("PEESE", self.peese))])


def _fmt(x: float, digits: int = 4) -> str:
    """Format with fixed decimals for ordinary magnitudes.

    Significant digits for the very large or small (an SE of 1e-150 is not printed as 0, nor a Q of 1e298
    with 299 digits).
    """
    if x is None or not np.isfinite(x):
        return "NA"
    if x == 0 or 1e-4 <= abs(x) < 1e7:
        return f"{x:.{digits}f}"
    return f"{x:.{max(digits, 3)}g}"


def _row(name: str, est: float, se: float, lo: float, hi: float, p: str) -> str:
    return f"{name:<22}{_fmt(est):>11}{_fmt(se):>11}  {'[' + _fmt(lo) + ', ' + _fmt(hi) + ']':<30}{p:>11}"


def _fmt_p(p: float, log10_p: float) -> str:
    """Return a p-value; one that underflows a double is written from its log10 (``3.2e-1200``)."""
    if p > 0 or not np.isfinite(log10_p):
        return f"{p:.3g}"
    if log10_p < -1e6:
        return f"10^{log10_p:.4g}"
    exponent = np.ceil(-log10_p)
    return f"{10.0 ** (exponent + log10_p):.3g}e-{int(exponent)}"


@dataclass(frozen=True, repr=False)
class MetaAnalysis(Result):
    """Result of :func:`meta_analysis`: all numbers are raw floats.

    Parameters
    ----------
    studies : StudyTable
        The studies fitted.
    level : float
        The level of every interval.
    fixed : FixedEffect
        The common-effect estimate, its SE, interval, z and p.
    heterogeneity : Heterogeneity
        Q with its df and p, I², H² and ζ² at τ² = 0.
    random : RandomEffects
        The random-effects estimate with its τ² method and test, τ² and its Q-profile interval, I²
        and H² at τ̂², and the prediction interval.
    total_test : TotalTest
        ``Z² = Σyᵢ²/vᵢ = Z²_F + Q`` on k df.
    weights_fixed, weights_random : numpy.ndarray
        Each study's weight in percent under either model.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> round(fit.random.estimate, 4), round(fit.random.tau2, 4), round(float(fit.weights_random.sum()), 6)
    (-0.7145, 0.3132, 100.0)
    """

    studies: StudyTable
    level: float
    fixed: FixedEffect
    heterogeneity: Heterogeneity
    random: RandomEffects
    total_test: TotalTest
    weights_fixed: np.ndarray = field(compare=False)
    weights_random: np.ndarray = field(compare=False)

    @property
    def k(self) -> int:
        """Number of studies."""
        return self.studies.k

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as a plain, JSON-ready dict.

        Returns
        -------
        dict
            ``k``, ``level``, ``measure``, the ``fixed``, ``heterogeneity``, ``random`` and
            ``total_test`` results as dicts of floats, and ``studies`` (each study's ``yi``, ``vi``
            and its fixed- and random-effects weights).

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> d = fit.to_dict()
        >>> d["k"], round(d["random"]["tau2"], 4)
        (13, 0.3132)
        """
        return {
            "k": self.k,
            "level": self.level,
            "measure": self.studies.measure,
            "fixed": asdict(self.fixed),
            "heterogeneity": asdict(self.heterogeneity),
            "random": asdict(self.random),
            "total_test": asdict(self.total_test),
            "studies": [
                {"study": s, "yi": float(y), "vi": float(v), "weight_fixed": float(wf),
                 "weight_random": float(wr)}
                for s, y, v, wf, wr in zip(self.studies.labels, self.studies.yi, self.studies.vi,
                                           self.weights_fixed, self.weights_random, strict=True)
            ],
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the pooled estimates as a tidy table, one row per model.

        Returns
        -------
        pandas.DataFrame
            Rows ``fixed`` and ``random_<method>``; columns ``model``, ``estimate``, ``se``,
            ``ci_low``, ``ci_high``, ``statistic``, ``p``, ``tau2``, ``pi_low``, ``pi_high`` (on the
            scale of the effects: log risk ratios for BCG).

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> fit.to_frame()[["model", "estimate"]].round(4).values.tolist()
        [['fixed', -0.4303], ['random_reml', -0.7145]]
        """
        f, r = self.fixed, self.random
        return pd.DataFrame(
            [
                {"model": "fixed", "estimate": f.estimate, "se": f.se, "ci_low": f.ci_low,
                 "ci_high": f.ci_high, "statistic": f.z, "p": f.p, "tau2": 0.0,
                 "pi_low": np.nan, "pi_high": np.nan},
                {"model": f"random_{r.method.lower()}", "estimate": r.estimate, "se": r.se,
                 "ci_low": r.ci_low, "ci_high": r.ci_high, "statistic": r.z, "p": r.p,
                 "tau2": r.tau2, "pi_low": r.pi_low, "pi_high": r.pi_high},
            ]
        )

    def summary(self, transf: Literal["none", "exp"] | None = None) -> Summary:
        """Return the pooled estimates with a readable multi-line report as its text.

        Parameters
        ----------
        transf : {"none", "exp"}, optional
            ``"exp"`` adds the estimates, intervals and prediction interval back on the ratio
            scale (metafor's ``predict(fit, transf = exp)``); by default it does so for the
            log-ratio measures (OR, RR, IRR, ROM, PETO).

        Returns
        -------
        Summary
            A table (``to_frame()``) whose ``text`` is the report: both models, the prediction
            interval, Q with I², H² and ζ², τ² with its Q-profile interval, and the total test
            ``Z² = Z²_F + Q``.

        Raises
        ------
        InputError
            An unknown ``transf``.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> print(fit.summary().text.splitlines()[0])
        Meta-analysis of k = 13 studies (RR)
        """
        from ._options import RATIO_MEASURES, TRANSFORMS

        if transf is None:
            transf = "exp" if self.studies.measure in RATIO_MEASURES else "none"
        transf = check_option("transf", transf, TRANSFORMS)  # type: ignore[assignment]
        f, h, r, t = self.fixed, self.heterogeneity, self.random, self.total_test
        pct = f"{100 * self.level:g}%"
        stat = "t" if r.test == "hksj" else "z"
        lines = [
            f"Meta-analysis of k = {self.k} studies"
            + (f" ({self.studies.measure})" if self.studies.measure else ""),
            "",
            f"{'model':<22}{'estimate':>11}{'se':>11}  {pct + ' CI':<30}{'p':>11}",
            _row("fixed effect", f.estimate, f.se, f.ci_low, f.ci_high, _fmt_p(f.p, f.log10_p)),
            _row(f"random ({r.method}, {r.test})", r.estimate, r.se, r.ci_low, r.ci_high,
                 _fmt_p(r.p, r.log10_p)),
            f"{'prediction interval':<44}  [{_fmt(r.pi_low)}, {_fmt(r.pi_high)}]",
            "",
            f"Heterogeneity: Q = {_fmt(h.q)} on {h.df} df (p = {_fmt_p(h.p, h.log10_p)}); "
            f"I² = {_fmt(100 * h.i2, 1)}%; H² = {_fmt(h.h2, 2)}; "
            f"zeta² = {_fmt(h.zeta2)} (truncated at 0)",
            f"tau² ({r.method}) = {_fmt(r.tau2)} [{_fmt(r.tau2_ci_low)}, {_fmt(r.tau2_ci_high)}] "
            f"(Q-profile); tau = {_fmt(r.tau)}; I² = {_fmt(100 * r.i2, 1)}% "
            f"[{_fmt(100 * r.i2_ci_low, 1)}, {_fmt(100 * r.i2_ci_high, 1)}]",
            f"Total test: Z² = {_fmt(t.z2, 3)} = Z²_F {_fmt(t.z2_fixed, 3)} + Q {_fmt(t.q, 3)} "
            f"on {t.df} df (p = {_fmt_p(t.p, t.log10_p)})",
            f"Random-effects test statistic: {stat} = {_fmt(r.z)}"
            + (f" on {r.df} df" if r.df else ""),
        ]
        if transf == "exp":
            name = RATIO_MEASURES.get(self.studies.measure or "", "exp(effect)")
            e = np.exp
            lines += ["", f"{name} (back-transformed): fixed {_fmt(e(f.estimate))} "
                      f"[{_fmt(e(f.ci_low))}, {_fmt(e(f.ci_high))}]; random {_fmt(e(r.estimate))} "
                      f"[{_fmt(e(r.ci_low))}, {_fmt(e(r.ci_high))}]; prediction interval "
                      f"[{_fmt(e(r.pi_low))}, {_fmt(e(r.pi_high))}]"]
        return Summary(lines[0], self.to_frame(), text="\n".join(lines))

    def __repr__(self) -> str:
        f, r = self.fixed, self.random
        return (
            f"MetaAnalysis(k={self.k}, fixed={f.estimate:.4g} [{f.ci_low:.4g}, {f.ci_high:.4g}], "
            f"random[{r.method}]={r.estimate:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}], "
            f"tau2={r.tau2:.4g}, I2={self.heterogeneity.i2:.3f})"
        )

    def refit(self, studies: StudyTable) -> MetaAnalysis:
        """Return the same analysis (τ² method, test, level) of other studies.

        Parameters
        ----------
        studies
            The studies to fit.

        Returns
        -------
        MetaAnalysis
            As :func:`meta_analysis` with this fit's options.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> first = fit.refit(bm.StudyTable(studies.yi[:6], studies.vi[:6], studies.labels[:6]))
        >>> first.k, first.random.method
        (6, 'REML')
        """
        return meta_analysis(studies, method=self.random.method,  # type: ignore[arg-type]
                             test=self.random.test, level=self.level)  # type: ignore[arg-type]

    @cached_property
    def deleted(self) -> tuple[MetaAnalysis, ...]:
        """The fits without each study in turn (:meth:`refit`), computed once for leave-one-out.

        Influence diagnostics and the Baujat plot.
        """
        if self.k < 3:
            raise InputError(f"case deletion needs at least 3 studies, got {self.k}")
        return tuple(self.refit(self.studies.drop(i)) for i in range(self.k))

    def _row(self, fit: MetaAnalysis, label: str) -> dict[str, Any]:
        """One row of a leave-one-out or cumulative table.

        One row of :meth:`leave_one_out` / :meth:`cumulative` from a refit (metafor's
        ``leave1out``/``cumul`` columns).
        """
        fe = self.random.method == "FE"
        part = fit.fixed if fe else fit.random
        h = fit.heterogeneity
        # I² and H² as metafor reports them: Q-based for FE, τ²-based for random effects.
        i2, h2 = (h.i2, h.h2) if fe else (fit.random.i2, fit.random.h2)
        return {"study": label, "estimate": part.estimate, "se": part.se, "z": part.z,
                "p": part.p, "ci_low": part.ci_low, "ci_high": part.ci_high, "q": h.q,
                "q_p": h.p, "tau2": fit.random.tau2, "i2": i2, "h2": h2,
                "fixed_estimate": fit.fixed.estimate, "fixed_se": fit.fixed.se}

    def leave_one_out(self) -> pd.DataFrame:
        """Refit without each study in turn (same method, test and level).

        Columns: ``study`` (the one left out), ``estimate``, ``se``, ``z``, ``p``, ``ci_low``,
        ``ci_high`` (the random-effects mean, or the common effect for FE), ``q``, ``q_p``,
        ``tau2``, ``i2``, ``h2`` (τ²-based for random effects, Q-based for FE, as metafor),
        ``fixed_estimate``, ``fixed_se``.

        Returns
        -------
        pandas.DataFrame
            One row per study left out, the columns above (metafor's ``leave1out``).

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> round(float(fit.leave_one_out()["estimate"].iloc[0]), 4)
        -0.7071
        """
        if self.k < 3:
            raise InputError(f"leave-one-out needs at least 3 studies, got {self.k}")
        return pd.DataFrame([self._row(fit, label)
                             for fit, label in zip(self.deleted, self.studies.labels, strict=True)])

    def cumulative(self, order: np.ndarray | list | None = None) -> pd.DataFrame:
        """Cumulative meta-analysis (metafor's ``cumul``).

        The fit to the first 1, 2, …, k studies in ``order`` (a sort key per study, e.g. the
        publication year, ascending and stable; default the table's order). Columns as
        :meth:`leave_one_out`, ``study`` the one added; the first row has one study (τ² = 0, Q = 0
        with p = 1, I² = 0, H² = 1, as metafor).

        Parameters
        ----------
        order
            A sort key per study (default: the table's order).

        Returns
        -------
        pandas.DataFrame
            One row per study added, the columns of :meth:`leave_one_out`.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> steps = fit.cumulative(order=studies.data["year"])
        >>> len(steps), round(float(steps["estimate"].iloc[-1]), 4)  # the last row is the whole fit
        (13, -0.7145)
        """
        s = self.studies
        missing = np.flatnonzero(pd.isna(np.asarray(order, dtype=object))) if order is not None else []
        if len(missing):
            raise InputError(f"order has a missing value at position {int(missing[0]) + 1}")
        idx = np.arange(s.k) if order is None else np.argsort(np.asarray(order), kind="stable")
        if idx.size != s.k:
            raise InputError(f"order has {idx.size} entries for {s.k} studies")
        rows = []
        for j in range(1, s.k + 1):
            take = idx[:j]
            if j == 1:  # one study: its own estimate
                i = int(take[0])
                y, se = float(s.yi[i]), float(s.sei[i])
                half = float(special.ndtri(0.5 + self.level / 2)) * se
                rows.append({"study": s.labels[i], "estimate": y, "se": se, "z": y / se,
                             "p": float(2 * special.ndtr(-abs(y / se))), "ci_low": y - half,
                             "ci_high": y + half, "q": 0.0, "q_p": 1.0, "tau2": 0.0, "i2": 0.0,
                             "h2": 1.0, "fixed_estimate": y, "fixed_se": se})
                continue
            sub = StudyTable(s.yi[take], s.vi[take], tuple(s.labels[i] for i in take), s.measure)
            rows.append(self._row(self.refit(sub), s.labels[int(take[-1])]))
        return pd.DataFrame(rows)

    def plot_cumulative(self, order: np.ndarray | list | None = None, ax=None):
        """Draw the forest plot of the cumulative meta-analysis (metafor's ``forest(cumul(fit))``).

        Parameters
        ----------
        order : array-like, optional
            The order in which the studies join (as :meth:`cumulative`); the table's by default.
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure by default.

        Returns
        -------
        matplotlib.axes.Axes
            One row per step, labelled ``+ study``: the estimate and its CI after that study joined.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> ax = fit.plot_cumulative(order=studies.data["year"])
        >>> len(ax.get_yticks())
        13
        """
        import matplotlib.pyplot as plt

        table = self.cumulative(order)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 0.3 * len(table) + 1.2))
        ys = np.arange(len(table), 0, -1)
        ax.hlines(ys, table["ci_low"], table["ci_high"], color="black", lw=1)
        ax.scatter(table["estimate"], ys, marker="D", s=25, color="#31688e", zorder=3)
        ax.set_yticks(ys, [f"+ {lab}" for lab in table["study"]], fontsize=8)
        ax.axvline(0.0, color="grey", lw=0.8, ls=":")
        for side in ("right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(f"cumulative estimate ({self.random.method}), {100 * self.level:g}% CI")
        return ax

    def egger_test(self, *, model: Literal["rma", "lm"] = "rma",
                   predictor: Literal["sei", "vi", "ni", "ninv", "sqrtninv"] = "sei") -> EggerTest:
        """Egger's regression test for funnel-plot asymmetry (metafor's ``regtest``).

        ``model="rma"`` (metafor's default): the meta-regression ``yᵢ = b0 + b1·xᵢ``
        with this fit's τ² method re-estimated under the moderator and this fit's test: z,
        or under HKSJ (metafor's ``test="knha"``) the HKSJ covariance and t on ``k − 2`` df.
        ``model="lm"``: Egger et al. (1997)'s weighted least squares with a
        multiplicative dispersion, t test on ``k − 2`` df. The predictor ``xᵢ``: the
        standard error ``sei`` (Egger's test), the variance ``vi``, the sample size ``ni``,
        ``1/ni`` or ``1/√ni`` (sample sizes from the raw columns the effects came from).

        Parameters
        ----------
        model
            ``rma`` (the meta-regression) or ``lm`` (weighted least squares).
        predictor
            ``sei``, ``vi``, ``ni``, ``ninv`` or ``sqrtninv``.

        Returns
        -------
        EggerTest
            The test of the slope (``statistic``, ``p``, ``df``), the slope and its SE, and
            the limit estimate (the intercept: the effect as the predictor goes to 0) with
            its interval.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> e = fit.egger_test()
        >>> round(e.statistic, 4), round(e.p, 4)
        (-0.8033, 0.4218)
        """
        model = check_option("model", model, ("rma", "lm"))  # type: ignore[assignment]
        predictor = check_option("predictor", predictor,
                                 ("sei", "vi", "ni", "ninv", "sqrtninv"))  # type: ignore[assignment]
        s = self.studies
        if s.k < 3:
            raise InputError(f"Egger's test needs at least 3 studies, got {s.k}")
        if predictor in ("ni", "ninv", "sqrtninv") and s.n is None:
            raise InputError(f"predictor={predictor!r} needs the studies' sample sizes: compute the "
                             "effects from raw columns (load_studies with a measure)")
        # On y/c and v/c² (see _scale): the tests do not change, b0 scales by c, and the slope
        # by c^(1 − a) for a predictor in units of the effect to the power a (se 1, v 2, n 0).
        c = _scale(s)
        y, v = s.yi / c, s.vi / c / c
        power = {"sei": 1, "vi": 2}.get(predictor, 0)
        x = {"sei": np.sqrt(v), "vi": v}.get(predictor)
        if x is None:
            n = np.asarray(s.n, dtype=float)
            x = {"ni": n, "ninv": 1 / n, "sqrtninv": 1 / np.sqrt(n)}[predictor]
        X = np.column_stack([np.ones(s.k), x])
        # Both models are the array kernel's meta-regression on X: "lm" is the fixed-effect
        # fit with the multiplicative dispersion Q/(k − 2) and t on k − 2 df (method FE under
        # the HKSJ covariance), "rma" the random-effects fit with this fit's τ² method.
        test = "hksj" if model == "lm" or self.random.test == "hksj" else "z"
        r = random_effects_kernel(y, v, X, method="FE" if model == "lm" else self.random.method,
                                  test=test, level=self.level)  # type: ignore[arg-type]
        unit = c ** (1 - power)
        # b0 is the effect where the predictor vanishes: the limit of precise studies, except
        # for ni (n → 0), which metafor does not report either.
        limit = c * np.array([r.coef[0, 0], r.ci_low[0, 0], r.ci_high[0, 0]])
        limit = limit if predictor != "ni" else np.full(3, np.nan)
        return EggerTest(model, float(r.stat[0, 1]), float(r.p[0, 1]), s.k - 2 if test == "hksj" else None,
                         float(unit * r.coef[0, 1]), float(unit * r.se[0, 1]), *map(float, limit),
                         float(c * c * r.tau2[0]), predictor,
                         float(r.p[0, 0]) if predictor != "ni" else float("nan"))

    def selection_model(self, *, type: str = "stepfun", steps: tuple[float, ...] | None = None):
        """Fit a selection model for publication bias (metafor's ``selmodel``).

        Parameters
        ----------
        type : {"stepfun", "beta"}
            The Vevea–Hedges step function or the Citkowicz–Vevea beta weight function.
        steps : tuple of float, optional
            The step function's cut points in one-sided p; ``(0.025, 1)`` by default.

        Returns
        -------
        SelectionModel
            µ and τ² adjusted for selection, the weight function's parameters and the likelihood-ratio
            test of selection (:func:`betameta.selection.selection_model`).

        Notes
        -----
        Fitted by ML with τ² (τ² = 0 when this fit is FE), whatever this fit's τ² method, as metafor
        does.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> sel = fit.selection_model(type="beta")  # (no BCG trial has a one-sided p below 0.025)
        >>> sel.type, sel.estimate < 0
        ('beta', True)
        """
        from .selection import selection_model

        return selection_model(self.studies.yi, self.studies.vi, type=type, steps=steps,
                               random=self.random.method != "FE", level=self.level)

    def pet_peese(self, alpha: float = 0.10) -> PetPeese:
        """PET-PEESE (Stanley & Doucouliagos 2014; :class:`PetPeese`).

        The two Egger-type weighted regressions (``egger_test(model="lm")`` on ``sei`` and on ``vi``)
        and the conditional estimate: PEESE's intercept when PET's differs from 0 at two-sided
        ``alpha`` (0.10, i.e. one-sided 0.05 as Stanley 2017 recommends), PET's otherwise.

        Parameters
        ----------
        alpha
            The two-sided level of PET's test of its intercept.

        Returns
        -------
        PetPeese
            Which estimate was ``chosen`` (PET or PEESE), the estimate and its interval, and
            both regressions (``pet``, ``peese``).

        References
        ----------
        Stanley, T. D. & Doucouliagos, H. (2014). Meta-regression approximations to reduce
        publication selection bias. Res Synth Methods 5:60–78.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> pp = fit.pet_peese()
        >>> pp.chosen, round(pp.estimate, 4)
        ('PET', -0.1909)
        """
        check_probability("alpha", alpha)
        pet = self.egger_test(model="lm", predictor="sei")
        peese = self.egger_test(model="lm", predictor="vi")
        use = peese if pet.limit_p < alpha else pet
        return PetPeese(pet, peese, alpha, "PEESE" if use is peese else "PET", use.limit_estimate,
                        use.limit_ci_low, use.limit_ci_high)

    def rank_test(self):
        """Begg's rank correlation test (metafor's ``ranktest``); see :func:`betameta.small_study.rank_test`.

        Returns
        -------
        RankTest
            Kendall's τ between the standardised effects and their variances, and its p-value
            (exact for small k without ties, as metafor).

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> r = fit.rank_test()
        >>> round(r.tau, 4), round(r.p, 4)
        (0.0256, 0.9524)
        """
        from .small_study import rank_test

        return rank_test(self)

    def trim_and_fill(self, *, estimator: Literal["L0", "R0", "Q0"] = "L0",
                      side: Literal["left", "right"] | None = None):
        """Duval and Tweedie's trim and fill (metafor's ``trimfill``).

        See :func:`betameta.small_study.trim_and_fill`.

        Parameters
        ----------
        estimator
            The estimator of the number of missing studies: ``L0``, ``R0`` or ``Q0``.
        side
            The side on which studies are missing (default: the side Egger's test points to).

        Returns
        -------
        TrimAndFill
            ``k0`` (studies filled in) with its SE, the filled effects and variances, and the
            fit to the filled set.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> t = fit.trim_and_fill()
        >>> t.k0, t.side
        (1, 'right')
        """
        from .small_study import trim_and_fill

        return trim_and_fill(self, estimator=estimator, side=side)

    def fail_safe_n(self, *, method: Literal["Rosenthal", "Orwin", "Rosenberg"] = "Rosenthal",
                    alpha: float = 0.05, target: float | None = None):
        """Fail-safe N (metafor's ``fsn``); see :func:`betameta.small_study.fail_safe_n`.

        Parameters
        ----------
        method
            ``Rosenthal`` (studies of zero effect that would make the combined z test
            non-significant), ``Orwin`` (that would bring the mean effect to ``target``) or
            ``Rosenberg`` (the weighted version of Rosenthal's).
        alpha
            The significance level.
        target
            Orwin's target effect (default: half the mean effect).

        Returns
        -------
        FailSafeN
            ``n``, with the p-value or mean effect it was computed from.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> fit.fail_safe_n().n
        598
        """
        from .small_study import fail_safe_n

        return fail_safe_n(self, method=method, alpha=alpha, target=target)

    def influence(self):
        """Case-deletion diagnostics (metafor's ``influence``); see :func:`betameta.influence.influence`.

        Returns
        -------
        Influence
            Per study: externally standardised residuals, DFFITS, Cook's distance, the
            covariance ratio, τ² and QE without it, hat values and DFBETAS, with the studies
            metafor would flag as influential.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> list(fit.influence().to_frame().columns[:4])
        ['study', 'rstudent', 'dffits', 'cooks_d']
        """
        from .influence import influence

        return influence(self)

    def plot_funnel(self, ax=None, **kwargs):
        """Draw the funnel plot: each study's effect against its standard error.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure by default.
        **kwargs
            ``contours``, ``filled`` and ``level`` of :func:`betameta.funnel.funnel_plot`.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn in.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> ax = fit.plot_funnel(contours=True)
        >>> ax.get_ylabel()
        'standard error'
        """
        from .funnel import funnel_plot

        return funnel_plot(self, ax=ax, **kwargs)

    def plot_baujat(self, ax=None):
        """Draw the Baujat plot: each study's share of Q against its influence on the result.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure by default.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn in (coordinates: :func:`betameta.influence.baujat`).

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> ax = fit.plot_baujat()
        >>> len(ax.texts)  # one label per study
        13
        """
        from .funnel import baujat_plot

        return baujat_plot(self, ax=ax)

    def gosh(self, *, max_subsets: int = 1_000_000, seed: int = 20261202):
        """Return the fit to every subset of studies (or a seeded sample): :func:`betameta.influence.gosh`.

        Parameters
        ----------
        max_subsets
            Enumerate all 2ᵏ − 1 subsets up to this many; sample this many above.
        seed
            Seed of the sample.

        Returns
        -------
        Gosh
            Per subset: its size ``k``, Q, I², H², τ², the estimate and which studies it
            holds (``in[<study>]``); ``plot()`` draws metafor's GOSH plot.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> six = fit.refit(bm.StudyTable(studies.yi[:6], studies.vi[:6], studies.labels[:6]))
        >>> len(six.gosh().to_frame())  # every non-empty subset of 6 studies
        63
        """
        from .influence import gosh

        return gosh(self, max_subsets=max_subsets, seed=seed)

    def plot_forest(self, ax=None, **kwargs):
        """Draw the forest plot of the studies and the pooled estimates.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure by default.
        **kwargs
            Options of :func:`betameta.forest.forest_plot` (``raw_columns``, ``xlabel``,
            ``null_value``, …).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn in.

        Examples
        --------
        >>> import betameta as bm
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = bm.meta_analysis(studies)
        >>> ax = fit.plot_forest()
        >>> ax.get_xlabel()
        'Risk ratio'
        """
        from .forest import forest_plot

        return forest_plot(self, ax=ax, **kwargs)


#: Largest |z|-like ratio of effects to standard errors the fits accept: squared, with the
#: weights' cubes (REML's trace of P²) and sums over studies, it stays inside the double range.
_Z_MAX = 1e150
#: Widest ratio of the largest to the smallest variance accepted.
_V_RATIO_MAX = 1e200


def _scale(studies: StudyTable) -> float:
    """Return a power of 2 near the studies' median standard error, to compute on ``y/s`` and ``v/s²``.

    Raises :class:`InputError` where even then a statistic would leave the double range (the reason is
    named).
    """
    y, v = studies.yi, studies.vi
    s = float(2.0 ** np.round(np.median(np.log2(v)) / 2))
    vs = v / s / s  # not v / s²: s² overflows for variances near the double's maximum
    if vs.max() / vs.min() > _V_RATIO_MAX:
        raise InputError(f"studies: the variances span {vs.max() / vs.min():.3g} "
                         f"(from {v.min():.3g} to {v.max():.3g}), more than {_V_RATIO_MAX:.0e}: "
                         "weights that far apart cannot be combined in double precision")
    with np.errstate(over="ignore"):
        ys = y / s
        reach = (np.abs(ys).max() + np.ptp(ys)) / np.sqrt(vs.min())
    if not reach < _Z_MAX:
        far = f"up to {reach:.3g}" if np.isfinite(reach) else "more than 1e308"
        raise InputError(f"studies: the effects lie {far} standard errors from 0 or from each other "
                         f"(largest |effect| {np.abs(y).max():.3g}, smallest variance {v.min():.3g}): "
                         "the test statistics would exceed the double range")
    return s


def meta_analysis(
    studies: StudyTable,
    *,
    method: Tau2Method = "REML",
    test: TestType = "z",
    level: float = 0.95,
) -> MetaAnalysis:
    """Fixed-effect, heterogeneity and random-effects meta-analysis.

    Parameters
    ----------
    studies
        Effects and variances (see :func:`betameta.load_studies`).
    method
        τ² estimator: ``FE`` (τ² = 0), ``DL``, ``PM``, ``REML`` (default, as
        metafor), ``ML``, ``HE``, ``SJ`` or ``EB``.
    test
        ``"z"`` (Wald) or ``"hksj"`` (Hartung-Knapp-Sidik-Jonkman: variance
        ``Σw*(y − µ̂)²/((k−1)Σw*)`` and t on ``k − 1`` df, no truncation).
    level
        Confidence level of all intervals.

    Returns
    -------
    MetaAnalysis
        ``fixed`` (βF, its SE, interval and test), ``heterogeneity`` (Q, I², H², ζ²),
        ``random`` (τ² with its Q-profile interval, µ̂, its interval and test, the
        prediction interval) and ``total_test`` (Z² = Z²F + Q), with the diagnostics as
        methods (``leave_one_out``, ``influence``, ``egger_test``, ``trim_and_fill``, …).

    Raises
    ------
    InputError
        Fewer than 2 studies, an unknown ``method`` or ``test``, or ``level`` outside (0, 1).
    TypeError
        ``studies`` is not a :class:`~betameta.StudyTable`.

    Notes
    -----
    With weights wᵢ = 1/vᵢ, βF = Σwᵢyᵢ/Σwᵢ with SE 1/√Σwᵢ, Q = Σwᵢ(yᵢ − βF)² on k − 1 df,
    I² = (Q − (k − 1))/Q and ζ² = (Q − (k − 1))/Σwᵢ (both truncated at 0). The random-effects
    mean is µ̂ = Σwᵢ*yᵢ/Σwᵢ* with wᵢ* = 1/(vᵢ + τ̂²). The prediction interval is
    ``µ̂ ± c·√(SE² + τ²)`` with ``c`` the normal quantile under the z test and ``t_{k−1}``
    under HKSJ (metafor's ``predict``). The numbers are those of the array kernels
    (:func:`betameta.kernels.classical_kernel`, :func:`betameta.kernels.random_effects_kernel`)
    at m = 1.

    References
    ----------
    DerSimonian & Laird (1986); Viechtbauer (2005, 2007, 2010); Hartung & Knapp
    (2001); Sidik & Jonkman (2002).

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/lecture.csv", measure="MD")
    >>> fit = bm.meta_analysis(studies, method="DL")
    >>> round(fit.fixed.estimate, 4), round(fit.random.estimate, 4), round(fit.random.tau2, 4)
    (-2.0423, -1.2051, 2.8121)
    """
    if not isinstance(studies, StudyTable):
        raise TypeError(f"studies must be a StudyTable (see load_studies), got {type(studies)!r}")
    method, test = check_fit_options(method, test, level)  # type: ignore[assignment]
    k = studies.k
    if k < 2:
        raise InputError(f"a meta-analysis needs at least 2 studies, got {k}")
    # Computed on y/s and v/s² (s a power of 2, so exactly) and scaled back: every estimate
    # scales with s, τ² and ζ² with s², and the tests, Q, I² and H² do not change, so the
    # numbers stay finite and right for variances anywhere in the double range.
    s = _scale(studies)
    y, v = studies.yi / s, studies.vi / s / s
    c = classical_kernel(y, v)
    crit_z = float(special.ndtri(0.5 + level / 2))
    fe, fe_se = float(c.fe_estimate), float(c.fe_se)
    fixed = FixedEffect(s * fe, s * fe_se, s * (fe - crit_z * fe_se), s * (fe + crit_z * fe_se),
                        float(c.fe_z), float(c.fe_p), float(c.fe_log10p))
    het = Heterogeneity(float(c.q), k - 1, float(c.q_p), float(c.i2), float(c.h2),
                        s * s * float(c.zeta2), float(c.q_log10p))

    # The random-effects part: the m = 1 column of the array kernel.
    r = random_effects_kernel(y, v, method=method, test=test, level=level)
    one = {f: getattr(r, f)[0] for f in ("tau2", "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low",
                                         "i2_ci_high", "h2", "pi_low", "pi_high")}
    one |= {f: getattr(r, f)[0, 0] for f in ("coef", "se", "ci_low", "ci_high", "stat", "p", "log10_p")}
    one = {f: float(x) for f, x in one.items()}
    tau2 = one["tau2"]
    random = RandomEffects(
        method=method, test=test, tau2=s * s * tau2, tau2_ci_low=s * s * one["tau2_ci_low"],
        tau2_ci_high=s * s * one["tau2_ci_high"], tau=s * float(np.sqrt(tau2)), i2=one["i2"],
        i2_ci_low=one["i2_ci_low"], i2_ci_high=one["i2_ci_high"], h2=one["h2"],
        estimate=s * one["coef"], se=s * one["se"], ci_low=s * one["ci_low"], ci_high=s * one["ci_high"],
        z=one["stat"], p=one["p"], df=k - 1 if test == "hksj" else None, pi_low=s * one["pi_low"],
        pi_high=s * one["pi_high"], log10_p=one["log10_p"],
    )
    w = 1.0 / v
    wr = 1.0 / (v + tau2)
    total = TotalTest(float(c.z2), k, float(c.z2_p), float(c.z2_log10p),
                      float(c.fe_z) ** 2, float(c.q))
    return MetaAnalysis(studies, level, fixed, het, random, total,
                        weights_fixed=100 * w / w.sum(), weights_random=100 * wr / wr.sum())

