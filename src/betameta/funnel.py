"""Funnel and Baujat plots of a classical meta-analysis (metafor's ``funnel`` and ``baujat``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from ._options import RATIO_MEASURES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .classical import MetaAnalysis

__all__ = ["baujat_plot", "funnel_plot"]

#: Contour-enhanced funnel plot: the shade inside each two-sided p-value contour, from the
#: widest (p = 0.01) inwards; beyond it (p < 0.01) the axes' own background.
CONTOURS = ((0.01, "#bdbdbd"), (0.05, "#e0e0e0"), (0.10, "#ffffff"))
BEYOND = "#969696"


def funnel_plot(fit: MetaAnalysis, ax: Axes | None = None, *, contours: bool = False,
                filled: bool = False, level: float | None = None) -> Axes:
    """Funnel plot: each study's effect against its standard error (0 at the top).

    The vertical line is the pooled estimate (random effects, or the common effect for an FE
    fit) with its pseudo confidence region ``µ̂ ± z·se``. With ``contours`` the regions are
    centred on 0 instead and shaded by the two-sided p-value of a study there (> 0.10,
    0.10–0.05, 0.05–0.01, < 0.01; Peters et al. 2008). With ``filled`` the studies that
    trim and fill adds are drawn as open circles.

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`).
    ax : matplotlib.axes.Axes or None
        Where to draw; a new figure when ``None``.
    contours : bool
        Shade the significance contours about 0 instead of the pseudo confidence region.
    filled : bool
        Add the studies trim and fill imputes, as open circles.
    level : float or None
        The level of the pseudo confidence region (default: the fit's).

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
    >>> from betameta.funnel import funnel_plot
    >>> ax = funnel_plot(fit, filled=True)
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_legend().texts]
    ('log RR', ['studies', 'filled (1, trim and fill)'])
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(5.5, 4.5)).add_subplot()
    s = fit.studies
    level = fit.level if level is None else level
    est = fit.fixed.estimate if fit.random.method == "FE" else fit.random.estimate
    se_max = float(s.sei.max()) * 1.05
    se_grid = np.linspace(0.0, se_max, 100)
    if contours:
        ax.set_facecolor(BEYOND)
        for p, color in CONTOURS:
            z = special.ndtri(1 - p / 2)
            ax.fill_betweenx(se_grid, -z * se_grid, z * se_grid, color=color, lw=0, zorder=0,
                             label=f"p > {p:g}" if p != 0.01 else "0.01 < p < 0.05")
    else:
        z = special.ndtri(0.5 + level / 2)
        ax.plot(est - z * se_grid, se_grid, color="grey", lw=0.8, ls="--")
        ax.plot(est + z * se_grid, se_grid, color="grey", lw=0.8, ls="--")
    ax.axvline(est, color="black", lw=0.8)
    ax.scatter(s.yi, s.sei, color="black", s=18, zorder=3, label="studies")
    if filled:
        tf = fit.trim_and_fill()
        if tf.k0:
            ax.scatter(tf.filled_yi, np.sqrt(tf.filled_vi), facecolor="white", edgecolor="black",
                       s=18, zorder=3, label=f"filled ({tf.k0}, trim and fill)")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_ylim(se_max, 0.0)
    # Effects of ratio measures are on the log scale here (the funnel is symmetric there).
    ax.set_xlabel(f"log {s.measure}" if s.measure in RATIO_MEASURES else (s.measure or "effect"))
    ax.set_ylabel("standard error")
    return ax


def baujat_plot(fit: MetaAnalysis, ax: Axes | None = None) -> Axes:
    """Baujat plot.

    Each study's contribution to heterogeneity (x) against its influence on the pooled result (y),
    labelled by study (coordinates: :func:`betameta.influence.baujat`).

    Parameters
    ----------
    fit : MetaAnalysis
        The fit (:func:`betameta.meta_analysis`).
    ax : matplotlib.axes.Axes or None
        Where to draw; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on, one label per study.

    Examples
    --------
    >>> import betameta as bm
    >>> studies = bm.load_studies("examples/bcg.csv", measure="RR", study="trial",
    ...                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    >>> fit = bm.meta_analysis(studies)
    >>> from betameta.funnel import baujat_plot
    >>> len(baujat_plot(fit).texts)
    13
    """
    import matplotlib.pyplot as plt

    from .influence import baujat

    ax = ax or plt.figure(figsize=(5.5, 4.5)).add_subplot()
    pts = baujat(fit)
    ax.scatter(pts["x"], pts["y"], s=0)
    for row in pts.itertuples():
        ax.text(row.x, row.y, row.study, ha="center", va="center", fontsize=8)
    ax.set_xlabel("contribution to heterogeneity")
    ax.set_ylabel("influence on the pooled result")
    ax.margins(0.08)
    return ax
