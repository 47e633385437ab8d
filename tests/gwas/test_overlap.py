"""Sample overlap (betameta.kernels.overlap, gwas --overlap), by simulation: three studies
drawn from one pool of people, two pairs sharing part of their samples, a null trait. The
null correlation of two studies' z is n_shared/√(nᵢnⱼ) (here, given the one trait drawn, the
realised Σ_shared yᵢyⱼ/√(Σyᵢ² Σyⱼ²) of the studies' centred traits, within ~0.02 of that);
the estimate must find it, and the
corrected fixed-effect z must have unit variance where the uncorrected one does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from betameta.gwas import run_gwas
from betameta.kernels.overlap import box_moment, gls_fixed_effect, null_correlation

N, M = 2000, 8000  # people per study, null variants


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    rng = np.random.default_rng(20261203)
    # People 0-1999 are A; B is 1000-2999 (1000 shared with A); C is 2500-4499 (500 with B).
    members = {"A": np.arange(0, 2000), "B": np.arange(1000, 3000), "C": np.arange(2500, 4500)}
    freq = rng.uniform(0.1, 0.5, M)
    g = rng.binomial(2, freq, size=(4500, M)).astype(np.float32)
    y = rng.standard_normal(4500)
    out = tmp_path_factory.mktemp("overlap")
    paths = {}
    for name, who in members.items():
        gs, ys = g[who], y[who] - y[who].mean()
        gc = gs - gs.mean(axis=0)
        sxx = (gc.astype(np.float64) ** 2).sum(axis=0)
        beta = (gc.T @ ys) / sxx
        resid_var = (ys @ ys - beta**2 * sxx) / (N - 2)
        frame = pd.DataFrame({"chromosome": "1", "base_pair_location": np.arange(1, M + 1) * 1000,
                              "effect_allele": "A", "other_allele": "G", "beta": beta,
                              "standard_error": np.sqrt(resid_var / sxx),
                              "effect_allele_frequency": gs.mean(axis=0) / 2})
        paths[name] = out / f"{name}.tsv"
        frame.to_csv(paths[name], sep="\t", index=False)
    truth = {}
    for a, b in (("A", "B"), ("A", "C"), ("B", "C")):
        ya, yb = (pd.Series(y[members[s]] - y[members[s]].mean(), index=members[s]) for s in (a, b))
        shared = ya.index.intersection(yb.index)
        truth[a, b] = float((ya[shared] * yb[shared]).sum() / np.sqrt((ya**2).sum() * (yb**2).sum()))
    return paths, truth


NOMINAL = {("A", "B"): 0.5, ("A", "C"): 0.0, ("B", "C"): 0.25}


def test_box_moment_and_its_inverse():
    # E[XY | box] against a seeded Monte Carlo of 2e6 draws (its sd ~1e-3 of the moment).
    rng = np.random.default_rng(1)
    for rho in (-0.6, 0.0, 0.3, 0.8):
        x = rng.standard_normal(2_000_000)
        yv = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(x.size)
        inside = (np.abs(x) < 1) & (np.abs(yv) < 1)
        assert box_moment(rho) == pytest.approx(np.mean(x[inside] * yv[inside]), abs=1.5e-3)
        assert null_correlation(box_moment(rho)) == pytest.approx(rho, abs=1e-9)


def test_gls_equals_inverse_variance_without_overlap_and_a_dense_solve_with_it():
    rng = np.random.default_rng(2)
    k, m = 4, 6
    v = rng.uniform(0.01, 0.1, (k, m))
    y = rng.normal(0, np.sqrt(v))
    ok = np.ones((k, m), bool)
    ok[1, 2] = False
    g0 = gls_fixed_effect(y, v, np.eye(k), ok)
    w = np.where(ok, 1 / v, 0)
    np.testing.assert_allclose(g0["estimate"], (w * np.where(ok, y, 0)).sum(0) / w.sum(0), rtol=1e-12)
    r = np.full((k, k), 0.3) + 0.7 * np.eye(k)
    g = gls_fixed_effect(y, v, r, ok)
    for j in range(m):
        keep = ok[:, j]
        s = np.sqrt(v[keep, j])
        cov = r[np.ix_(keep, keep)] * np.outer(s, s)
        inv = np.linalg.inv(cov)
        one = np.ones(keep.sum())
        est = one @ inv @ y[keep, j] / (one @ inv @ one)
        assert g["estimate"][j] == pytest.approx(est, rel=1e-10)
        assert g["se"][j] == pytest.approx((one @ inv @ one) ** -0.5, rel=1e-10)
        e = y[keep, j] - est
        assert g["q"][j] == pytest.approx(e @ inv @ e, rel=1e-9)


@pytest.mark.parametrize("scheme", ["stderr", "samplesize"])
def test_overlap_estimated_and_corrected(studies, tmp_path, scheme):
    studies, truth = studies
    kw = {"methods": ("fe",), "progress": False, "plots": False, "scheme": scheme}
    if scheme == "samplesize":
        kw["default_n"] = {s: float(N) for s in studies}
        for p in studies.values():  # p-values from the same estimates
            from scipy import stats

            df = pd.read_csv(p, sep="\t")
            df["p_value"] = 2 * stats.norm.sf(np.abs(df["beta"] / df["standard_error"]))
            df.to_csv(p.with_suffix(".p.tsv"), sep="\t", index=False)
        paths = {s: p.with_suffix(".p.tsv") for s, p in studies.items()}
    else:
        paths = studies
    plain = run_gwas(paths, tmp_path / "plain.parquet", **kw)
    fixed = run_gwas(paths, tmp_path / "fixed.parquet", overlap=True, **kw)
    r = np.array(plain.details["overlap"]["correlation"])
    se = np.array(plain.details["overlap"]["se"])
    names = list(plain.details["studies"])
    for (a, b), rho in truth.items():
        i, j = names.index(a), names.index(b)
        assert abs(rho - NOMINAL[a, b]) < 0.03
        # About 3,800 variants in the box: the SE (delta method) is 0.02-0.06, largest at 0.
        assert 0.015 < se[i, j] < 0.07
        assert abs(r[i, j] - rho) < 3 * se[i, j], (a, b, r[i, j], se[i, j])
    assert fixed.details["overlap"]["applied"] and not plain.details["overlap"]["applied"]
    z_plain, z_fixed = plain.to_frame()["z"], fixed.to_frame()["z"]
    # Var of the uncorrected z: 1'R1/3 = 1.5 with the true R; the corrected one's is 1. The
    # sample variance of 8,000 null z has sd ~0.016 at 1 (0.024 at 1.5).
    assert z_plain.var() > 1.35
    assert z_fixed.var() == pytest.approx(1.0, abs=0.07)


def test_compiled_null_z_moments_equal_the_numpy_reference():
    """The compiled pair sums (kernels.loops) against the NumPy reference on random inputs with
    missing studies, zero and infinite SEs and |z| on both sides of 1; the sums are taken in
    another order, so they agree to rounding (1e-12 relative), the counts exactly."""
    from betameta.kernels.loops import null_z_moments as compiled
    from betameta.kernels.overlap import null_z_moments

    rng = np.random.default_rng(7)
    beta = rng.standard_normal((5000, 4))
    se = rng.uniform(0.5, 2.0, (5000, 4))
    beta[rng.random(beta.shape) < 0.1] = np.nan
    se[rng.random(se.shape) < 0.01] = 0.0
    se[rng.random(se.shape) < 0.01] = np.inf
    want = null_z_moments(beta, se)
    got = [np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4), np.int64)]
    compiled(np.asfortranarray(beta), se, *got)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_array_equal(got[2], want[2])
    assert want[2][0, 1] > 1000 and (np.diag(want[2]) > want[2][0, 1]).all()
