"""The one prior grammar (betameta.prior_grammar) on every engine that takes priors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from betameta.bayes import priors as P
from betameta.prior_grammar import parse_prior_spec
from betameta.transancestry.priors import parse_tau2_prior

TAU = np.array([0.05, 0.3, 1.0, 2.5])

# New spelling, old alias (the same prior), and an independent density of τ from scipy.stats
# (None where the family has no scipy counterpart: then only new ≡ old is checked).
EXACT = [
    ("tau~halfnormal(0.5)", "halfnormal:0.5", stats.halfnorm(scale=0.5).pdf(TAU)),
    ("tau~halfcauchy(1)", "halfcauchy:1", stats.halfcauchy(scale=1).pdf(TAU)),
    ("tau~halft(1,3)", "halft:1,3", 2 * stats.t(3).pdf(TAU)),
    ("tau~exponential(2)", "exponential:2", stats.expon(scale=0.5).pdf(TAU)),
    ("tau~lognormal(0,1)", "lognormal:0,1", stats.lognorm(1).pdf(TAU)),
    ("tau~uniform(0,3)", "uniform:0,3", stats.uniform(0, 3).pdf(TAU)),
    ("tau~uniform(3)", "uniform:3", stats.uniform(0, 3).pdf(TAU)),
    ("tau~loguniform(0.01,10)", "loguniform:0.01,10", stats.loguniform(0.01, 10).pdf(TAU)),
    ("tau2~uniform(0,9)", "uniform-tau2:0,9", stats.uniform(0, 9).pdf(TAU**2) * 2 * TAU),
    ("tau2~invgamma(2,1)", "invgamma-tau2:2,1", stats.invgamma(2, scale=1).pdf(TAU**2) * 2 * TAU),
    ("tau2~exponential(1)", None, stats.expon().pdf(TAU**2) * 2 * TAU),
    ("tau2~gamma(2,3)", None, stats.gamma(2, scale=1 / 3).pdf(TAU**2) * 2 * TAU),
    ("precision~gamma(2,1)", "gamma-precision:2,1", stats.gamma(2).pdf(TAU**-2) * 2 * TAU**-3),
    ("precision~uniform(0.1,4)", "uniform-precision:0.1,4",
     stats.uniform(0.1, 3.9).pdf(TAU**-2) * 2 * TAU**-3),
    ("precision~pareto(2,0.5)", "pareto-precision:2,0.5",
     stats.pareto(2, scale=0.5).pdf(TAU**-2) * 2 * TAU**-3),
    ("dumouchel(1)", "dumouchel:1", None),
    ("shrinkage(1)", "shrinkage:1", None),
    ("jeffreys", "jeffreys", None),
    ("L3", "L3", None),
    ("tau~flat", "flat", None),
]


@pytest.mark.parametrize(("new", "old", "density"), EXACT, ids=[e[0] for e in EXACT])
def test_every_exact_family_reads_the_same_in_both_spellings(new, old, density):
    prior = P.parse_tau_prior(new)
    v = np.full(3, 0.1)
    if old is not None:
        assert P.parse_tau_prior(old).name == prior.name
        np.testing.assert_array_equal(prior(TAU, v), P.parse_tau_prior(old)(TAU, v))
    if density is not None:  # scipy.stats, transformed to τ where the prior is on τ² or 1/τ²
        np.testing.assert_allclose(prior(TAU, v), density, rtol=1e-12)


@pytest.mark.parametrize(("new", "old", "tau"), [("tau=0.5", "fixed-tau:0.5", 0.5),
                                                 ("tau2=25", "fixed-tau2:25", 5.0)])
def test_point_masses(new, old, tau):
    assert P.parse_tau_prior(new).fixed == P.parse_tau_prior(old).fixed == tau


PARTITION = [("tau2~exponential(2)", "exponential:2", ("gamma", 1.0, 2.0)),
             ("tau2~exponential", "exponential", ("gamma", 1.0, 1.0)),
             ("tau2~gamma(2,3)", "gamma:2,3", ("gamma", 2.0, 3.0)),
             ("tau~halfnormal(0.5)", "halfnormal-tau:0.5", ("gamma", 0.5, 2.0)),
             ("tau2~uniform(4)", "uniform:4", ("uniform", 4.0, 1.0)),
             ("tau2~uniform(0,4)", "uniform:4", ("uniform", 4.0, 1.0)),
             ("tau2=0.3", "fixed:0.3", ("fixed", 0.3, 1.0))]


@pytest.mark.parametrize(("new", "old", "expected"), PARTITION, ids=[p[0] for p in PARTITION])
def test_every_partition_family_reads_the_same_in_both_spellings(new, old, expected):
    prior = parse_tau2_prior(new)
    assert (prior.family, prior.a, prior.b) == expected
    assert parse_tau2_prior(old) == prior


def test_one_spelling_means_one_prior_on_both_engines():
    # The ambiguity the grammar removes: the old `exponential:1` is τ ~ Exp(1) for the exact
    # engine and τ² ~ Exp(1) for the partition model; `tau2~exponential(1)` is τ² ~ Exp(1) on
    # both, `tau~halfnormal(0.5)` τ ~ HN(0.5) on both (τ² ~ Gamma(½, 2) is HN(0.5) on τ).
    exact = P.parse_tau_prior("tau2~exponential(1)")
    part = parse_tau2_prior("tau2~exponential(1)")
    np.testing.assert_allclose(exact(TAU), np.exp(part.logpdf(TAU**2)) * 2 * TAU, rtol=1e-12)
    assert P.parse_tau_prior("exponential:1").name == "exponential(1)"  # old sense kept
    hn = parse_tau2_prior("tau~halfnormal(0.5)")
    np.testing.assert_allclose(np.exp(hn.logpdf(TAU**2)) * 2 * TAU,
                               P.parse_tau_prior("tau~halfnormal(0.5)")(TAU), rtol=1e-12)


def test_mu_priors_and_errors():
    assert P.parse_mu_prior("mu~normal(0,10)") == P.parse_mu_prior("normal:0,10") == P.MuPrior(0.0, 10.0)
    assert not P.parse_mu_prior("mu~flat").proper
    for bad, message in [("sigma~halfnormal(1)", "the parameter must be one of tau, tau2"),
                         ("tau~halfnormal(x)", "parameters must be numbers"),
                         ("tau~halfnormal(1,2)", "takes 1 numbers"),
                         ("tau~cauchy(1)", "not available here"),
                         ("tau~halfnormal(inf)", "must be finite")]:
        with pytest.raises(ValueError, match=message):
            P.parse_tau_prior(bad)
    assert str(parse_prior_spec(" Tau ~ Half_Normal( 0.5 ) ")) == "tau~halfnormal(0.5)"


# --- every family on the commands that take priors: gwas (exact engine and partition model)
# and report, each new spelling against its old alias (or, without one, against the library).

@pytest.fixture(scope="module")
def small_gwas(tmp_path_factory):
    from betameta.gwas.synthetic import generate

    return generate(tmp_path_factory.mktemp("syn"), k=3, m=120, seed=11, fmt="metal",
                    signal_fraction=0.05)


def _gwas_columns(paths, out, *options):
    import pandas as pd
    from click.testing import CliRunner

    from betameta.cli.main import cli

    args = ["gwas", *(a for name, path in paths.items() for a in ("--study", f"{name}={path}")),
            "--out", str(out), "--no-plots", *options]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    frame = pd.read_parquet(out)
    return frame[[c for c in frame.columns if c.startswith(("bayes_", "partition_"))]]


#: (method, option, new spelling, old alias): every exact-engine family with an alias on
#: ``--methods bayes``, every partition-model family on ``--methods partition``.
GWAS_PRIORS = ([("bayes", "--tau-prior", n, o) for n, o, _ in EXACT if o is not None]
               + [("partition", "--tau2-prior", n, o) for n, o, _ in PARTITION])


@pytest.mark.parametrize(("method", "option", "new", "old"), GWAS_PRIORS,
                         ids=[f"{m}-{n}" for m, _, n, _ in GWAS_PRIORS])
def test_every_family_on_gwas(small_gwas, tmp_path, method, option, new, old):
    a, b = (_gwas_columns(small_gwas.paths, tmp_path / f"{tag}.parquet", "--methods", f"fe,{method}",
                          option, spec) for tag, spec in (("a", new), ("b", old)))
    assert a.shape[1] >= 3 and a.notna().any().any()
    assert a.equals(b)


@pytest.mark.parametrize("new", [n for n, _, _ in EXACT], ids=[n for n, _, _ in EXACT])
def test_every_exact_family_on_report(tmp_path, new):
    # The report's posterior of µ under the prior is the library's (bayes_meta with the same
    # spelling, itself checked above against scipy's densities).
    from pathlib import Path

    from click.testing import CliRunner

    from betameta import load_studies
    from betameta.bayes import bayes_meta, parse_tau_prior
    from betameta.cli.main import cli
    from betameta.report.html import fmt

    lecture = Path(__file__).parents[1] / "examples" / "lecture.csv"
    out = tmp_path / "r.html"
    res = CliRunner().invoke(cli, ["report", str(lecture), "--measure", "MD", "-o", str(out),
                                   "--sections", "bayes,explain", "--tau-prior", new])
    assert res.exit_code == 0, res.output
    post = bayes_meta(load_studies(lecture, measure="MD"), tau_prior=parse_tau_prior(new))
    text = out.read_text()
    assert (f"{fmt(post.mu.median)} [{fmt(post.mu.quantile(0.025))}, "
            f"{fmt(post.mu.quantile(0.975))}]") in text
