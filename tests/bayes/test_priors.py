"""The prior catalogue: normalisation, properness, the lecture's named priors, spec parsing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from betameta.bayes import priors as P

PROPER = [
    P.half_normal(0.7), P.half_t(0.5, 3), P.half_cauchy(0.5), P.exponential(2.0),
    P.log_normal(-1, 1.5), P.uniform(0, 3), P.uniform_tau2(0, 4), P.log_uniform(0.01, 10),
    P.gamma_precision(2, 1), P.uniform_precision(0.1, 10), P.pareto_precision(1, 0.5),
    P.inverse_gamma_tau2(3, 2), P.dumouchel(0.5), P.uniform_shrinkage(0.5),
] + [P.lambert(n) for n in ("L3", "L5", "L7", "L9", "L11")]


@pytest.mark.parametrize("prior", PROPER, ids=lambda p: p.name)
def test_proper_priors_integrate_to_one(prior):
    lo, hi = prior.support
    pts = [p for p in (1e-3, 0.01, 0.1, 1, 10, 100) if lo < p < hi]
    f = lambda t: float(prior(np.array([t]))[0])  # noqa: E731
    total = sum(integrate.quad(f, a, b, limit=400, epsabs=0, epsrel=1e-10)[0]
                for a, b in zip([lo, *pts], [*pts, hi], strict=True))
    assert prior.proper
    assert total == pytest.approx(1.0, rel=1e-7)


def test_l1_integrates_to_one_on_the_log_scale():
    # Gamma(0.001, 0.001) on the precision spreads over hundreds of orders of magnitude
    # of τ: integrate its density of log τ, p(τ)·τ, over u = log τ in pieces.
    prior = P.lambert("L1")
    f = lambda u: float(prior(np.array([np.exp(u)]))[0] * np.exp(u))  # noqa: E731
    edges = np.arange(-20, 341, 20.0)  # τ up to e^340: τ² stays a finite double
    total = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-10)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=True))
    # Beyond τ = e^340 the mass is P(λ < x) ≈ (b x)^a / Γ(a + 1) with x = e^-680, which
    # is 0.50: Gamma(0.001, 0.001) keeps half of its mass at τ > 10^147.
    a = b = 0.001
    tail = np.exp(a * (np.log(b) - 680.0) - special.gammaln(a + 1))
    assert 0.50 < tail < 0.51
    assert total + tail == pytest.approx(1.0, rel=1e-6)


def test_improper_priors_are_flagged():
    for prior in (P.flat_tau(), P.uniform_tau2(0, np.inf), P.jeffreys()):
        assert not prior.proper
    assert not P.flat_mu().proper and P.normal_mu(0, 1).proper


def test_lambert_definitions():
    t = np.array([0.05, 0.5, 3.0, 20.0])
    # L7: τ⁻² ~ Pareto(1, 0.001) is τ² ~ U(0, 1000) (DESIGN §2).
    np.testing.assert_allclose(P.lambert("L7")(t), P.uniform_tau2(0, 1000)(t), rtol=1e-12)
    # L11: τ ~ N(0, 100) truncated at 0, so sd 10.
    np.testing.assert_allclose(P.lambert("L11")(t), 2 * stats.norm.pdf(t, scale=10), rtol=1e-12)
    # L9: τ ~ U(0, 100).
    np.testing.assert_allclose(P.lambert("L9")(t), 0.01, rtol=1e-12)
    # L3: log τ² ~ U(−10, 10): P(τ² ≤ 1) = 1/2 and P(τ² ≤ e^5) = 3/4.
    l3 = P.lambert("L3")
    assert integrate.quad(lambda x: l3(np.array([x]))[0], np.exp(-5), 1.0)[0] == pytest.approx(0.5)
    assert integrate.quad(lambda x: l3(np.array([x]))[0], np.exp(-5), np.exp(2.5))[0] == pytest.approx(0.75)
    # L5: τ⁻² ~ U(0.001, 1000): support τ ∈ [1/√1000, √1000].
    assert P.lambert("L5").support == pytest.approx((1 / np.sqrt(1000), np.sqrt(1000)))
    # L1: Gamma(0.001, 0.001) on the precision is inverse-gamma(0.001, 0.001) on τ².
    np.testing.assert_allclose(P.lambert("L1")(t), P.inverse_gamma_tau2(0.001, 0.001)(t), rtol=1e-10)


def test_change_of_variables_by_simulation():
    # τ⁻² ~ Gamma(3, 2): simulate λ, transform to τ, compare with the prior's CDF.
    rng = np.random.default_rng(11)
    tau = 1 / np.sqrt(rng.gamma(3, 1 / 2, 200_000))
    prior = P.gamma_precision(3, 2)
    for q in (0.5, 1.0, 2.0):
        cdf = integrate.quad(lambda t: prior(np.array([t]))[0], 0, q)[0]
        assert np.mean(tau <= q) == pytest.approx(cdf, abs=0.004)  # 4 MC s.e. at n = 2e5


def test_data_dependent_priors_use_bayesmeta_s0():
    v = np.array([0.1, 0.2, 0.4])
    s0 = 1 / np.sqrt(np.mean(1 / v))
    t = np.array([0.3, 1.0])
    np.testing.assert_allclose(P.dumouchel()(t, v), s0 / (s0 + t) ** 2, rtol=1e-12)
    np.testing.assert_allclose(P.uniform_shrinkage()(t, v), 2 * s0**2 * t / (s0**2 + t**2) ** 2,
                               rtol=1e-12)
    np.testing.assert_allclose(P.jeffreys()(t, v),
                               np.sqrt([np.sum((x / (v + x * x)) ** 2) for x in t]), rtol=1e-12)


def test_custom_prior_normalised_and_properness_detected():
    prior = P.custom(lambda t: -t * t / 2, name="unnormalised half-normal")
    assert prior.proper
    np.testing.assert_allclose(prior(np.array([0.5])), P.half_normal(1.0)(np.array([0.5])),
                               rtol=1e-8)
    with pytest.warns(integrate.IntegrationWarning):  # quad notices the divergence too
        assert not P.custom(lambda t: -np.log1p(t)).proper


@pytest.mark.parametrize(
    ("spec", "name"),
    [("halfnormal:0.5", "half-normal(0.5)"), ("halfcauchy:1", "half-Cauchy(1)"),
     ("exponential:1", "exponential(1)"), ("uniform:0,100", "uniform(0, 100)"),
     ("L1", "L1: 1/tau2 ~ gamma(0.001, 0.001)"), ("fixed-tau2:25", "tau2 = 25"),
     ("half-t:1,3", "half-t(1, df=3)"), ("jeffreys", "Jeffreys"),
     ("l11", "L11: tau ~ N(0, 100) truncated at 0")],
)
def test_spec_parsing(spec, name):
    assert P.parse_tau_prior(spec).name == name


def test_spec_errors_and_mu_specs():
    assert P.parse_mu_prior("normal:0,10") == P.MuPrior(0.0, 10.0)
    assert not P.parse_mu_prior("flat").proper
    for bad in ("nope", "halfnormal", "halfnormal:x", "uniform:5,1", "halfnormal:-1"):
        with pytest.raises(ValueError):
            P.parse_tau_prior(bad)
    with pytest.raises(ValueError, match=r"unknown prior 'cauchy:0,1': write PARAMETER~FAMILY"):
        P.parse_mu_prior("cauchy:0,1")
    with pytest.raises(ValueError, match=r"mu prior 'mu~cauchy\(0,1\)' is not available here; "
                       r"use one of mu~flat, mu~normal"):
        P.parse_mu_prior("mu~cauchy(0,1)")


def test_default_prior_follows_the_data_scale_and_conflicts_are_noted():
    # dat.normand1999: mean differences in days of hospital stay (metafor's REML τ² = 684.6,
    # τ = 26.17, CI of µ [-32.6, 2.4] including 0: tests/data/normand1999_md.json). The old
    # default, half-normal(1), put τ at 6.1 and µ's interval away from 0 without a word.
    import json

    import pandas as pd
    from click.testing import CliRunner
    from conftest import DATA
    from scipy import stats

    from betameta import load_studies
    from betameta.bayes import bayes_meta, priors
    from betameta.cli.main import cli

    case = json.loads((DATA / "normand1999_md.json").read_text())
    raw = pd.DataFrame({k.removesuffix("i"): v for k, v in case["data"].items()})
    raw["study"] = case["study"]
    st = load_studies(raw, measure="MD")
    # The unit-information SD written out from the raw columns (Röver et al. 2021, eq. 6).
    n = raw["n1"] + raw["n2"]
    v = raw["sd1"] ** 2 / raw["n1"] + raw["sd2"] ** 2 / raw["n2"]
    sigma_u = np.sqrt(n.sum() / (1 / v).sum())
    post = bayes_meta(st)
    assert post.tau_prior.name == f"half-normal({0.5 * sigma_u:.3g}) (half the unit-information SD)"
    tau_reml = np.sqrt(case["results"]["random_tight"]["REML"]["tau2"])
    lo, hi = post.tau.interval(0.95)
    assert lo < tau_reml < hi and not post.notes
    mu_lo, mu_hi = post.mu.interval(0.95)
    assert mu_lo < 0 < mu_hi
    # A prior on the wrong scale is named as such: REML's τ beyond its 99% quantile
    # (2.5758 for half-normal(1), from SciPy).
    tight = bayes_meta(st, tau_prior=priors.half_normal(1.0))
    q99 = stats.halfnorm.ppf(0.99)
    assert tight.notes[0].startswith(f"prior-data conflict: the REML estimate tau = {tau_reml:.4g} lies "
                                     f"beyond the 99% quantile of the tau prior half-normal(1) ({q99:.4g})")
    # Unit-free effects get half-normal(0.5), the same rule in bayes, report and gwas.
    lecture = load_studies(pd.DataFrame({"yi": [0.1, 0.3, -0.2], "vi": [0.01, 0.02, 0.03]}))
    assert bayes_meta(lecture).tau_prior.name == "half-normal(0.5)"
    out = CliRunner().invoke(cli, ["bayes", str(DATA.parents[1] / "examples" / "lecture.csv"),
                                   "--measure", "MD", "--json"])
    assert out.exit_code == 0 and '"tau_prior": "half-normal(' in out.stdout
