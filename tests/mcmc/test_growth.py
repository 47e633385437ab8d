"""The rats growth-curve model: the published table, two-stage vs one-stage, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import require_module

from betameta import InputError, StudyTable, meta_analysis
from betameta.bayes import bayes_meta, priors
from betameta.mcmc.growth import fit_growth, read_long, two_stage_slopes

for _engine in ("pymc", "numpyro", "nutpie"):
    require_module(_engine)

RATS = Path(__file__).parents[2] / "examples" / "rats" / "rats.csv"
# Published posterior (mean, sd) of the BUGS rats model with x uncentred (issue 6).
PUBLISHED = {"mu_alpha": (106.580, 2.301), "mu_beta": (6.186, 0.106), "tau_alpha": (0.010, 0.004),
             "tau_beta": (4.308, 1.477), "tau": (0.027, 0.004), "sigma": (6.156, 0.468)}


@pytest.fixture(scope="module")
def rats():
    return read_long(pd.read_csv(RATS), "rat", "day", "weight")


@pytest.mark.slow
def test_reproduces_published_table(rats):
    fit = fit_growth(rats, draws=3000, tune=1000, chains=4, seed=1, sampler="numpyro")
    table = fit.to_frame().set_index("parameter")
    assert fit.divergences == 0
    assert (table["r_hat"] <= 1.01).all()
    for name, (mean, sd) in PUBLISHED.items():
        row = table.loc[name]
        # Our MC error plus the published run's (assumed no smaller than ours: √2) and
        # the rounding of the published 3 decimals.
        tol = 4.5 * np.sqrt(2) * max(row["mcse_mean"], 1e-4) + 0.0005
        assert abs(row["mean"] - mean) < tol, name
        assert row["sd"] == pytest.approx(sd, rel=0.05, abs=0.0006), name


def test_two_stage_slopes_match_least_squares(rats):
    stage1 = two_stage_slopes(rats)
    for unit in ("1", "17", "30"):
        g = rats[rats["unit"] == unit]
        coef, cov = np.polyfit(g["x"], g["y"], 1, cov="unscaled")
        resid = g["y"] - np.polyval(coef, g["x"])
        s2 = (resid**2).sum() / (len(g) - 2)
        row = stage1.set_index("study").loc[unit]
        assert row["yi"] == pytest.approx(coef[0], rel=1e-12)
        assert row["sei"] == pytest.approx(np.sqrt(s2 * cov[0, 0]), rel=1e-10)


@pytest.mark.slow
def test_two_stage_meta_analysis_agrees_with_one_stage(rats):
    stage1 = two_stage_slopes(rats)
    studies = StudyTable(stage1["yi"].to_numpy(), stage1["sei"].to_numpy() ** 2,
                         tuple(stage1["study"]))
    classical = meta_analysis(studies, method="REML")
    exact = bayes_meta(studies, tau_prior=priors.half_normal(2.0), mu_prior=priors.normal_mu(0, 100))
    one_stage = fit_growth(rats, draws=1000, tune=1000, chains=4, seed=3, sampler="numpyro")
    mu_beta = float(one_stage.to_frame().set_index("parameter").loc["mu_beta", "mean"])
    # Balanced design, five points per rat: both stages estimate the same mean slope;
    # the two-stage SEs use each rat's own residual variance, so allow 0.05 (about ½ sd).
    assert classical.random.estimate == pytest.approx(mu_beta, abs=0.05)
    assert exact.mu.mean == pytest.approx(mu_beta, abs=0.05)


def test_bad_long_data():
    frame = pd.DataFrame({"u": ["a", "a", "b", "b"], "x": [1, 2, 1, "z"], "y": [1, 2, 3, 4]})
    with pytest.raises(InputError, match="row 4, column 'x'"):
        read_long(frame, "u", "x", "y")
    with pytest.raises(InputError, match="column 'w'"):
        read_long(frame, "u", "x", "w")
    frame = pd.DataFrame({"u": ["a", "a", "b", "b"], "x": [1, 2, 1, 1], "y": [1, 2, 3, 4]})
    with pytest.raises(InputError, match="unit 'b'"):
        read_long(frame, "u", "x", "y")


@pytest.mark.slow
def test_hier_cli_json():
    out = subprocess.run([sys.executable, "-m", "betameta.cli.main", "hier", str(RATS), "--unit", "rat",
                          "--x", "day", "--y", "weight", "--draws", "300", "--tune", "300",
                          "--sampler", "numpyro", "--json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    row = d["parameters"]["mu_beta"]
    assert set(row) == {"mean", "sd", "hdi_low", "hdi_high", "ess_bulk", "r_hat"}
    assert 5.9 < row["mean"] < 6.5


def test_model_graph_or_clear_message(rats, tmp_path):
    import shutil

    from betameta.mcmc.growth import growth_model, model_graph

    model = growth_model(rats)
    try:
        import graphviz  # noqa: F401

        have = shutil.which("dot") is not None
    except ImportError:
        have = False
    if have:
        assert model_graph(model, tmp_path / "g.png").stat().st_size > 1000
    else:
        with pytest.raises(RuntimeError, match="graphviz"):
            model_graph(model, tmp_path / "g.png")


def test_correlated_and_noncentred_models_build(rats):
    from betameta.mcmc.growth import growth_model

    names = {v.name for v in growth_model(rats, correlated=True).free_RVs}
    assert {"chol", "z", "mu_beta", "tau"} <= names
    names = {v.name for v in growth_model(rats, parameterization="noncentered").free_RVs}
    assert {"z_alpha", "z_beta"} <= names
