"""One exact Bayesian fit at the study level: the median time of :func:`bayes_meta`.

The lecture's six trials (mean differences), µ ~ N(0, 10²), three τ priors; each fit timed 300
times after 20 warm-up fits, and the two stages that make up most of it timed alone the same
way: the quadrature of τ's posterior (:func:`~betameta.kernels.exact.tau_grid`) and the
prior-data check (the prior's 99% quantile and the REML slope there).

    python benchmarks/bench_exact_fit.py
"""

from __future__ import annotations

import platform
import time
from datetime import date
from pathlib import Path

import numpy as np

from betameta import load_studies
from betameta.bayes import bayes_meta
from betameta.bayes import priors as P
from betameta.bayes.posterior import _prior_data_conflict
from betameta.kernels.exact import tau_grid

ROOT = Path(__file__).parents[1]


def median_ms(fn, n: int = 300) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def main() -> None:
    studies = load_studies(ROOT / "examples" / "lecture.csv", measure="MD")
    mu = P.normal_mu(0, 10)
    y, v = studies.yi[:, None], studies.vi[:, None]
    print(f"# one exact fit, {date.today()}, {platform.node()}, {platform.machine()}; lecture data "
          f"k = {studies.k}, mu ~ N(0, 10^2); median of 300")
    print(f"{'tau prior':<40} {'bayes_meta ms':>14} {'tau_grid ms':>12} {'check ms':>9}")
    for tp in (P.half_normal(1.0), P.lambert("L1"), P.half_cauchy(0.5)):
        fit = median_ms(lambda tp=tp: bayes_meta(studies, tau_prior=tp, mu_prior=mu))
        grid = median_ms(lambda tp=tp: tau_grid(y, v, tp, mu))
        check = median_ms(lambda tp=tp: _prior_data_conflict(studies, tp))
        print(f"{tp.name:<40} {fit:>14.2f} {grid:>12.2f} {check:>9.2f}")


if __name__ == "__main__":
    main()
