"""Rats: per-rat least-squares slopes meta-analysed (two-stage) vs the one-stage PyMC model.

    python examples/rats_two_stage.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from betameta import StudyTable, meta_analysis
from betameta.bayes import bayes_meta, priors
from betameta.mcmc.growth import fit_growth, read_long, two_stage_slopes

HERE = Path(__file__).parent


def main() -> None:
    data = read_long(pd.read_csv(HERE / "rats" / "rats.csv"), "rat", "day", "weight")
    stage1 = two_stage_slopes(data)
    studies = StudyTable(stage1["yi"].to_numpy(), stage1["sei"].to_numpy() ** 2, tuple(stage1["study"]))
    reml = meta_analysis(studies, method="REML")
    exact = bayes_meta(studies, tau_prior=priors.half_normal(2.0), mu_prior=priors.normal_mu(0, 100))
    one = fit_growth(data, draws=3000, tune=1000, chains=4, seed=1)
    row = one.to_frame().set_index("parameter").loc["mu_beta"]
    print(f"two-stage REML:        mu_beta {reml.random.estimate:.3f} "
          f"[{reml.random.ci_low:.3f}, {reml.random.ci_high:.3f}], tau {reml.random.tau:.3f}")
    lo, hi = exact.mu.interval()
    print(f"two-stage exact Bayes: mu_beta {exact.mu.mean:.3f} [{lo:.3f}, {hi:.3f}], "
          f"tau median {exact.tau.median:.3f}")
    print(f"one-stage NUTS ({one.sampler}): mu_beta {row['mean']:.3f} "
          f"[{row['hdi_low']:.3f}, {row['hdi_high']:.3f}]")


if __name__ == "__main__":
    main()
