"""Exact posterior vs PyMC NUTS on the same model and priors: time and agreement.

Lecture data (6 studies), µ ~ N(0, 10²); τ ~ half-normal(1) and τ⁻² ~ Gamma(0.001,
0.001) (L1). NUTS: 4 chains × (1000 tune + 5000 draws), non-centred, through
PyMC's sampler, nutpie and numpyro, measured side by side in one run. The
exact engine is timed as one fit (median of 200) and as 10,000 fits in one call.

    python benchmarks/bench_bayes_vs_pymc.py > benchmarks/results_bayes_vs_pymc.txt
"""

from __future__ import annotations

import platform
import time
from datetime import date
from pathlib import Path

import arviz as az
import numpy as np

from betameta import load_studies
from betameta.bayes import bayes_meta
from betameta.bayes import priors as P
from betameta.kernels.bayes import bayes_arrays
from betameta.mcmc import normal_normal_model, sample

ROOT = Path(__file__).parents[1]


def main() -> None:
    studies = load_studies(ROOT / "examples" / "lecture.csv", measure="MD")
    mu_prior = P.normal_mu(0, 10)
    print(f"# exact posterior vs PyMC NUTS, {date.today()}, {platform.node()}, "
          f"{platform.machine()}, 2 cores; lecture data k = {studies.k}, mu ~ N(0, 10^2)")
    for tau_prior in (P.half_normal(1.0), P.lambert("L1")):
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            fit = bayes_meta(studies, tau_prior=tau_prior, mu_prior=mu_prior)
            times.append(time.perf_counter() - t0)
        exact_s = float(np.median(times))
        rng = np.random.default_rng(1)
        y = studies.yi[:, None] + rng.normal(0, 0.3, (studies.k, 10_000))
        v = np.repeat(studies.vi[:, None], 10_000, axis=1)
        t0 = time.perf_counter()
        bayes_arrays(y, v, tau_prior, mu_prior)
        many_s = time.perf_counter() - t0
        print(f"\n## tau ~ {tau_prior.name}")
        print(f"exact: one fit {1000 * exact_s:.2f} ms (median of 200); 10,000 fits in one call "
              f"{many_s:.2f} s ({10_000 / many_s:.0f} fits/s)")
        print(f"{'engine':<10}{'wall s':>8}{'div':>5}  {'quantity':<6}{'exact mean':>12}{'NUTS mean':>11}"
              f"{'(mcse)':>9}{'z':>7}{'exact sd':>10}{'NUTS sd':>9}{'exact 97.5%':>12}{'NUTS 97.5%':>11}")
        for engine in ("pymc", "nutpie", "numpyro"):
            model = normal_normal_model(studies, tau_prior, mu_prior)
            t0 = time.perf_counter()
            idata = sample(model, draws=5000, tune=1000, chains=4, seed=2026, sampler=engine,
                           target_accept=0.95)
            wall = time.perf_counter() - t0
            div = int(idata.sample_stats["diverging"].sum())
            for name, marg in (("mu", fit.mu), ("tau", fit.tau)):
                x = idata.posterior[name].values.ravel()
                mcse = float(az.mcse(idata, var_names=[name])[name])
                z = (x.mean() - marg.mean) / mcse
                print(f"{engine:<10}{wall:>8.1f}{div:>5}  {name:<6}{marg.mean:>12.4f}{x.mean():>11.4f}"
                      f"{mcse:>9.4f}{z:>7.2f}{marg.sd:>10.4f}{x.std():>9.4f}"
                      f"{marg.quantile(0.975):>12.4f}{np.quantile(x, 0.975):>11.4f}")
            print(f"{'':<10}speed-up of one exact fit over this engine: {wall / exact_s:,.0f}x")


if __name__ == "__main__":
    main()
