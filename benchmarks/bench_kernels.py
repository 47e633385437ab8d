"""In-memory speed of the vectorised classical kernel (FE, Q/I², DL, Z², p and log10 p).

2.5M variants × 5 studies, compared side by side in the same run with the
study-level API called once per variant (timed on a subsample and scaled).

    python benchmarks/bench_kernels.py [--variants 2500000] [--studies 5]
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import numpy as np

from betameta import StudyTable, meta_analysis
from betameta.kernels import classical_kernel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", type=int, default=2_500_000)
    parser.add_argument("--studies", type=int, default=5)
    parser.add_argument("--loop-sample", type=int, default=2_000)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    k, m = args.studies, args.variants
    se = rng.uniform(0.01, 0.1, (k, m))
    y = rng.normal(0, se)
    y[:, :1000] += 0.5  # some very strong signals: log10 p must stay finite
    v = se**2

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        c = classical_kernel(y, v)
        times.append(time.perf_counter() - t0)
    kernel_s = min(times)
    assert np.isfinite(c.fe_log10p).all()

    n = args.loop_sample
    labels = tuple(str(i) for i in range(k))
    t0 = time.perf_counter()
    for j in range(n):
        meta_analysis(StudyTable(y[:, j], v[:, j], labels), method="DL")
    loop_s = (time.perf_counter() - t0) / n * m

    print(f"# classical kernel benchmark, {date.today()}, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, numpy {np.__version__}")
    print(f"{'what':<48}{'seconds':>10}{'variants/s':>14}")
    print(f"{'classical_kernel (FE, Q, I2, DL, Z2, p, log10p)':<48}{kernel_s:>10.2f}"
          f"{m / kernel_s:>14.3g}")
    print(f"{'meta_analysis() per variant (scaled from ' + str(n) + ')':<48}{loop_s:>10.0f}"
          f"{m / loop_s:>14.3g}")
    print(f"speed-up of the kernel: {loop_s / kernel_s:.0f}x; "
          f"min log10 p = {np.nanmin(c.fe_log10p):.1f}")


if __name__ == "__main__":
    main()
