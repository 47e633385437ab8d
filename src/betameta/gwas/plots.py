"""Manhattan and QQ plots from a result table (using -log10 p, so nothing underflows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _thin(result: pd.DataFrame, keep_above: float = 2.0, step: int = 20) -> pd.DataFrame:
    """All variants with -log10 p > 2, one in ``step`` of the rest (for drawing speed)."""
    y = result["neg_log_10_p_value"].to_numpy()
    keep = (y > keep_above) | (np.arange(len(result)) % step == 0)
    return result[keep]


def warm_up() -> None:
    """Import what drawing needs (about a second of matplotlib start-up); the run calls this
    in a background thread while it reads its inputs."""
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def _figure(size: tuple[float, float]):
    """A figure outside pyplot: no global state, safe in threads, and no pyplot import
    (most of matplotlib's start-up time)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.add_subplot()


def manhattan(result: pd.DataFrame, path: Path, threshold: float = -np.log10(5e-8)) -> None:
    fig, ax = _figure((12, 4))
    if "chromosome" in result:
        data = _thin(result)
        chroms = list(dict.fromkeys(data["chromosome"]))
        offset = 0.0
        ticks = []
        for i, c in enumerate(chroms):
            part = data[data["chromosome"] == c]
            x = part["base_pair_location"].to_numpy(float) + offset
            ax.scatter(x, part["neg_log_10_p_value"], s=2, color=("#31688e", "#89a4c7")[i % 2],
                       rasterized=True)
            ticks.append((x.min() + x.max()) / 2 if x.size else offset)
            offset = (x.max() if x.size else offset) + 2e7
        ax.set_xticks(ticks, chroms, fontsize=7)
        ax.set_xlabel("chromosome")
    else:
        ax.scatter(np.arange(len(result)), result["neg_log_10_p_value"], s=2, rasterized=True)
    ax.axhline(threshold, color="#b5367a", lw=0.8, ls="--")
    ax.set_ylabel("-log10 p (fixed effect)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def qq(result: pd.DataFrame, path: Path) -> None:
    obs = np.sort(result["neg_log_10_p_value"].to_numpy())[::-1]
    obs = obs[np.isfinite(obs)]
    n = obs.size
    exp = -np.log10((np.arange(1, n + 1) - 0.5) / n)
    keep = (obs > 2) | (np.arange(n) % 20 == 0)
    z = result["z"].to_numpy()
    lam = np.median(z[np.isfinite(z)] ** 2) / 0.4549364231195724
    fig, ax = _figure((4.5, 4.5))
    ax.scatter(exp[keep], obs[keep], s=3, color="#31688e", rasterized=True)
    top = max(exp.max(), 1.0)
    ax.plot([0, top], [0, top], color="grey", lw=0.8)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    ax.set_title(f"lambda_GC = {lam:.3f}", fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
