"""Subgroup analysis: a meta-analysis per level of a column, and the test of subgroup differences two ways.

* **Separate τ²** (each subgroup its own random-effects fit): ``Q_between = Σ w_g (µ̂_g − µ̄)²``,
  ``w_g = 1/SE_g²``, ``µ̄`` their weighted mean, χ² on G − 1 df — the Q of a common-effect
  meta-analysis of the subgroup estimates (Borenstein et al. 2009, ch. 19; metafor's
  "comparing estimates of independent meta-analyses").
* **Common τ²**: the meta-regression on the column as a factor
  (:func:`~betameta.regression.meta_regression`), whose QM tests the G − 1 contrasts
  (χ², or F under HKSJ).

References
----------
Borenstein, M., Hedges, L. V., Higgins, J. P. T., Rothstein, H. R. (2009). *Introduction to
Meta-Analysis*, chapter 19. Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from ._options import Tau2Method, TestType
from ._results import Result, Summary
from .errors import InputError
from .studies import StudyTable

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .classical import MetaAnalysis
    from .regression import MetaRegression

__all__ = ["Subgroups", "subgroup_analysis"]


@dataclass(frozen=True, repr=False)
class Subgroups(Result):
    """Result of :func:`subgroup_analysis`.

    ``groups``: the levels, in sort order; ``fits``: one :class:`~betameta.MetaAnalysis` per
    level; ``q_between`` on ``df_between = G − 1`` with ``p_between`` (separate τ²);
    ``common``: the factor meta-regression (common τ²), whose ``qm``/``qm_p`` test the same
    differences.

    Parameters
    ----------
    column : str
        The moderator the studies were grouped by.
    groups : tuple of str
        Its levels, in sort order.
    fits : tuple of MetaAnalysis
        One fit per level, each with its own τ².
    q_between, df_between, p_between : float
        The test of subgroup differences with separate τ²: Q of the groups' random-effects
        estimates about their inverse-variance mean, on ``G − 1`` df.
    common : MetaRegression
        The factor meta-regression with one common τ², whose ``qm`` and ``qm_p`` test the same
        differences.

    Examples
    --------
    >>> import betameta as bm
    >>> from betameta.subgroups import subgroup_analysis
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> sub = subgroup_analysis(studies, "alloc")
    >>> sub.groups, sub.df_between, round(sub.q_between, 4)
    (('alternate', 'random', 'systematic'), 2, 1.8614)
    """

    column: str
    groups: tuple[str, ...]
    fits: tuple[MetaAnalysis, ...] = field(repr=False)
    q_between: float
    df_between: int
    p_between: float
    common: MetaRegression = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Return the subgroups as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per subgroup: ``group``, ``k``, ``estimate``, ``se``, ``ci_low``,
            ``ci_high``, ``tau2``, ``i2`` (random effects within the group).

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.subgroups import subgroup_analysis
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> sub = subgroup_analysis(studies, "alloc")
        >>> sub.to_frame()[["group", "k", "estimate"]].round(4).values.tolist()
        [['alternate', 2, -0.5408], ['random', 7, -0.971], ['systematic', 4, -0.4242]]
        """
        return pd.DataFrame([{"group": g, "k": f.k, "estimate": f.random.estimate, "se": f.random.se,
                              "ci_low": f.random.ci_low, "ci_high": f.random.ci_high,
                              "tau2": f.random.tau2, "i2": f.random.i2}
                             for g, f in zip(self.groups, self.fits, strict=True)])

    def to_dict(self) -> dict[str, Any]:
        """Return the analysis as a JSON-ready dict.

        Returns
        -------
        dict
            ``column``, ``groups`` (the rows of :meth:`to_frame`), ``q_between``
            ``{stat, df, p}`` (separate τ²) and ``q_between_common`` ``{stat, df, df2, p}``
            (common τ²).

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.subgroups import subgroup_analysis
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> sub = subgroup_analysis(studies, "alloc")
        >>> d = sub.to_dict()
        >>> d["q_between"]["df"], len(d["groups"])
        (2, 3)
        """
        c = self.common
        return {"column": self.column, "groups": self.to_frame().to_dict(orient="records"),
                "q_between": {"stat": self.q_between, "df": self.df_between, "p": self.p_between},
                "q_between_common": {"stat": c.qm, "df": c.qm_df,
                                     "df2": None if c.test == "z" else c.qm_df2, "p": c.qm_p}}

    def summary(self) -> Summary:
        """Return the subgroup table and the tests of subgroup differences.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`; its text adds both tests of differences.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.subgroups import subgroup_analysis
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> sub = subgroup_analysis(studies, "alloc")
        >>> print(sub.summary().title)
        Subgroups by 'alloc' (random effects: REML, z)
        """
        from .classical import _fmt, _fmt_p

        f0 = self.fits[0].random
        pct = f"{100 * self.fits[0].level:g}%"
        width = max(10, *(len(g) + 2 for g in self.groups))
        lines = [f"Subgroups by {self.column!r} (random effects: {f0.method}, {f0.test})", "",
                 f"{'group':<{width}}{'k':>4}{'estimate':>11}{'se':>11}  {pct + ' CI':<24}{'tau²':>9}"]
        for g, f in zip(self.groups, self.fits, strict=True):
            r = f.random
            lines.append(f"{g:<{width}}{f.k:>4}{_fmt(r.estimate):>11}{_fmt(r.se):>11}  "
                         f"{'[' + _fmt(r.ci_low) + ', ' + _fmt(r.ci_high) + ']':<24}{_fmt(r.tau2):>9}")
        c = self.common
        stat = "F" if c.test == "hksj" else "QM"
        dfs = f"{c.qm_df} and {c.df}" if c.test == "hksj" else f"{c.qm_df}"
        lines += ["", f"Test of subgroup differences, separate tau²: Q = {_fmt(self.q_between)} on "
                  f"{self.df_between} df (p = {_fmt_p(self.p_between, np.log10(self.p_between))})",
                  f"Test of subgroup differences, common tau²: {stat} = {_fmt(c.qm)} on {dfs} df "
                  f"(p = {_fmt_p(c.qm_p, np.log10(c.qm_p))})"]
        return Summary(lines[0], self.to_frame(), text="\n".join(lines))

    def __repr__(self) -> str:
        return (f"Subgroups({self.column!r}, groups={list(self.groups)}, Q_between={self.q_between:.4g} "
                f"(p={self.p_between:.3g}))")

    def plot_forest(self, ax: Axes | None = None, *, xlabel: str | None = None,
                    null_value: float | None = 0.0) -> Axes:
        """Forest plot grouped by subgroup: each group's studies, then its random-effects diamond.

        The test of differences is in the title.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure sized to the rows when ``None``.
        xlabel : str or None
            The x-axis label (default: the effect measure).
        null_value : float or None
            Where to draw the line of no effect; ``None`` for none.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Examples
        --------
        >>> import betameta as bm
        >>> from betameta.subgroups import subgroup_analysis
        >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
        ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
        >>> sub = subgroup_analysis(studies, "alloc")
        >>> ax = sub.plot_forest()
        >>> ax.get_title(loc="left")
        'Subgroup differences: Q = 1.86 (df 2, p = 0.39); common τ²: QM = 1.77 (p = 0.41)'
        """
        import matplotlib.pyplot as plt
        from matplotlib.transforms import blended_transform_factory

        from .forest import _diamond
        from .regression import _effect_label

        level = self.fits[0].level
        crit = special.ndtri(0.5 + level / 2)
        n_rows = sum(f.k + 2 for f in self.fits)
        if ax is None:
            fig = plt.figure(figsize=(8.0, 0.3 * n_rows + 1.4))
            ax = fig.add_axes((0.3, 0.7 / fig.get_figheight(), 0.45, 1 - 1.2 / fig.get_figheight()))
        trans = blended_transform_factory(ax.transAxes, ax.transData)
        y = float(n_rows)
        colors = plt.get_cmap("viridis")(np.linspace(0.15, 0.75, len(self.groups)))
        for g, f, color in zip(self.groups, self.fits, colors, strict=True):
            ax.text(-0.02, y, f"{self.column} = {g}", transform=trans, ha="right", va="center",
                    fontsize=9, fontweight="bold")
            y -= 1
            s = f.studies
            ys = y - np.arange(s.k)
            ax.hlines(ys, s.yi - crit * s.sei, s.yi + crit * s.sei, color="black", lw=1)
            size = 15 + 90 * f.weights_random / f.weights_random.max()
            ax.scatter(s.yi, ys, s=size, marker="s", color="#31688e", zorder=3)
            for yy, label in zip(ys, s.labels, strict=True):
                ax.text(-0.02, yy, label, transform=trans, ha="right", va="center", fontsize=8)
            y -= s.k
            r = f.random
            _diamond(ax, y, r.ci_low, r.estimate, r.ci_high, color)
            ax.text(-0.02, y, f"RE model, k = {f.k}", transform=trans, ha="right", va="center",
                    fontsize=8, fontstyle="italic")
            ax.text(1.02, y, f"{r.estimate:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]", transform=trans,
                    ha="left", va="center", fontsize=8, family="monospace")
            y -= 1
        if null_value is not None:
            ax.axvline(null_value, color="grey", lw=0.8, ls=":")
        ax.set_ylim(y + 0.3, n_rows + 0.7)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(xlabel or _effect_label(self.fits[0].studies.measure))
        ax.set_title(f"Subgroup differences: Q = {self.q_between:.2f} (df {self.df_between}, "
                     f"p = {self.p_between:.2g}); common τ²: {'F' if self.common.test == 'hksj' else 'QM'}"
                     f" = {self.common.qm:.2f} (p = {self.common.qm_p:.2g})", fontsize=9, loc="left")
        return ax


def subgroup_analysis(
    studies: StudyTable,
    by: str,
    *,
    data: pd.DataFrame | None = None,
    method: Tau2Method = "REML",
    test: TestType = "z",
    level: float = 0.95,
) -> Subgroups:
    """Return a random-effects meta-analysis per level of the column ``by``.

    And the test of subgroup differences with separate and with a common τ² (module docstring).

    Parameters
    ----------
    studies
        Effects and variances; the column is looked up in ``data`` or ``studies.data``.
    by
        The subgroup column (its values are levels, as text).
    data
        The table holding ``by`` (default: the table the studies were loaded from).
    method, test, level
        As :func:`~betameta.meta_analysis`, for every subgroup and for the factor model.

    Returns
    -------
    Subgroups
        One meta-analysis per level (``fits``, in the order of ``groups``), the test of
        subgroup differences with separate τ² (``q_between`` on ``df_between``,
        ``p_between``) and ``common``, the meta-regression on the factor (one τ²).

    Raises
    ------
    InputError
        Unknown column, a missing value in it, one level only, or a level with fewer than
        two studies.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta import load_studies
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.8, 0.9, 0.6], "vi": [0.02] * 6,
    ...                   "arm": ["a", "a", "a", "b", "b", "b"]})
    >>> sub = subgroup_analysis(load_studies(d), "arm", method="DL")
    >>> sub.groups, sub.df_between
    (('a', 'b'), 1)
    """
    from .classical import meta_analysis
    from .kernels import classical_kernel
    from .regression import _labels, _level_name, _sort_key, meta_regression, moderator_table

    table, source = moderator_table(studies, data)
    if by not in table.columns:
        raise InputError(f"{source}: no subgroup column {by!r}; columns are {list(table.columns)}")
    values = _labels(table[by], by, source)
    groups = tuple(sorted(set(values), key=_sort_key))
    if len(groups) < 2:
        raise InputError(f"{source}: subgroup column {by!r} has one level ({groups[0]!r}): "
                         "nothing to compare")
    fits = []
    for g in groups:
        idx = np.flatnonzero(values == g)
        if idx.size < 2:
            raise InputError(f"{source}: subgroup {by} = {g!r} has {idx.size} study; each subgroup "
                             "needs at least 2 for its own meta-analysis")
        fits.append(meta_analysis(studies.subset(idx), method=method, test=test, level=level))
    # Q between: Cochran's Q of the subgroup estimates (a common-effect meta-analysis of them).
    between = classical_kernel(np.array([f.random.estimate for f in fits]),
                               np.array([f.random.se for f in fits]) ** 2)
    common = meta_regression(studies, [by], data=data, method=method, test=test, level=level,
                             factors=[by], reference={by: _level_name(groups[0])})
    return Subgroups(by, groups, tuple(fits), float(between.q), len(groups) - 1,
                     float(between.q_p), common)
