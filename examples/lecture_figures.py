"""Figures of the lecture example, written to examples/output/.

    python examples/lecture_figures.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from betameta import load_studies, meta_analysis
from betameta.bayes import bayes_meta, priors, sensitivity_analysis
from betameta.bayes.sensitivity import plot_prior_vs_likelihood

HERE = Path(__file__).parent
OUT = HERE / "output"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    studies = load_studies(HERE / "lecture.csv", measure="MD")
    fit = meta_analysis(studies, method="DL")
    fit.plot_forest().figure.savefig(OUT / "lecture_forest.png", dpi=120, bbox_inches="tight")
    sens = sensitivity_analysis(studies)
    sens.plot()[0].figure.savefig(OUT / "lecture_sensitivity.png", dpi=100, bbox_inches="tight")
    sens.table.to_csv(OUT / "lecture_sensitivity.csv", index=False)
    post = bayes_meta(studies, tau_prior=priors.lambert("L1"), mu_prior=priors.normal_mu(0, 1000**0.5))
    post.plot_shrinkage().figure.savefig(OUT / "lecture_shrinkage.png", dpi=120,
                                         bbox_inches="tight")
    post.plot_posterior("tau").figure.savefig(OUT / "lecture_tau_posterior.png", dpi=120,
                                              bbox_inches="tight")
    ax = plot_prior_vs_likelihood(studies)
    ax.figure.savefig(OUT / "lecture_prior_vs_likelihood.png", dpi=120, bbox_inches="tight")
    print(f"wrote figures to {OUT}")


if __name__ == "__main__":
    main()
