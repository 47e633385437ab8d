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
    """Heat map of the posterior probability that two studies share a cluster."""
    k = len(res.studies)
    ax = _axes(ax, (0.5 * k + 2.5, 0.5 * k + 1.8))
    im = ax.imshow(res.coclustering, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(k), list(res.studies), rotation=90)
    ax.set_yticks(range(k), list(res.studies))
    for i in range(k):
        for j in range(k):
            val = res.coclustering[i, j]
            ax.text(j, i, f"{val:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if val < 0.6 else "black")
    ax.figure.colorbar(im, ax=ax, label="P(same cluster | data)")
    return ax


def plot_dendrogram(res: TransAncestry, ax: Axes | None = None) -> Axes:
    """Average-linkage dendrogram of the studies' genetic distances."""
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    ax = _axes(ax, (6.0, 3.5))
    tree = linkage(squareform(res.distances, checks=False), method="average")
    dendrogram(tree, labels=list(res.studies), ax=ax, color_threshold=0)
    ax.set_ylabel("distance")
    ax.set_title("Studies by allele-frequency distance", fontsize=9, loc="left")
    return ax
