"""Meta-regression: the random-effects model with moderators, ``yᵢ ~ N(xᵢᵀβ, vᵢ + τ²)``.

The fit is the m = 1 view of :func:`~betameta.kernels.random_effects.random_effects_kernel`
on the design built here (every τ² estimator of the intercept-only model, generalised to
X as metafor does; z or Hartung–Knapp–Sidik–Jonkman tests); this module adds the design,
the tests of the moderators and the presentation.

Formulas (metafor's conventions, Viechtbauer 2010, rma.uni):

* ``QE = y'P₀y`` (P at τ² = 0), χ² on k − p df: residual heterogeneity;
* ``QM = b'V⁻¹b`` over the tested coefficients (by default every one but the intercept),
  χ² on m df; under HKSJ ``QM/m``, F on (m, k − p);
* ``I² = τ²/(τ² + s̃²)``, ``H² = (τ² + s̃²)/s̃²`` with ``s̃² = (k − p)/tr P₀``; for the
  common-effect model (FE) ``I² = max(0, (QE − (k−p))/QE)``, ``H² = QE/(k − p)``;
* pseudo-R² ``max(0, (τ²_RE − τ²)/τ²_RE)``, τ²_RE from the intercept-only model with the
  same estimator (0 where τ²_RE = 0); for FE, the adjusted R² of the weighted least-squares
  fit, ``1 − (QE/(k−p)) / (Q/(k−1))``, at least 0;
* predictions ``x'b`` with ``se = √(x'Vx)``, CI ``± c·se`` and prediction interval
  ``± c·√(se² + τ²)``, ``c`` the normal quantile, or t on k − p df under HKSJ.

References
----------
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. JSS 36(3).
Raudenbush, S. W. (2009). Analyzing effect sizes: random-effects models. In *The Handbook of
Research Synthesis and Meta-Analysis* (2nd ed.).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from ._options import Tau2Method, TestType, check_fit_options, check_option
from ._results import Result, Summary
from .errors import InputError
from .studies import StudyTable

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Design", "FitStats", "LikelihoodRatioTest", "MetaRegression", "PermutationTest",
           "Prediction", "design_matrix", "likelihood_ratio_test", "meta_regression",
           "moderator_table", "study_design"]

#: The intercept's name in term lists and JSON.
INTERCEPT = "intercept"


@dataclass(frozen=True)
class Design:
    """A design matrix ``X`` (k, p) and how it was made.

    ``terms``: one name per column: ``intercept``, a numeric moderator's own name, or
    ``COL[level]`` for the treatment-coded indicator of a factor level (the reference level,
    first in sort order unless chosen, has none). ``columns``: each moderator with its levels
    and the levels that have a column (both ``None`` for a numeric one), in order, so that
    new rows can be coded the same way (:meth:`encode`).

    Parameters
    ----------
    X : numpy.ndarray
        The design matrix, one row per study.
    terms : tuple of str
        The name of each column.
    intercept : bool
        Whether the first column is the intercept.
    columns : tuple
        ``(moderator, levels, coded levels)`` for each moderator, in order; the levels are
        ``None`` for a numeric moderator.

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> from betameta.regression import meta_regression
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = meta_regression(studies, ["ablat"])
    >>> fit.design.terms, fit.design.X.shape
    (('intercept', 'ablat'), (13, 2))
    """

    X: np.ndarray
    terms: tuple[str, ...]
    intercept: bool
    columns: tuple[tuple[str, tuple[str, ...] | None, tuple[str, ...] | None], ...]

    def encode(self, frame: pd.DataFrame, source: str = "newmods") -> np.ndarray:
        """Code new rows as this design's columns.

        Parameters
        ----------
        frame : pandas.DataFrame
            The moderator columns (factors by their levels); other columns are ignored.
        source : str
            What the rows are called in error messages.

        Returns
        -------
        numpy.ndarray
            ``(len(frame), p)``, the intercept column first when the design has one.

        Raises
        ------
        InputError
            A moderator column missing, a value that is not a number, or a factor level the
            fit did not see.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> fit.design.encode(pd.DataFrame({"ablat": [10, 50]})).tolist()
        [[1.0, 10.0], [1.0, 50.0]]
        """
        parts = [np.ones((len(frame), 1))] if self.intercept else []
        for col, levels, coded in self.columns:
            if col not in frame.columns:
                raise InputError(f"{source}: no column {col!r} (the moderators are "
                                 f"{[c[0] for c in self.columns]})")
            if levels is None:
                parts.append(_numeric(frame[col], col, source)[:, None])
            else:
                values = _labels(frame[col], col, source)
                unknown = sorted(set(values) - set(levels))
                if unknown:
                    raise InputError(f"{source}: moderator {col!r}: level {unknown[0]!r} is not "
                                     f"one of the fit's levels {list(levels)}")
                parts.append(_indicators(values, coded))
        return np.concatenate(parts, axis=1)

    def rows(self, newmods: pd.DataFrame | np.ndarray, source: str = "newmods") -> np.ndarray:
        """Return design rows for new moderator values (what ``predict`` evaluates at).

        Parameters
        ----------
        newmods : pandas.DataFrame or array_like
            The moderator columns (factors by their levels, :meth:`encode`), or rows of the
            design without the intercept column (metafor's ``newmods``).
        source : str
            What the rows are called in error messages.

        Returns
        -------
        numpy.ndarray
            ``(n, p)``, the intercept column first when the design has one.

        Raises
        ------
        InputError
            As :meth:`encode` for a DataFrame; for an array, the wrong number of columns.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> meta_regression(studies, ["ablat"]).design.rows([[10.0], [50.0]]).tolist()
        [[1.0, 10.0], [1.0, 50.0]]
        """
        if isinstance(newmods, pd.DataFrame):
            return self.encode(newmods, source)
        X = np.atleast_2d(np.asarray(newmods, dtype=float))
        if self.intercept:
            X = np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)
        if X.shape[1] != len(self.terms):
            raise InputError(f"{source} has {X.shape[1] - self.intercept} columns; the fit's "
                             f"moderator terms are {list(self.terms[self.intercept:])}")
        return X


def _indicators(values: np.ndarray, coded: Sequence[str]) -> np.ndarray:
    """Treatment coding: one 0/1 column per level in ``coded``."""
    return np.stack([values == lev for lev in coded], axis=1).astype(float)


def _numeric(series: pd.Series, col: str, source: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raw = series.iloc[bad[0]]
        what = "missing value" if pd.isna(raw) else f"not a number ({raw!r})"
        raise InputError(f"{source}: row {bad[0] + 1}, moderator {col!r}: {what}; moderators must "
                         "be complete (drop the study or give the value)")
    return values


def _labels(series: pd.Series, col: str, source: str) -> np.ndarray:
    bad = np.flatnonzero(series.isna().to_numpy())
    if bad.size:
        raise InputError(f"{source}: row {bad[0] + 1}, moderator {col!r}: missing value; "
                         "moderators must be complete (drop the study or give the value)")
    return series.map(_level_name).to_numpy(dtype=object)


def _level_name(x: Any) -> str:
    """Return a level as text: 2.0 and 2 are the level '2'."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x).strip()


def _sort_key(level: str) -> tuple:
    try:
        return (0, float(level), level)
    except ValueError:
        return (1, 0.0, level)


def design_matrix(
    data: pd.DataFrame,
    mods: Sequence[str],
    *,
    intercept: bool = True,
    factors: Sequence[str] = (),
    reference: Mapping[str, str] | None = None,
    source: str = "data",
) -> Design:
    """Return the design of a meta-regression on the moderator columns ``mods`` of ``data``.

    Parameters
    ----------
    data
        One row per study.
    mods
        Moderator columns, in order. A numeric column enters as it is; a column of text (or
        one named in ``factors``) is a factor, coded by treatment contrasts: an indicator
        ``COL[level]`` per level but the reference.
    intercept
        Whether the design has an intercept column (first).
    factors
        Numeric columns to treat as factors (metafor's ``factor(grade)``).
    reference
        The reference level of a factor, ``{column: level}``; by default its first level in
        sort order (numeric levels by value).
    source
        How messages name the data (a file name).

    Returns
    -------
    Design
        The (k, p) matrix ``X``, its column names ``terms`` (intercept first), whether it has
        an ``intercept``, and per moderator its ``columns`` entry: ``(name, None, None)`` for a
        numeric one, ``(name, levels, coded levels)`` for a factor.

    Raises
    ------
    InputError
        Naming the column: unknown, with a missing value, constant, a factor with one level,
        collinear with the terms before it; or more coefficients than studies − 1.

    Examples
    --------
    >>> import pandas as pd
    >>> d = design_matrix(pd.DataFrame({"lat": [10, 20, 30, 40], "arm": ["b", "a", "b", "a"]}),
    ...                   ["lat", "arm"])
    >>> d.terms
    ('intercept', 'lat', 'arm[b]')
    """
    if isinstance(mods, str):  # one column; a formula-like string is most likely several
        parts = [m.strip() for m in re.split(r"[+~*:]", mods) if m.strip()]
        if len(parts) > 1 or any(c in mods for c in "+~*:"):
            raise InputError(f"mods={mods!r} looks like a formula: pass the moderator columns as a list, "
                             f"e.g. mods={parts}")
        mods = [mods]
    mods = list(mods)
    reference = dict(reference or {})
    if not mods and not intercept:
        raise InputError("a meta-regression needs at least one moderator or an intercept")
    for col in list(mods) + list(factors) + list(reference):
        if col not in data.columns:
            raise InputError(f"{source}: no moderator column {col!r}; columns are {list(data.columns)}")
    for col in list(factors) + list(reference):
        if col not in mods:
            raise InputError(f"{col!r} is named as a factor or given a reference level but is not "
                             f"among the moderators {mods}")
    if len(set(mods)) != len(mods):
        raise InputError(f"a moderator is named twice: {mods}")
    k = len(data)
    parts: list[np.ndarray] = [np.ones((k, 1))] if intercept else []
    terms: list[str] = [INTERCEPT] if intercept else []
    columns: list[tuple[str, tuple[str, ...] | None, tuple[str, ...] | None]] = []
    for col in mods:
        series = data[col]
        if col not in factors and col not in reference and pd.api.types.is_numeric_dtype(series):
            x = _numeric(series, col, source)
            if intercept and np.ptp(x) == 0:
                raise InputError(f"{source}: moderator {col!r} is constant ({x[0]:g} in every study): "
                                 "it cannot be told apart from the intercept")
            parts.append(x[:, None])
            terms.append(col)
            columns.append((col, None, None))
            continue
        values = _labels(series, col, source)
        levels = sorted(set(values), key=_sort_key)
        if len(levels) < 2:
            raise InputError(f"{source}: moderator {col!r} has one level ({levels[0]!r}) in every "
                             "study: nothing to compare")
        if col in reference:
            ref = _level_name(reference[col])
            if ref not in levels:
                raise InputError(f"reference level {ref!r} of {col!r} is not one of its levels {levels}")
            levels = [ref] + [lev for lev in levels if lev != ref]
        # Without an intercept the first factor has a column for every level (its means).
        coded = levels if not intercept and all(c[1] is None for c in columns) else levels[1:]
        parts.append(_indicators(values, coded))
        terms.extend(f"{col}[{lev}]" for lev in coded)
        columns.append((col, tuple(levels), tuple(coded)))
    X = np.concatenate(parts, axis=1)
    p = X.shape[1]
    if p > k - 1:
        raise InputError(f"{p} coefficients ({', '.join(terms)}) need at least {p + 1} studies, "
                         f"got {k}")
    _check_rank(X, terms, source)
    return Design(X, tuple(terms), intercept, tuple(columns))


def _check_rank(X: np.ndarray, terms: list[str], source: str) -> None:
    """Return the first column that adds nothing to the ones before it is named."""
    scale = np.maximum(np.abs(X).max(axis=0), 1e-300)
    Xs = X / scale
    for j in range(1, X.shape[1] + 1):
        if np.linalg.matrix_rank(Xs[:, :j]) < j:
            raise InputError(f"{source}: moderator term {terms[j - 1]!r} is collinear with "
                             f"{', '.join(repr(t) for t in terms[:j - 1])} (a linear combination "
                             "of them): drop one")


@dataclass(frozen=True, repr=False)
class Prediction(Result):
    """Predicted effects ``x'b`` (one per row of ``X``) with their standard errors.

    Confidence interval and prediction interval (arrays).

    Parameters
    ----------
    X : numpy.ndarray
        The design rows predicted, ``(n, p)``.
    estimate, se : numpy.ndarray
        ``x'b`` and ``√(x'Cov(b)x)`` per row.
    ci_low, ci_high : numpy.ndarray
        The confidence interval of the mean effect at ``x``.
    pi_low, pi_high : numpy.ndarray
        The prediction interval for a new study's true effect, ``± crit·√(se² + τ̂²)``.

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> from betameta.regression import meta_regression
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = meta_regression(studies, ["ablat"])
    >>> fit.predict(pd.DataFrame({"ablat": [10, 50]})).estimate.round(4).tolist()
    [-0.0395, -1.2036]
    """

    X: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray

    _title = "Predicted effects"
    _skip_fields = ("X",)

    def to_frame(self) -> pd.DataFrame:
        """Return the predictions as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per prediction: ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pi_low``,
            ``pi_high``.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> fit.predict(pd.DataFrame({"ablat": [50]})).to_frame().round(4).values.tolist()
        [[-1.2036, 0.1716, -1.54, -0.8672, -1.8412, -0.5661]]
        """
        return pd.DataFrame({"estimate": self.estimate, "se": self.se, "ci_low": self.ci_low,
                             "ci_high": self.ci_high, "pi_low": self.pi_low, "pi_high": self.pi_high})


@dataclass(frozen=True, repr=False)
class FitStats(Result):
    """:meth:`MetaRegression.fit_stats`.

    ``kind`` (ML or REML), ``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc`` and the number of
    parameters ``q``.

    Parameters
    ----------
    kind : str
        ``"ML"`` or ``"REML"``.
    loglik, deviance : float
        The log-likelihood at the estimates and the deviance.
    aic, bic, aicc : float
        ``−2ℓ + 2q``, ``−2ℓ + q log n`` and the small-sample AIC.
    q : int
        The number of parameters (coefficients, plus τ² where estimated).

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> from betameta.regression import meta_regression
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = meta_regression(studies, ["ablat"])
    >>> stats = fit.fit_stats()
    >>> stats.kind, round(stats.loglik, 3), stats.q
    ('REML', -8.087, 3)
    """

    kind: str
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    q: int

    _title = "Fit statistics"


@dataclass(frozen=True, repr=False)
class LikelihoodRatioTest(Result):
    """The result of :func:`likelihood_ratio_test`.

    Parameters
    ----------
    lrt : float
        ``2(ℓ_full − ℓ_reduced)``.
    df : int
        The difference in the number of parameters.
    p : float
        The χ²(df) upper tail of ``lrt``.
    kind : str
        The likelihood compared: ``"ML"``, ``"REML"`` or ``"FE"``.

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> from betameta.regression import meta_regression
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> full = meta_regression(studies, ["ablat"], method="ML")
    >>> test = bm.regression.likelihood_ratio_test(full, meta_regression(studies, [], method="ML"))
    >>> test.df, test.kind
    (1, 'ML')
    """

    lrt: float
    df: int
    p: float
    kind: str

    _title = "Likelihood-ratio test"


def likelihood_ratio_test(full: MetaRegression, reduced: MetaRegression) -> LikelihoodRatioTest:
    """Likelihood-ratio test of nested meta-regressions.

    The likelihood-ratio test of a reduced model nested in a full one (metafor's
    ``anova(full, reduced)``): both fitted to the same studies by ML (or FE), or by REML with
    the same moderators (REML likelihoods of different fixed effects are not comparable, so
    that is refused rather than computed).

    Parameters
    ----------
    full, reduced : MetaRegression
        The two fits; ``reduced`` has fewer parameters (coefficients plus τ²).

    Returns
    -------
    LikelihoodRatioTest
        ``lrt`` = 2(ℓ_full − ℓ_reduced), its ``df`` (the difference in parameters), ``p``
        from χ²_df, and ``kind`` (ML, REML or FE).

    Raises
    ------
    InputError
        Other studies, other estimators, a model that is not smaller, or REML fits with
        different moderators.

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> from betameta.regression import likelihood_ratio_test, meta_regression
    >>> bcg = pd.read_csv("examples/bcg.csv")
    >>> studies = bm.load_studies(bcg, measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> full = meta_regression(studies, ["ablat", "year"], method="ML")
    >>> test = likelihood_ratio_test(full, meta_regression(studies, ["ablat"], method="ML"))
    >>> round(test.lrt, 4), test.df, round(test.p, 4)
    (0.0791, 1, 0.7785)
    """
    if full.studies is not reduced.studies and not (
            np.array_equal(full.studies.yi, reduced.studies.yi)
            and np.array_equal(full.studies.vi, reduced.studies.vi)):
        raise InputError("the two fits are of different studies")
    if full.method != reduced.method:
        raise InputError(f"the fits use different estimators ({full.method}, {reduced.method})")
    if full.method == "REML" and full.terms != reduced.terms:
        raise InputError("REML likelihoods of models with different moderators are not comparable: "
                         "fit both by ML (method='ML') to test moderators")
    if full.method not in ("ML", "REML", "FE"):
        raise InputError(f"a likelihood-ratio test needs ML, REML or FE fits, not {full.method}")
    a, b = full.fit_stats(), reduced.fit_stats()
    df = a.q - b.q
    if df <= 0 or not set(reduced.terms) <= set(full.terms):
        raise InputError(f"the reduced model ({', '.join(reduced.terms)}) is not nested in the full "
                         f"one ({', '.join(full.terms)})")
    lrt = max(0.0, 2.0 * (a.loglik - b.loglik))
    return LikelihoodRatioTest(lrt, df, float(special.chdtrc(df, lrt)), a.kind)


@dataclass(frozen=True, repr=False)
class PermutationTest(Result):
    """Permutation p-values of a meta-regression (:meth:`MetaRegression.permutation_test`).

    ``p`` per coefficient, ``qm_p`` of the moderator test, over ``n`` arrangements, ``exact`` when they
    were all of them.

    Parameters
    ----------
    p : numpy.ndarray
        The permutation p-value of each coefficient.
    qm_p : float
        The permutation p-value of the test of moderators.
    n : int
        The number of arrangements used (the observed one among them).
    exact : bool
        Whether they were every distinct arrangement.

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> from betameta.regression import meta_regression
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = meta_regression(studies, ["ablat"])
    >>> test = fit.permutation_test(200, seed=1)
    >>> test.n, test.exact, test.qm_p
    (200, False, 0.01)
    """

    p: np.ndarray
    qm_p: float
    n: int
    exact: bool

    _title = "Permutation test"

    def to_frame(self) -> pd.DataFrame:
        """Return the permutation p-values as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per coefficient: ``coefficient`` (its index), its permutation ``p``, and
            ``qm_p``, ``n`` and ``exact`` repeated.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> fit.permutation_test(200, seed=1).to_frame()["p"].tolist()
        [0.755, 0.01]
        """
        return pd.DataFrame({"coefficient": np.arange(self.p.size), "p": self.p, "qm_p": self.qm_p,
                             "n": self.n, "exact": self.exact})


def _multiset_permutations(first: np.ndarray) -> np.ndarray:
    """Every distinct ordering of a sorted integer array.

    In lexicographic order (the next permutation: the rightmost ascent, its successor swapped in, the tail
    reversed).
    """
    a = first.copy()
    out = [a.copy()]
    n = a.size
    while True:
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return np.array(out)
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1:] = a[i + 1:][::-1]
        out.append(a.copy())


@dataclass(frozen=True, repr=False)
class MetaRegression(Result):
    """Result of :func:`meta_regression` (raw floats and arrays).

    Coefficients (arrays in the order of ``terms``): ``estimate``, ``se``, ``statistic``
    (z, or t on ``df`` under HKSJ), ``p``, ``ci_low``, ``ci_high``, and their covariance
    ``cov``. ``tau2`` with its Q-profile bounds; ``i2``, ``h2`` (fractions) and ``r2``
    (pseudo-R², a fraction; NaN without an intercept or without moderators); ``qe`` on
    ``df = k − p`` with ``qe_p``; ``qm`` on ``qm_df`` (and ``qm_df2`` = k − p under HKSJ,
    where it is an F statistic) with ``qm_p``, for the coefficients ``btt`` (1-based, as
    metafor's). See the module docstring for the formulas.

    Parameters
    ----------
    studies : StudyTable
        The studies fitted.
    design : Design
        The design matrix and how it was coded.
    method, test : str
        The τ² estimator and the test (``"z"`` or ``"hksj"``).
    level : float
        The level of every interval.
    estimate, se, statistic, p, ci_low, ci_high : numpy.ndarray
        Per coefficient, in the order of ``terms``.
    cov : numpy.ndarray
        The coefficients' covariance ``(X'WX)⁻¹`` (scaled under HKSJ).
    tau2, tau2_ci_low, tau2_ci_high : float
        The residual τ̂² and its Q-profile interval.
    i2, h2, r2 : float
        Residual I², H² and the pseudo-R² (fractions; ``r2`` NaN without intercept or
        moderators).
    qe, qe_p : float
        The test of residual heterogeneity on ``k − p`` df.
    qm, qm_df, qm_df2, qm_p : float
        The test of the coefficients ``btt`` (χ² on ``qm_df``, or F on ``qm_df`` and
        ``qm_df2`` under HKSJ).
    btt : tuple of int
        The tested coefficients, 1-based.

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> from betameta.regression import meta_regression
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = meta_regression(studies, ["ablat"])
    >>> fit.terms, round(fit.qm, 4), round(fit.r2, 4)
    (('intercept', 'ablat'), 16.3582, 0.7563)
    """

    studies: StudyTable = field(repr=False)
    design: Design = field(repr=False)
    method: str
    test: str
    level: float
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    cov: np.ndarray
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    h2: float
    r2: float
    qe: float
    qe_p: float
    qm: float
    qm_df: int
    qm_df2: float
    qm_p: float
    btt: tuple[int, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """The names of the coefficients."""
        return self.design.terms

    @property
    def k(self) -> int:
        """The number of studies."""
        return self.studies.k

    @property
    def df(self) -> int:
        """Residual degrees of freedom ``k − p``."""
        return self.k - len(self.terms)

    def predict(self, newmods: pd.DataFrame | np.ndarray | None = None) -> Prediction:
        """Predicted effects, with CI and prediction interval (metafor's ``predict``).

        ``newmods``: a DataFrame with the moderator columns (factors by their levels), or an
        array of design rows without the intercept column (metafor's ``newmods``); by
        default the studies' own rows (the fitted values).

        Parameters
        ----------
        newmods : pandas.DataFrame or numpy.ndarray or None
            The rows to predict at.

        Returns
        -------
        Prediction
            ``x'b`` with its SE, confidence and prediction intervals per row.

        Raises
        ------
        InputError
            A moderator missing or a level unknown (DataFrame), or the wrong number of columns
            (array).

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> import numpy as np
        >>> fit.predict(np.array([[10.0], [50.0]])).estimate.round(4).tolist()
        [-0.0395, -1.2036]
        """
        X = self.design.X if newmods is None else self.design.rows(newmods)
        return self._predict_rows(X)

    def _predict_rows(self, X: np.ndarray) -> Prediction:
        est = X @ self.estimate
        se = np.sqrt(np.einsum("np,pq,nq->n", X, self.cov, X))
        crit = _critical(self.test, self.level, self.df)
        half_pi = crit * np.sqrt(se**2 + self.tau2)
        return Prediction(X, est, se, est - crit * se, est + crit * se, est - half_pi, est + half_pi)

    def fit_stats(self, kind: str | None = None) -> FitStats:
        """Log-likelihood, deviance, AIC, BIC and AICc at τ̂² (metafor's ``fitstats``).

        ``kind`` ``ML`` or ``REML`` (default: REML for a REML fit, ML otherwise). With
        ``W = diag(1/(vᵢ + τ̂²))``, ``RSS = Σwᵢ(yᵢ − xᵢ'b)²`` and q = p (+1 where τ² was
        estimated): ``ℓ_ML = −½(k log 2π + Σ log(vᵢ + τ̂²) + RSS)``, deviance
        ``−2(ℓ_ML − ℓ_sat)`` with ``ℓ_sat = −½Σ log(2πvᵢ)``; ``ℓ_REML = −½((k − p) log 2π +
        Σ log(vᵢ + τ̂²) + log|X'WX| − log|X'X| + RSS)``, deviance ``−2ℓ_REML``; AIC ``−2ℓ + 2q``,
        BIC ``−2ℓ + q log n``, AICc ``−2ℓ + 2qn'/(n' − q − 1)`` with ``n' = max(n, q + 2)``,
        n = k (ML) or k − p (REML).

        Parameters
        ----------
        kind : {"ML", "REML"} or None
            Which likelihood.

        Returns
        -------
        FitStats
            ``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc`` and ``q``.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> stats = fit.fit_stats("ML")
        >>> round(stats.loglik, 3), round(stats.aic, 3)
        (-7.947, 21.893)
        """
        kind = kind or ("REML" if self.method == "REML" else "ML")
        kind = check_option("kind", kind.upper(), ("ML", "REML"))
        X, y, v = self.design.X, self.studies.yi, self.studies.vi
        w = 1.0 / (v + self.tau2)
        rss = float((w * (y - X @ self.estimate) ** 2).sum())
        k, p = self.k, X.shape[1]
        q = p + (self.method != "FE")
        sum_log = float(np.log(v + self.tau2).sum())
        if kind == "ML":
            ll = -0.5 * (k * np.log(2 * np.pi) + sum_log + rss)
            dev = -2.0 * (ll + 0.5 * float(np.log(2 * np.pi * v).sum()))
            n = k
        else:
            logdet_w = np.linalg.slogdet((X * w[:, None]).T @ X)[1]
            logdet_x = np.linalg.slogdet(X.T @ X)[1]
            ll = -0.5 * ((k - p) * np.log(2 * np.pi) + sum_log + logdet_w - logdet_x + rss)
            dev = -2.0 * ll
            n = k - p
        nn = max(n, q + 2)
        return FitStats(kind, float(ll), float(dev), float(-2 * ll + 2 * q),
                        float(-2 * ll + q * np.log(n)), float(-2 * ll + 2 * q * nn / (nn - q - 1)), q)

    def permutation_test(self, n: int = 1000, *, exact: bool | None = None,
                         seed: np.random.Generator | int | None = None,
                         max_exact: int = 1_000_000) -> PermutationTest:
        """Permutation p-values of QM and of each coefficient (metafor's ``permutest``).

        The moderators' rows are permuted against the studies' effects and variances and the
        model refitted (every arrangement at once, as columns of the array kernel);
        ``p_j = mean(|t*_j| ≥ |t_j| − ε)`` and ``p_QM = mean(QM* ≥ QM − ε)``, ε = √(machine
        ε) as metafor. Exact, over every distinct arrangement of the design's rows (tied
        rows, as a factor's, counted once: k!/Π nᵢ!), when ``exact`` or when there are no
        more of them than ``n``; otherwise ``n`` random permutations (``seed`` an integer or a
        Generator), the observed arrangement among them, so p ≥ 1/n.

        Parameters
        ----------
        n : int
            The number of random arrangements (at least 1), and the most distinct ones for
            which the test is exact by default.
        exact : bool or None
            Force (``True``) or refuse (``False``) the exact test; ``None`` decides by ``n``.
        seed : int or numpy.random.Generator or None
            For the random arrangements.
        max_exact : int
            The most arrangements an exact test may refit.

        Returns
        -------
        PermutationTest
            The p-value per coefficient and of QM, with ``n`` and ``exact``.

        Raises
        ------
        InputError
            ``n`` not a whole number ≥ 1, or an exact test needing more than ``max_exact``
            refits.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> fit.permutation_test(200, seed=1).p.tolist()
        [0.755, 0.01]
        """
        from math import factorial, prod

        from .kernels.random_effects import random_effects_kernel

        if not (isinstance(n, int | np.integer) and n >= 1):
            raise InputError(f"n must be a whole number of permutations >= 1, got {n!r}")
        labels = np.unique(self.design.X, axis=0, return_inverse=True)[1].reshape(-1)
        counts = np.bincount(labels)
        distinct = factorial(self.k) // prod(factorial(int(c)) for c in counts)
        exact = bool(exact) or (exact is None and distinct <= n)
        if exact:
            if distinct > max_exact:
                raise InputError(f"an exact permutation test needs {distinct:,} refits (more than "
                                 f"max_exact = {max_exact:,}): use random permutations")
            arrangements = _multiset_permutations(np.sort(labels))
        else:
            gen = np.random.default_rng(seed)
            arrangements = np.stack([labels] + [gen.permutation(labels) for _ in range(n - 1)])
        # Arrangement L gives study i the covariates of a row labelled L[i]: with the design
        # held fixed, row σ(i) (an original row with that label) takes study i's data.
        sigma = np.empty_like(arrangements)
        rows = np.arange(arrangements.shape[0])[:, None]
        sigma[rows, np.argsort(arrangements, axis=1, kind="stable")] = np.argsort(labels, kind="stable")
        y = np.empty((self.k, arrangements.shape[0]))
        v = np.empty_like(y)
        y[sigma.T, rows.T] = self.studies.yi[:, None]
        v[sigma.T, rows.T] = self.studies.vi[:, None]
        r = random_effects_kernel(y, v, self.design.X, method=self.method, test=self.test,  # type: ignore[arg-type]
                                  level=self.level, ci=False)
        qm = _moderator_statistic(r.coef, r.cov, self.btt, self.test)
        tol = np.sqrt(np.finfo(float).eps)
        p = (np.abs(r.stat) >= np.abs(self.statistic)[None] - tol).mean(axis=0)
        qm_p = float((qm >= self.qm - tol).mean())
        return PermutationTest(np.minimum(p, 1.0), qm_p, int(arrangements.shape[0]), exact)

    def plot_bubble(self, moderator: str | None = None, ax: Axes | None = None, *,
                    xlabel: str | None = None, ylabel: str | None = None) -> Axes:
        """Bubble plot (metafor's ``regplot``).

        Each study's effect against a numeric moderator, the point's area proportional to its weight
        ``1/(vᵢ + τ²)``; the fitted line with its confidence band and prediction-interval band, the
        other terms held at their means over the studies (as regplot does). Returns the axes.

        Parameters
        ----------
        moderator : str or None
            A numeric moderator of the fit (default: the first one).
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure when ``None``.
        xlabel, ylabel : str or None
            Axis labels (default: the moderator and the effect measure).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Raises
        ------
        InputError
            The fit has no numeric moderator, or ``moderator`` is not one.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> ax = fit.plot_bubble("ablat")
        >>> ax.get_xlabel()
        'ablat'
        """
        import matplotlib.pyplot as plt

        numeric = [c for c, levels, _ in self.design.columns if levels is None]
        if not numeric:
            raise InputError("a bubble plot needs a numeric moderator; the fit has only factors")
        moderator = numeric[0] if moderator is None else moderator
        if moderator not in numeric:
            raise InputError(f"{moderator!r} is not a numeric moderator of the fit ({numeric})")
        j = self.terms.index(moderator)
        x = self.design.X[:, j]
        grid = np.linspace(x.min(), x.max(), 200)
        rows = np.repeat(self.design.X.mean(axis=0)[None], grid.size, axis=0)
        rows[:, j] = grid
        pred = self._predict_rows(rows)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.0, 4.2))
        s = self.studies
        w = 1.0 / (s.vi + self.tau2)
        ax.fill_between(grid, pred.pi_low, pred.pi_high, color="#35b779", alpha=0.15, lw=0,
                        label="prediction interval")
        ax.fill_between(grid, pred.ci_low, pred.ci_high, color="#31688e", alpha=0.3, lw=0,
                        label=f"{100 * self.level:g}% CI")
        ax.plot(grid, pred.estimate, color="#31688e", lw=1.5, label="fitted")
        ax.scatter(x, s.yi, s=20 + 400 * w / w.max(), facecolor="none", edgecolor="black", lw=0.8,
                   zorder=3)
        ax.set_xlabel(xlabel or moderator)
        ax.set_ylabel(ylabel or _effect_label(s.measure))
        ax.legend(frameon=False, fontsize=8)
        ax.set_title(f"{moderator}: {self.estimate[j]:.4g} per unit (p = {self.p[j]:.2g}); "
                     f"τ² = {self.tau2:.3g}", fontsize=9, loc="left")
        return ax

    def to_frame(self) -> pd.DataFrame:
        """Return the coefficients as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per term: ``term``, ``estimate``, ``se``, ``statistic``, ``p``, ``ci_low``,
            ``ci_high``.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> fit.to_frame()[["term", "estimate"]].round(4).values.tolist()
        [['intercept', 0.2515], ['ablat', -0.0291]]
        """
        return pd.DataFrame({"term": self.terms, "estimate": self.estimate, "se": self.se,
                             "statistic": self.statistic, "p": self.p, "ci_low": self.ci_low,
                             "ci_high": self.ci_high})

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as a JSON-ready dict.

        Returns
        -------
        dict
            ``k``, ``method``, ``test``, ``level``, ``coefficients`` (``term, estimate, se,
            statistic, p, ci_low, ci_high``), ``tau2`` (with ``tau2_ci_low/high``), ``i2``,
            ``h2``, ``r2``, ``qe`` ``{stat, df, p}``, ``qm`` ``{stat, df, df2, p, btt}`` and
            ``fit_stats``.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> d = fit.to_dict()
        >>> d["qm"]["btt"], d["coefficients"][1]["term"]
        ([2], 'ablat')
        """
        return {
            "k": self.k, "method": self.method, "test": self.test, "level": self.level,
            "coefficients": self.to_frame().to_dict(orient="records"),
            "tau2": self.tau2, "tau2_ci_low": self.tau2_ci_low, "tau2_ci_high": self.tau2_ci_high,
            "i2": self.i2, "h2": self.h2, "r2": self.r2,
            "qe": {"stat": self.qe, "df": self.df, "p": self.qe_p},
            "qm": {"stat": self.qm, "df": self.qm_df,
                   "df2": None if self.test == "z" else self.qm_df2, "p": self.qm_p,
                   "btt": list(self.btt)},
            "fit_stats": asdict(self.fit_stats()),
        }

    def summary(self) -> Summary:
        """Return the coefficient table with a readable report.

        The coefficient table with a readable report as its text (metafor's print of an
        rma fit with moderators).

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`; its text the coefficients, τ², residual
            heterogeneity and the test of moderators.

        Examples
        --------
        >>> import betameta as bm
        >>> import pandas as pd
        >>> from betameta.regression import meta_regression
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> fit = meta_regression(studies, ["ablat"])
        >>> print(fit.summary().title)
        Meta-regression of k = 13 studies (RR); tau² by REML, z test
        """
        from .classical import _fmt, _fmt_p

        stat = "t" if self.test == "hksj" else "z"
        pct = f"{100 * self.level:g}%"
        lines = [f"Meta-regression of k = {self.k} studies"
                 + (f" ({self.studies.measure})" if self.studies.measure else "")
                 + f"; tau² by {self.method}, {self.test} test", ""]
        width = max(12, *(len(t) + 2 for t in self.terms))
        lines.append(f"{'term':<{width}}{'estimate':>11}{'se':>11}{stat:>9}{'p':>11}  {pct + ' CI'}")
        for i, term in enumerate(self.terms):
            lines.append(f"{term:<{width}}{_fmt(self.estimate[i]):>11}{_fmt(self.se[i]):>11}"
                         f"{_fmt(self.statistic[i], 3):>9}{_fmt_p(self.p[i], np.log10(self.p[i])):>11}"
                         f"  [{_fmt(self.ci_low[i])}, {_fmt(self.ci_high[i])}]")
        lines.append("")
        if self.method != "FE":
            lines.append(f"tau² = {_fmt(self.tau2)} [{_fmt(self.tau2_ci_low)}, "
                         f"{_fmt(self.tau2_ci_high)}] (Q-profile); residual I² = "
                         f"{_fmt(100 * self.i2, 1)}%, H² = {_fmt(self.h2, 2)}"
                         + (f"; R² = {_fmt(100 * self.r2, 1)}%" if np.isfinite(self.r2) else ""))
        else:
            lines.append(f"common effect: residual I² = {_fmt(100 * self.i2, 1)}%, H² = "
                         f"{_fmt(self.h2, 2)}" + (f"; R² = {_fmt(100 * self.r2, 1)}%"
                                                 if np.isfinite(self.r2) else ""))
        lines.append(f"Residual heterogeneity: QE = {_fmt(self.qe)} on {self.df} df "
                     f"(p = {_fmt_p(self.qe_p, np.log10(self.qe_p))})")
        tested = ", ".join(self.terms[i - 1] for i in self.btt)
        if not self.btt:
            pass
        elif self.test == "hksj":
            lines.append(f"Test of moderators ({tested}): F = {_fmt(self.qm)} on {self.qm_df} and "
                         f"{self.df} df (p = {_fmt_p(self.qm_p, np.log10(self.qm_p))})")
        else:
            lines.append(f"Test of moderators ({tested}): QM = {_fmt(self.qm)} on {self.qm_df} df "
                         f"(p = {_fmt_p(self.qm_p, np.log10(self.qm_p))})")
        return Summary(lines[0], self.to_frame(), text="\n".join(lines))

    def __repr__(self) -> str:
        coefs = ", ".join(f"{t}={b:.4g}" for t, b in zip(self.terms, self.estimate, strict=True))
        return (f"MetaRegression(k={self.k}, method={self.method}, {coefs}, tau2={self.tau2:.4g}, "
                f"QM={self.qm:.4g} (p={self.qm_p:.3g}))")


def _effect_label(measure: str | None) -> str:
    """Return an axis label for effects as computed: ``log OR`` for the log-ratio measures."""
    from ._options import RATIO_MEASURES

    if measure is None:
        return "effect"
    return f"log {measure}" if measure in RATIO_MEASURES else measure


def _critical(test: str, level: float, df: int) -> float:
    if test == "hksj":
        return float(special.stdtrit(df, 0.5 + level / 2))
    return float(special.ndtri(0.5 + level / 2))


def meta_regression(
    studies: StudyTable,
    mods: Sequence[str],
    *,
    data: pd.DataFrame | None = None,
    method: Tau2Method = "REML",
    test: TestType = "z",
    level: float = 0.95,
    btt: Sequence[int | str] | None = None,
    intercept: bool = True,
    factors: Sequence[str] = (),
    reference: Mapping[str, str] | None = None,
) -> MetaRegression:
    """Random-effects meta-regression of the studies' effects on moderators.

    Parameters
    ----------
    studies
        Effects and variances (:func:`~betameta.load_studies`, which keeps the table's other
        columns as ``studies.data``).
    mods
        Moderator columns (see :func:`design_matrix` for numeric and factor columns).
    data
        The moderators' table, one row per study; by default ``studies.data``.
    method
        τ² estimator: ``FE`` (τ² = 0), ``DL``, ``PM``, ``REML``, ``ML``, ``HE``, ``SJ``, ``EB``.
    test
        ``z`` or ``hksj`` (t and F tests on k − p df, metafor's ``test = "knha"``).
    level
        Confidence level of every interval.
    btt
        The coefficients QM tests: 1-based positions (as metafor's ``btt``; 1 is the
        intercept) or term names; by default every coefficient but the intercept.
    intercept, factors, reference
        See :func:`design_matrix`.

    Returns
    -------
    MetaRegression

    Notes
    -----
    ``yᵢ ~ N(xᵢᵀβ, vᵢ + τ²)``; β̂ = (X'WX)⁻¹X'Wy with ``W = diag(1/(vᵢ + τ̂²))`` and covariance
    (X'WX)⁻¹ (× Q(τ̂²)/(k − p) under HKSJ). The tests and summaries are in the module
    docstring.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import load_studies
    >>> d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -0.2],
    ...                   "vi": [0.36, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07],
    ...                   "lat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42]})
    >>> fit = meta_regression(load_studies(d), ["lat"], method="DL")
    >>> fit.terms
    ('intercept', 'lat')
    """
    from .kernels.random_effects import random_effects_kernel

    if not isinstance(studies, StudyTable):
        raise TypeError(f"studies must be a StudyTable (see load_studies), got {type(studies)!r}")
    method, test = check_fit_options(method, test, level)  # type: ignore[assignment]
    design = study_design(studies, mods, data=data, intercept=intercept, factors=factors,
                          reference=reference)
    X, terms = design.X, design.terms
    p = X.shape[1]
    tested = _btt(btt, terms, intercept)
    r = random_effects_kernel(studies.yi, studies.vi, X, method=method, test=test, level=level,
                              ci=method != "FE")
    df = studies.k - p
    coef, cov = r.coef[0], r.cov[0]
    if not np.all(np.isfinite(coef)):
        raise InputError("the design is singular for these studies' weights")
    m = len(tested)
    qm = float(_moderator_statistic(r.coef, r.cov, tested, test)[0]) if m else np.nan
    if not m:
        qm_p = np.nan
    elif test == "hksj":
        qm_p = float(special.fdtrc(m, df, qm))
    else:
        qm_p = float(special.chdtrc(m, qm))
    qe = float(r.qe[0])
    tau2 = float(r.tau2[0])
    i2, h2 = float(r.i2[0]), float(r.h2[0])
    if method == "FE":
        i2, h2 = max(0.0, (qe - df) / qe) if qe > 0 else 0.0, qe / df
    r2 = np.nan
    if intercept and p > 1:  # against the intercept-only fit by the same estimator
        reduced = random_effects_kernel(studies.yi, studies.vi, method=method, ci=False)
        if method == "FE":
            q = float(reduced.qe[0])
            r2 = 0.0 if q == 0 else max(0.0, 1.0 - (qe / df) / (q / (studies.k - 1)))
        else:
            tau2_re = float(reduced.tau2[0])
            r2 = 0.0 if tau2_re == 0 else max(0.0, (tau2_re - tau2) / tau2_re)
    return MetaRegression(
        studies=studies, design=design, method=method, test=test, level=level,
        estimate=coef, se=r.se[0], statistic=r.stat[0], p=r.p[0], ci_low=r.ci_low[0],
        ci_high=r.ci_high[0], cov=cov, tau2=tau2, tau2_ci_low=float(r.tau2_ci_low[0]),
        tau2_ci_high=float(r.tau2_ci_high[0]), i2=i2, h2=h2, r2=r2, qe=qe,
        qe_p=float(special.chdtrc(df, qe)), qm=qm, qm_df=m, qm_df2=float(df), qm_p=qm_p,
        btt=tuple(tested))


def _moderator_statistic(coef: np.ndarray, cov: np.ndarray, btt: Sequence[int], test: str
                         ) -> np.ndarray:
    """QM of the coefficients ``btt`` (1-based) per column.

    The Wald χ², divided by its df under HKSJ (an F statistic).
    """
    from .kernels.random_effects import wald_test

    qm = wald_test(coef, cov, np.asarray(btt, dtype=int) - 1)
    return qm / len(btt) if test == "hksj" else qm


def study_design(studies: StudyTable, mods: Sequence[str], *, data: pd.DataFrame | None = None,
                 intercept: bool = True, factors: Sequence[str] = (),
                 reference: Mapping[str, str] | None = None) -> Design:
    """Return the design of a meta-regression of ``studies`` on ``mods``.

    From ``data`` or the table the studies were read from (``studies.data``; its file named in messages).

    Parameters
    ----------
    studies
        The studies (see :func:`betameta.load_studies`).
    mods
        Moderator columns.
    data
        The table holding them (default: the one the studies were read from).
    intercept, factors, reference
        As :func:`design_matrix`.

    Returns
    -------
    Design
        As :func:`design_matrix`.

    Raises
    ------
    InputError
        As :func:`design_matrix`, or a table whose rows do not match the studies.

    Examples
    --------
    >>> import betameta as bm
    >>> import pandas as pd
    >>> bcg = pd.read_csv("examples/bcg.csv")
    >>> studies = bm.load_studies(bcg, measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> design = study_design(studies, ["ablat"])
    >>> design.terms, design.X.shape
    (('intercept', 'ablat'), (13, 2))
    """
    table, source = moderator_table(studies, data)
    return design_matrix(table, mods, intercept=intercept, factors=factors, reference=reference,
                         source=source)


def moderator_table(studies: StudyTable, data: pd.DataFrame | None = None
                    ) -> tuple[pd.DataFrame, str]:
    """Return the table of the studies' other columns.

    One row per study (``data``, or the table they were read from), and how messages name it (its file).

    Parameters
    ----------
    studies
        The studies (see :func:`betameta.load_studies`).
    data
        A table of one row per study, in the studies' order (default: ``studies.data``).

    Returns
    -------
    table : pandas.DataFrame
        The moderators' table.
    source : str
        Its name in messages (the file the studies were read from, or ``data``).

    Raises
    ------
    InputError
        No table, or one with another number of rows than studies.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> table, source = moderator_table(studies)
    >>> table.shape, source
    ((13, 9), 'examples/bcg.csv')
    """
    table = data if data is not None else studies.data
    if table is None:
        raise InputError("no moderators: these studies were not read from a table (pass data=)")
    if len(table) != studies.k:
        raise InputError(f"the moderators' table has {len(table)} rows for {studies.k} studies")
    return table.reset_index(drop=True), str(table.attrs.get("source", "data"))


def _btt(btt: Sequence[int | str] | None, terms: tuple[str, ...], intercept: bool) -> list[int]:
    """Return the tested coefficients as 1-based positions (validated)."""
    if btt is None:  # every moderator (none for the intercept-only model: QM is NaN)
        return list(range(2 if intercept else 1, len(terms) + 1))
    out = []
    for b in btt:
        if isinstance(b, str) and not b.strip().lstrip("-").isdigit():
            if b not in terms:
                raise InputError(f"btt: no term {b!r}; the terms are {list(terms)}")
            out.append(terms.index(b) + 1)
        else:
            j = int(b)
            if not 1 <= j <= len(terms):
                raise InputError(f"btt: {j} is not a coefficient position 1..{len(terms)} "
                                 f"({', '.join(terms)})")
            out.append(j)
    if len(set(out)) != len(out):
        raise InputError(f"btt names a coefficient twice: {list(btt)}")
    return sorted(out)
