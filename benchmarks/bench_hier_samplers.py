"""NUTS engines on the rats growth model: wall time and minimum bulk ESS per second.

4 chains × (1000 tune + 3000 draws), seed 1, for PyMC's own sampler, nutpie and
numpyro, centred and non-centred, side by side in one run. Wall time is the
whole sampling call (compilation included, as a user pays it).

    python benchmarks/bench_hier_samplers.py > benchmarks/results_hier.txt
"""

from __future__ import annotations

import platform
from datetime import date
from pathlib import Path

import arviz as az
import pandas as pd

from betameta.mcmc.growth import HYPER, fit_growth, read_long

ROOT = Path(__file__).parents[1]


def main() -> None:
    data = read_long(pd.read_csv(ROOT / "examples" / "rats" / "rats.csv"), "rat", "day", "weight")
    print(f"# rats model, NUTS engines, {date.today()}, {platform.node()}, {platform.machine()}, "
          "2 cores; 4 chains x (1000 tune + 3000 draws), seed 1")
    print(f"{'engine':<9}{'param.':<13}{'wall s':>8}{'min ESS':>9}{'min ESS/s':>11}{'div':>5}"
          f"{'mu_beta':>9}{'sigma':>8}{'max r_hat':>10}")
    for engine in ("pymc", "nutpie", "numpyro"):
        for param in ("centered", "noncentered"):
            fit = fit_growth(data, draws=3000, tune=1000, chains=4, seed=1, sampler=engine,  # type: ignore[arg-type]
                             parameterization=param)  # type: ignore[arg-type]
            ess = az.ess(fit.idata, var_names=list(HYPER))
            min_ess = min(float(ess[v]) for v in HYPER)
            table = fit.to_frame().set_index("parameter")
            print(f"{engine:<9}{param:<13}{fit.seconds:>8.1f}{min_ess:>9.0f}{min_ess / fit.seconds:>11.0f}"
                  f"{fit.divergences:>5}{table.loc['mu_beta', 'mean']:>9.3f}"
                  f"{table.loc['sigma', 'mean']:>8.3f}{table['r_hat'].max():>10.3f}")


if __name__ == "__main__":
    main()
