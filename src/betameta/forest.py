"""Forest plot of a classical meta-analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

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
        Label of the effect axis (default: the measure name).
    null_value
        Where to draw the line of no effect (``None`` for none).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    s = fit.studies
    raw = s.raw if (raw_columns and s.raw is not None) else None
    left_cols = ["Study"] + ([str(c) for c in raw.columns] if raw is not None else [])
    n_rows = s.k + 3
    if ax is None:
        width_left = 1.4 + 0.55 * (len(left_cols) - 1)
        fig = plt.figure(figsize=(width_left + 4.0 + 2.6, 0.32 * n_rows + 1.3))
        ax = fig.add_axes((width_left / fig.get_figwidth(), 0.8 / fig.get_figheight(),
                           4.0 / fig.get_figwidth(), 1 - 1.2 / fig.get_figheight()))
    crit = special.ndtri(0.5 + fit.level / 2)
    ys = np.arange(s.k, 0, -1, dtype=float) + 2.5
    lo, hi = s.yi - crit * s.sei, s.yi + crit * s.sei
    size = 15 + 110 * fit.weights_random / fit.weights_random.max()
    ax.hlines(ys, lo, hi, color="black", lw=1)
    ax.scatter(s.yi, ys, s=size, marker="s", color="#31688e", zorder=3)
    f, r = fit.fixed, fit.random
    _diamond(ax, 1.5, f.ci_low, f.estimate, f.ci_high, "#440154")
    _diamond(ax, 0.5, r.ci_low, r.estimate, r.ci_high, "#35b779")
    if np.isfinite(r.pi_low):
        ax.hlines(0.5, r.pi_low, r.pi_high, color="#35b779", lw=1.5, zorder=2)
        ax.vlines([r.pi_low, r.pi_high], 0.35, 0.65, color="#35b779", lw=1.5)
    if null_value is not None:
        ax.axvline(null_value, color="grey", lw=0.8, ls=":")
    ax.axvline(f.estimate, color="#440154", lw=0.6, ls="--", alpha=0.6)
    ax.set_ylim(0, s.k + 3.2)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(xlabel or (s.measure or "effect"))

    trans = blended_transform_factory(ax.transAxes, ax.transData)
    fig = ax.figure
    ax_w = ax.get_position().width * fig.get_figwidth()

    def xpos(inches: float) -> float:
        return inches / ax_w

    header_y = s.k + 2.9
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
        for x, txt in zip(right, [f"{s.yi[i]:6.2f} [{lo[i]:.2f}, {hi[i]:.2f}]",
                                  f"{fit.weights_fixed[i]:.1f}", f"{fit.weights_random[i]:.1f}"],
                          strict=True):
            ax.text(x, ys[i], txt, transform=trans, ha="left", va="center", fontsize=9,
                    family="monospace" if x == right[0] else None)
    for yy, est, a, b in ((1.5, f.estimate, f.ci_low, f.ci_high), (0.5, r.estimate, r.ci_low, r.ci_high)):
        ax.text(right[0], yy, f"{est:6.2f} [{a:.2f}, {b:.2f}]", transform=trans, ha="left",
                va="center", fontsize=9, fontweight="bold", family="monospace")
    if np.isfinite(r.pi_low):
        ax.text(right[0], -0.1, f"PI [{r.pi_low:.2f}, {r.pi_high:.2f}]", transform=trans,
                ha="left", va="center", fontsize=8, color="#35b779")
    h = fit.heterogeneity
    ax.set_title(f"Q = {h.q:.2f} (df {h.df}, p = {h.p:.2g}), I² = {100 * h.i2:.0f}%, "
                 f"τ² = {r.tau2:.3g}", fontsize=9, loc="left", pad=14)
    return ax
