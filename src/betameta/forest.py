"""Forest plot of a classical meta-analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from ._options import RATIO_MEASURES, TRANSFORMS, Transform, check_option

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .classical import MetaAnalysis

__all__ = ["forest_plot"]


def _diamond(ax: Axes, y: float, lo: float, mid: float, hi: float, color: str) -> None:
    ax.fill([lo, mid, hi, mid], [y, y + 0.32, y, y - 0.32], color=color, zorder=3)


def forest_plot(
    fit: MetaAnalysis,
    ax: Axes | None = None,
    *,
    raw_columns: bool = True,
    xlabel: str | None = None,
    null_value: float | None = 0.0,
    transf: Transform | None = None,
) -> Axes:
    """Draw a forest plot: studies with CIs, fixed and random diamonds, prediction interval.

    Each study is a square (area proportional to its random-effects weight)
    with its confidence interval. Below them: the fixed-effect diamond, the
    random-effects diamond and its prediction interval. Text columns give the
    raw summaries (when the table was computed from them and ``raw_columns``),
    the estimate with its interval, and the fixed and random weights in percent.

    Parameters
    ----------
    fit
        A :class:`~betameta.MetaAnalysis`.
    ax
        Axes to draw on; a new figure sized for the table is made when ``None``.
    raw_columns
        Show the raw columns (e.g. N, mean, SD per group) left of the plot.
    xlabel
        Label of the effect axis (default: the measure name, or the ratio's name when
        back-transformed).
    null_value
        Where to draw the line of no effect, on the scale of the effects (``None`` for none).
    transf
        ``exp`` shows estimates and intervals on the ratio scale (a log axis, as metafor's
        ``atransf=exp``); ``none`` on the scale of the effects. Default: ``exp`` for log odds
        and risk ratios (OR, RR), ``none`` otherwise.

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
    >>> from betameta.forest import forest_plot
    >>> ax = forest_plot(fit)
    >>> ax.get_xscale(), ax.get_xlabel()
    ('log', 'Risk ratio')
    """
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    s = fit.studies
    if transf is None:
        transf = "exp" if s.measure in RATIO_MEASURES else "none"
    transf = check_option("transf", transf, TRANSFORMS)  # type: ignore[assignment]
    t = np.exp if transf == "exp" else (lambda x: x)
    raw = s.raw if (raw_columns and s.raw is not None) else None
    left_cols = ["Study"] + ([str(c) for c in raw.columns] if raw is not None else [])
    n_rows = s.k + 4
    if ax is None:
        width_left = 1.4 + 0.55 * (len(left_cols) - 1)
        fig = plt.figure(figsize=(width_left + 4.0 + 2.6, 0.32 * n_rows + 1.3))
        ax = fig.add_axes((width_left / fig.get_figwidth(), 0.8 / fig.get_figheight(),
                           4.0 / fig.get_figwidth(), 1 - 1.2 / fig.get_figheight()))
    crit = special.ndtri(0.5 + fit.level / 2)
    ys = np.arange(s.k, 0, -1, dtype=float) + 2.5
    est_i = t(s.yi)
    lo, hi = t(s.yi - crit * s.sei), t(s.yi + crit * s.sei)
    size = 15 + 110 * fit.weights_random / fit.weights_random.max()
    ax.hlines(ys, lo, hi, color="black", lw=1)
    ax.scatter(est_i, ys, s=size, marker="s", color="#31688e", zorder=3)
    f, r = fit.fixed, fit.random
    fixed = [float(t(x)) for x in (f.estimate, f.ci_low, f.ci_high)]
    rand = [float(t(x)) for x in (r.estimate, r.ci_low, r.ci_high)]
    pi = [float(t(x)) for x in (r.pi_low, r.pi_high)]
    _diamond(ax, 1.5, fixed[1], fixed[0], fixed[2], "#440154")
    _diamond(ax, 0.5, rand[1], rand[0], rand[2], "#35b779")
    if np.isfinite(r.pi_low):
        ax.hlines(0.5, pi[0], pi[1], color="#35b779", lw=1.5, zorder=2)
        ax.vlines(pi, 0.35, 0.65, color="#35b779", lw=1.5)
    if null_value is not None:
        ax.axvline(float(t(null_value)), color="grey", lw=0.8, ls=":")
    ax.axvline(fixed[0], color="#440154", lw=0.6, ls="--", alpha=0.6)
    if transf == "exp":
        ax.set_xscale("log")
    ax.set_ylim(0, s.k + 4.0)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    default_label = (RATIO_MEASURES.get(s.measure or "", f"exp({s.measure or 'effect'})")
                     if transf == "exp" else (s.measure or "effect"))
    ax.set_xlabel(xlabel or default_label)

    trans = blended_transform_factory(ax.transAxes, ax.transData)
    fig = ax.figure
    ax_w = ax.get_position().width * fig.get_figwidth()

    def xpos(inches: float) -> float:
        return inches / ax_w

    header_y = s.k + 3.6  # a row above the first study, clear of its square
    pct = f"{100 * fit.level:g}% CI"
    n_raw = len(left_cols) - 1
    col_x = [-xpos(0.15 + 0.55 * i) for i in range(n_raw)]  # rightmost raw column first
    label_x = -xpos(0.2 + 0.55 * n_raw)
    ax.text(label_x, header_y, "Study", transform=trans, ha="right", va="center",
            fontweight="bold", fontsize=9)
    for i, label in enumerate(s.labels):
        ax.text(label_x, ys[i], label, transform=trans, ha="right", va="center", fontsize=9)
    if raw is not None:
        for j, cx in zip(range(len(left_cols) - 1, 0, -1), col_x, strict=True):
            ax.text(cx, header_y, left_cols[j], transform=trans, ha="right", va="center",
                    fontweight="bold", fontsize=9)
            for i, value in enumerate(raw.iloc[:, j - 1]):
                ax.text(cx, ys[i], f"{value:g}", transform=trans, ha="right", va="center",
                        fontsize=9)
    ax.text(label_x, 1.5, "Fixed effect", transform=trans, ha="right", va="center", fontsize=9,
            fontweight="bold")
    ax.text(label_x, 0.5, f"Random effects ({r.method}, {r.test})", transform=trans, ha="right",
            va="center", fontsize=9, fontweight="bold")
    right = [1 + xpos(0.1), 1 + xpos(1.75), 1 + xpos(2.45)]
    for x, head in zip(right, [f"Estimate [{pct}]", "W(F)%", "W(R)%"], strict=True):
        ax.text(x, header_y, head, transform=trans, ha="left", va="center", fontweight="bold",
                fontsize=9)
    for i in range(s.k):
        for x, txt in zip(right, [f"{est_i[i]:6.2f} [{lo[i]:.2f}, {hi[i]:.2f}]",
                                  f"{fit.weights_fixed[i]:.1f}", f"{fit.weights_random[i]:.1f}"],
                          strict=True):
            ax.text(x, ys[i], txt, transform=trans, ha="left", va="center", fontsize=9,
                    family="monospace" if x == right[0] else None)
    for yy, (est, a, b) in ((1.5, fixed), (0.5, rand)):
        ax.text(right[0], yy, f"{est:6.2f} [{a:.2f}, {b:.2f}]", transform=trans, ha="left",
                va="center", fontsize=9, fontweight="bold", family="monospace")
    if np.isfinite(r.pi_low):
        ax.text(right[0], -0.1, f"PI [{pi[0]:.2f}, {pi[1]:.2f}]", transform=trans,
                ha="left", va="center", fontsize=8, color="#35b779")
    h = fit.heterogeneity
    # I² of the fit itself: metafor's τ²-based τ²/(τ² + s̃²) under the fit's estimator (equal
    # to Q's (Q − df)/Q for DL, not for REML and the others).
    ax.set_title(f"Q = {h.q:.2f} (df {h.df}, p = {h.p:.2g}); {r.method}: τ² = {r.tau2:.3g}, "
                 f"I² = {100 * r.i2:.0f}%", fontsize=9, loc="left", pad=10)
    return ax
