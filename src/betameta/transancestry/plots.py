"""Plots of the partition model: effects by cluster, co-clustering, distance dendrogram."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..kernels import classical_kernel

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .model import TransAncestry

_COLORS = ["#31688e", "#b5367a", "#35b779", "#fb9b06", "#6a51a3", "#8c564b", "#17becf", "#7f7f7f"]


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure(figsize=size).add_subplot()


def plot_effects(res: TransAncestry, ax: Axes | None = None) -> Axes:
    """Per-study effects with 95% CIs coloured by MAP cluster, and the C = 1 (fixed-effect) estimate."""
    k = len(res.studies)
    ax = _axes(ax, (6.0, 0.4 * k + 1.6))
    cluster = {s: i for i, cl in enumerate(res.map_partition) for s in cl}
    rows = np.arange(k, 0, -1)
    for i, s in enumerate(res.studies):
        color = _COLORS[cluster[s] % len(_COLORS)]
        ax.errorbar(res.beta[i], rows[i], xerr=1.96 * res.se[i], fmt="s", color=color, capsize=2)
        ax.plot(res.effect_mean[i], rows[i] - 0.25, "o", mfc="white", color=color, ms=4)
    fe = classical_kernel(res.beta[:, None], res.se[:, None] ** 2)
    est, se = float(fe.fe_estimate[0]), float(fe.fe_se[0])
    ax.axvspan(est - 1.96 * se, est + 1.96 * se, color="grey", alpha=0.2)
    ax.axvline(est, color="black", lw=1, label=f"C = 1 (fixed effect) {est:.3g}")
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_yticks(rows, list(res.studies))
    ax.set_xlabel("effect (squares: observed ± 95% CI; circles: posterior mean)")
    ax.set_title(f"log10 BF = {res.log10_bf:.2f}, P(C > 1) = {res.p_heterogeneity:.2f}; "
                 "colour = MAP cluster", fontsize=9, loc="left")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_coclustering(res: TransAncestry, ax: Axes | None = None) -> Axes:
    """Heat map of the posterior co-clustering probabilities.

    The posterior probability that two studies share a cluster, written in the cells up to 12
    studies (the colour bar reads them beyond).
    """
    k = len(res.studies)
    ax = _axes(ax, (0.42 * k + 2.8, 0.42 * k + 2.0))
    im = ax.imshow(res.coclustering, vmin=0, vmax=1, cmap="viridis")
    size = 9 if k <= 12 else 8 if k <= 24 else 6
    ax.set_xticks(range(k), list(res.studies), rotation=90, fontsize=size)
    ax.set_yticks(range(k), list(res.studies), fontsize=size)
    if k <= 12:
        for i in range(k):
            for j in range(k):
                val = res.coclustering[i, j]
                ax.text(j, i, f"{val:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if val < 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, label="P(same cluster | data)", shrink=0.8)
    ax.set_title("Posterior co-clustering of the studies", fontsize=9, loc="left")
    return ax


def plot_dendrogram(res: TransAncestry, ax: Axes | None = None) -> Axes:
    """Average-linkage dendrogram of the studies' genetic distances.

    Drawn sideways so that the labels read horizontally however many studies there are; the title says
    where the distances came from.
    """
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    k = len(res.studies)
    ax = _axes(ax, (6.0, max(3.0, 0.3 * k + 1.2)))
    tree = linkage(squareform(res.distances, checks=False), method="average")
    dendrogram(tree, labels=list(res.studies), ax=ax, color_threshold=0, orientation="right",
               leaf_font_size=9 if k <= 24 else 7, link_color_func=lambda _: "#31688e")
    ax.set_xlabel("distance (average linkage)")
    ax.set_title(f"Studies by genetic distance\n({res.distance_source})", fontsize=9, loc="left")
    return ax
