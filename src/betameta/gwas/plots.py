"""Manhattan and QQ plots from a result table (using -log10 p, so nothing underflows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _thin(y: np.ndarray, keep_above: float = 2.0, step: int = 20) -> np.ndarray:
    """Which points to draw.

    All with -log10 p > 2, every ``step``-th of the rest (a dense band that looks the same thinned), so
    plots take no longer for millions of variants.
    """
    keep = y > keep_above
    keep[::step] = True
    return keep


def warm_up() -> None:
    """Import what drawing needs (about a second of matplotlib start-up).

    The run calls this in a background thread while it reads its inputs.
    """
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def _figure(size: tuple[float, float], margins: tuple[float, float, float, float]):
    """Return a figure outside pyplot.

    No global state, safe in threads, and no pyplot import (most of matplotlib's start-up time). Fixed
    margins (left, bottom, right, top in inches) where ``tight_layout`` would draw the whole figure once
    more to measure it.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    left, bottom, right, top = margins
    fig.subplots_adjust(left=left / size[0], bottom=bottom / size[1], right=1 - right / size[0],
                        top=1 - top / size[1])
    return fig, fig.add_subplot()


def _dots(ax, x: np.ndarray, y: np.ndarray, colour: str, size: float = 2.2) -> None:
    """Points of one colour, drawn as line markers.

    Agg stamps one rasterised marker where a scatter draws a path per point (~3x the time for 150,000
    points).
    """
    ax.plot(x, y, ls="none", marker="o", ms=size, mew=0, color=colour, rasterized=True)


def manhattan(result: pd.DataFrame, path: Path | None = None, *, ax=None,
              threshold: float = -np.log10(5e-8)):
    """Manhattan plot of the fixed-effect -log10 p.

    Chromosomes side by side in ``ax`` (a new figure without), saved to ``path`` if given; returns
    the axes.
    """
    if ax is None:
        _, ax = _figure((12, 4), (0.65, 0.5, 0.15, 0.15))
    if "chromosome" in result:
        data = result[["chromosome", "base_pair_location", "neg_log_10_p_value"]][
            _thin(result["neg_log_10_p_value"].to_numpy())]
        codes, chroms = pd.factorize(data["chromosome"])  # in order of appearance (sorted)
        pos = data["base_pair_location"].to_numpy(float)
        lo, hi = np.full(len(chroms), np.inf), np.full(len(chroms), -np.inf)
        np.minimum.at(lo, codes, pos)
        np.maximum.at(hi, codes, pos)
        # Chromosomes side by side, 20 Mb apart; two colours alternating (two draw calls).
        offset = np.concatenate([[0.0], np.cumsum(hi + 2e7)[:-1]])
        x = pos + offset[codes]
        y = data["neg_log_10_p_value"].to_numpy()
        for parity, colour in ((0, "#31688e"), (1, "#89a4c7")):
            mine = codes % 2 == parity
            _dots(ax, x[mine], y[mine], colour)
        ax.set_xticks(offset + (lo + hi) / 2, [str(c) for c in chroms], fontsize=7)
        ax.set_xlabel("chromosome")
    else:
        _dots(ax, np.arange(len(result)), result["neg_log_10_p_value"].to_numpy(), "#31688e")
    ax.axhline(threshold, color="#b5367a", lw=0.8, ls="--")
    ax.set_ylabel("-log10 p (fixed effect)")
    if path is not None:
        ax.figure.savefig(path, dpi=110)
    return ax


def qq(result: pd.DataFrame, path: Path | None = None, *, lam: float, ax=None):
    """QQ plot of -log10 p, with the result's λ_GC ``lam`` in the title, in ``ax`` (a new figure without).

    Saved to ``path`` if given; returns the axes.
    """
    obs = np.sort(result["neg_log_10_p_value"].to_numpy())[::-1]
    obs = obs[np.isfinite(obs)]
    n = obs.size
    # Every variant with p < 0.01, one in 20 of the rest; expected -log10 p of those ranks only.
    rank = np.flatnonzero(_thin(obs))
    exp = -np.log10((rank + 0.5) / n)
    if ax is None:
        _, ax = _figure((4.5, 4.5), (0.6, 0.5, 0.15, 0.3))
    _dots(ax, exp, obs[rank], "#31688e", size=2.6)
    top = max(-np.log10(0.5 / n), 1.0) if n else 1.0
    ax.plot([0, top], [0, top], color="grey", lw=0.8)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    ax.set_title(f"lambda_GC = {lam:.3f}", fontsize=9, loc="left")
    if path is not None:
        ax.figure.savefig(path, dpi=110)
    return ax
