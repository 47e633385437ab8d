"""Throughput of the exact partition model (numba kernel, 2 threads on this machine).

Variants per second for k = 4, 6, 8, 10 studies (random distance matrix,
SEs 0.01-0.05, null effects plus 1% strong signals), and one full run of
2.5M variants x 6 studies with wall time and peak memory (ru_maxrss).

    python benchmarks/bench_transancestry.py > benchmarks/results_transancestry.txt
"""

from __future__ import annotations

import os
import platform
import resource
import time
from datetime import date

import numba
import numpy as np

from betameta.kernels.partition import partition_arrays


def data(m: int, k: int, rng: np.random.Generator):
    X = rng.normal(size=(k, 2))
    dist = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    se = rng.uniform(0.01, 0.05, (m, k))
    b = rng.normal(0, se)
    strong = rng.uniform(size=m) < 0.01
    b[strong] += 0.1 * (X[:, 0] > 0)
    return b, se, dist


def main() -> None:
    rng = np.random.default_rng(2026)
    print(f"# partition model throughput, {date.today()}, {platform.node()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, numba {numba.__version__} ({numba.get_num_threads()} threads)")
    print(f"{'k':>3}{'variants':>11}{'seconds':>9}{'variants/s':>12}{'2.5M would take':>17}")
    for k, m in ((4, 400_000), (6, 200_000), (8, 50_000), (10, 10_000)):
        b, se, dist = data(m, k, rng)
        partition_arrays(b[:8].T, se[:8].T ** 2, dist)  # compile / load the cached kernel
        t0 = time.perf_counter()
        partition_arrays(b.T, se.T ** 2, dist)
        dt = time.perf_counter() - t0
        print(f"{k:>3}{m:>11,}{dt:>9.1f}{m / dt:>12,.0f}{2.5e6 / (m / dt):>15,.0f} s")
    m, k = 2_500_000, 6
    b, se, dist = data(m, k, rng)
    t0 = time.perf_counter()
    res = partition_arrays(b.T, se.T ** 2, dist)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nfull run: {m:,} variants x {k} studies in {dt:.1f} s ({m / dt:,.0f}/s); "
          f"peak RSS {peak:,.0f} MB (inputs and outputs {(b.nbytes * 4) / 2**20:,.0f} MB); "
          f"{int((res.log10_bf > 6).sum())} variants with log10 BF > 6")


if __name__ == "__main__":
    main()
