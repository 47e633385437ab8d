"""ASSET's subset search per variant, without and with sample overlap, side by side.

For k = 4, 6 and 8 studies (2,000 null variants each, seeded), :func:`asset_arrays` without a
correlation matrix and with an equicorrelated one (ρ = 0.2) and a random one (seeded, ρ up to
~0.4), twice each: the first call integrates the orthant probabilities of the two-sided
search's sign patterns (Genz's method, once per distinct correlation submatrix), the second
finds them cached as a genome-wide run's later chunks do. The ``old`` column integrates every
pattern anew at the tolerance used before 2026-12-04 (``abseps=1e-10, releps=1e-8``) on the
first 20 variants only (it took ~0.75 s per pattern).

    python benchmarks/bench_asset.py
"""

from __future__ import annotations

import platform
import time
from datetime import date

import numpy as np
from scipy import stats

from betameta.kernels import asset as A
from betameta.kernels.asset import asset_arrays


def random_correlation(k: int, rng: np.random.Generator) -> np.ndarray:
    b = rng.normal(size=(k, 2 * k))
    c = b @ b.T
    d = np.sqrt(np.diag(c))
    return 0.6 * np.eye(k) + 0.4 * c / np.outer(d, d)


def old_orthant(r: np.ndarray, members: np.ndarray) -> float:
    """The integration of four or more studies' orthant as it was, uncached."""
    idx = np.flatnonzero(members)
    sub = r[np.ix_(idx, idx)]
    zero = np.zeros(idx.size)
    return float(stats.multivariate_normal.cdf(zero, mean=zero, cov=sub, abseps=1e-10, releps=1e-8,
                                               maxpts=2_000_000, rng=np.random.default_rng(0)))


def rate(y, v, r) -> float:
    t0 = time.perf_counter()
    asset_arrays(y, v, r=r)
    return y.shape[1] / (time.perf_counter() - t0)


def main() -> None:
    print(f"# ASSET per variant, {date.today()}, {platform.node()}, {platform.machine()}; 2,000 null "
          "variants, default draws (200, 2,000 below p = 1e-3)")
    print(f"{'k':>3} {'overlap':<14} {'variants/s':>11} {'cached':>11} {'orthants':>9} {'old/s (20)':>11}")
    rng = np.random.default_rng(7)
    asset_arrays(np.ones((2, 2)), np.ones((2, 2)))  # compile
    for k in (4, 6, 8):
        y = rng.normal(0.0, 0.1, (k, 2000))
        v = np.full((k, 2000), 0.01)
        equi = np.full((k, k), 0.2) + 0.8 * np.eye(k)
        for name, r in (("none", None), ("equi 0.2", equi), ("random", random_correlation(k, rng))):
            A._ORTHANT_CACHE.clear()
            first = rate(y, v, r)
            n_orth = len(A._ORTHANT_CACHE)
            again = rate(y, v, r)
            old = ""
            if r is not None:
                saved = A._orthant
                A._orthant = lambda rr, mem, _s=saved: old_orthant(rr, mem) if mem.sum() > 3 else _s(rr, mem)
                try:
                    old = f"{rate(y[:, :20], v[:, :20], r):11.2f}"
                finally:
                    A._orthant = saved
            print(f"{k:>3} {name:<14} {first:>11,.0f} {again:>11,.0f} {n_orth:>9} {old:>11}", flush=True)


if __name__ == "__main__":
    main()
