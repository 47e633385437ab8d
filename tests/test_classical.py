"""Classical meta-analysis: the lecture example, the vectorised kernels, edge cases."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from betameta import InputError, StudyTable, load_studies, meta_analysis
from betameta.kernels import classical_kernel, log10_chi2_sf, log10_norm_sf2


def test_lecture_example_prints_as_in_the_lecture(lecture_frame):
    # The lecture's slide: FE −2.04 [−2.45, −1.64], DL −1.21 [−2.69, 0.28].
    fit = meta_analysis(load_studies(lecture_frame, measure="MD"), method="DL")
    f, r = fit.fixed, fit.random
    assert f"{f.estimate:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]" == "-2.04 [-2.45, -1.64]"
    assert f"{r.estimate:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" == "-1.21 [-2.69, 0.28]"
    text = str(fit.summary())
    assert "[-2.4474, -1.6372]" in text and "[-2.6946, 0.2845]" in text


def test_kernel_columns_equal_the_formulas_written_out():
    # Reference: each column's fixed effect, Q, DerSimonian-Laird and Z² written out with
    # Python's math on the column's studies (DerSimonian & Laird 1986's formulas), not
    # through any betameta code.
    import math

    from scipy import stats

    rng = np.random.default_rng(1)
    k, m = 5, 200
    y = rng.normal(0, 0.3, (k, m))
    v = rng.uniform(0.01, 0.2, (k, m))
    y[1, :50] = np.nan  # study 2 missing for 50 variants
    c = classical_kernel(y, v)
    for j in (0, 17, 49, 50, 199):
        ys = [float(a) for a in y[:, j] if math.isfinite(a)]
        vs = [float(b) for a, b in zip(y[:, j], v[:, j], strict=True) if math.isfinite(a)]
        w = [1 / b for b in vs]
        sw = math.fsum(w)
        fe = math.fsum(wi * yi for wi, yi in zip(w, ys, strict=True)) / sw
        q = math.fsum(wi * (yi - fe) ** 2 for wi, yi in zip(w, ys, strict=True))
        tau2 = max(0.0, (q - (len(ys) - 1)) / (sw - math.fsum(wi * wi for wi in w) / sw))
        wr = [1 / (b + tau2) for b in vs]
        re = math.fsum(wi * yi for wi, yi in zip(wr, ys, strict=True)) / math.fsum(wr)
        assert c.k[j] == len(ys)
        assert c.fe_estimate[j] == pytest.approx(fe, rel=1e-12)
        assert c.fe_p[j] == pytest.approx(2 * stats.norm.sf(abs(fe) * math.sqrt(sw)), rel=1e-12)
        assert c.q[j] == pytest.approx(q, rel=1e-12)
        assert c.i2[j] == pytest.approx(max(0.0, (q - (len(ys) - 1)) / q), rel=1e-12, abs=1e-15)
        assert c.tau2_dl[j] == pytest.approx(tau2, rel=1e-12, abs=1e-15)
        assert c.re_estimate[j] == pytest.approx(re, rel=1e-12)
        assert c.re_se[j] == pytest.approx(1 / math.sqrt(math.fsum(wr)), rel=1e-12)
        assert c.z2[j] == pytest.approx(math.fsum(a * a / b for a, b in zip(ys, vs, strict=True)),
                                        rel=1e-12)
        # The decomposition Z² = Z²_F + Q holds exactly.
        assert c.z2[j] == pytest.approx(c.fe_z[j] ** 2 + c.q[j], rel=1e-12)


def test_variances_at_the_ends_of_the_double_range():
    # Variances of 1e-300 and 1e300 are handled, not a ZeroDivisionError or an SE of 0.
    # Reference: the inverse-variance formulas by hand; with v = 1e-300 the studies are
    # 1e149 SEs apart, so τ² is the spread of the effects: REML is then the sample
    # variance, Σ(y − ȳ)²/(k − 1) (v negligible), and the mean the plain mean.
    y = np.array([0.1, 0.3, -0.2])
    tiny = meta_analysis(StudyTable(y, np.array([1e-300, 2e-300, 1e-300]), ("A", "B", "C")))
    w = np.array([1e300, 0.5e300, 1e300])
    assert tiny.fixed.estimate == pytest.approx((w @ y) / w.sum(), rel=1e-14)
    assert tiny.fixed.se == pytest.approx(np.sqrt(1 / 2.5) * 1e-150, rel=1e-14)
    assert tiny.random.tau2 == pytest.approx(np.var(y, ddof=1), rel=1e-12)
    assert tiny.random.estimate == pytest.approx(y.mean(), rel=1e-12)
    assert tiny.fixed.p == 0 and tiny.fixed.log10_p < -1e296
    text = str(tiny.summary())
    assert "6.325e-151" in text and "10^-2.171e+296" in text and "0.0000 " not in text
    big = meta_analysis(StudyTable(y, np.array([1e300, 2e300, 1e300]), ("A", "B", "C")))
    assert big.fixed.se == pytest.approx(np.sqrt(1 / 2.5e-300), rel=1e-14)
    assert big.random.tau2 == 0 and big.fixed.p == pytest.approx(1.0)
    # Beyond what doubles can hold, the input is refused with its reason.
    with pytest.raises(InputError, match="standard errors from 0 or from each other"):
        meta_analysis(StudyTable(np.array([1e200, 3e200, -2e200]), np.array([1e-300, 2e-300, 1e-300]),
                                 ("A", "B", "C")))
    with pytest.raises(InputError, match="variances span"):
        meta_analysis(StudyTable(y, np.array([1e-150, 1.0, 1e150]), ("A", "B", "C")))


def test_a_million_studies_without_k_by_k_matrices():
    # 1,000,000 studies: the τ² estimators work on sums (the k × k projection would need
    # 8 TB). Reference: the estimating equations written out with sums at the returned τ²
    # (Viechtbauer 2005): REML y'PPy = tr P; ML Σw²(y − µ)² = Σw; PM Σw(y − µ)² = k − 1;
    # DL and HE in closed form.
    rng = np.random.default_rng(7)
    k = 1_000_000
    v = rng.uniform(0.01, 0.5, k)
    y = rng.normal(0.2, np.sqrt(v + 0.04))
    st = StudyTable(y, v, tuple(map(str, range(k))))

    def parts(tau2):
        w = 1 / (v + tau2)
        mu = (w @ y) / w.sum()
        r = y - mu
        return w, mu, r

    fit = meta_analysis(st, method="REML")
    w, mu, r = parts(fit.random.tau2)
    tr_p = w.sum() - (w @ w) / w.sum()
    assert ((w * r) @ (w * r)) == pytest.approx(tr_p, rel=1e-9)
    assert fit.random.estimate == pytest.approx(mu, rel=1e-12)
    assert 0.035 < fit.random.tau2 < 0.045  # the simulated τ² = 0.04, k = 10⁶
    w, mu, r = parts(meta_analysis(st, method="ML").random.tau2)
    assert ((w * r) @ (w * r)) == pytest.approx(w.sum(), rel=1e-9)
    w, mu, r = parts(meta_analysis(st, method="PM").random.tau2)
    assert (w @ (r * r)) == pytest.approx(k - 1, rel=1e-9)
    ybar = y.mean()
    he = ((y - ybar) @ (y - ybar) - v.sum() * (1 - 1 / k)) / (k - 1)
    assert meta_analysis(st, method="HE").random.tau2 == pytest.approx(he, rel=1e-9)


def test_log10_p_finite_and_exact_in_the_far_tail():
    # Independent reference: mpmath at 50 digits.
    for z in (0.5, 5.0, 20.0, 37.0, 40.0, 50.0):
        ref = float(mpmath.log10(2 * mpmath.ncdf(-z)))
        assert log10_norm_sf2(np.array([z]))[0] == pytest.approx(ref, rel=1e-12)
        assert log10_norm_sf2(np.array([-z]))[0] == pytest.approx(ref, rel=1e-12)
    for x, df in ((10.0, 3), (700.0, 1), (1500.0, 5), (2500.0, 2), (4000.0, 30)):
        ref = float(mpmath.log10(mpmath.gammainc(df / 2, x / 2, mpmath.inf, regularized=True)))
        assert log10_chi2_sf(np.array([x]), df)[0] == pytest.approx(ref, rel=1e-9)


def test_fe_p_underflow_keeps_log10p():
    y = np.array([[5.0], [5.2]])
    v = np.array([[0.01], [0.01]])
    c = classical_kernel(y, v)
    assert c.fe_p[0] == 0.0  # underflows as a float...
    assert np.isfinite(c.fe_log10p[0]) and c.fe_log10p[0] < -300  # ...but log10 p does not


def test_k2_and_tau2_zero():
    s = StudyTable(np.array([0.1, 0.12]), np.array([0.04, 0.05]), ("a", "b"))
    fit = meta_analysis(s, method="REML")
    assert fit.random.tau2 == 0.0
    assert fit.random.estimate == pytest.approx(fit.fixed.estimate, rel=1e-12)
    assert fit.random.tau2_ci_low == 0.0
    hk = meta_analysis(s, method="DL", test="hksj")
    assert hk.random.df == 1
    with pytest.raises(ValueError, match="at least 3"):
        fit.leave_one_out()


def test_fewer_studies_than_needed():
    with pytest.raises(ValueError, match="at least 2 studies"):
        meta_analysis(StudyTable(np.array([0.1]), np.array([0.04]), ("a",)))
    with pytest.raises(ValueError, match="method='BAD'"):
        meta_analysis(StudyTable(np.array([0.1, 0.2]), np.array([0.04, 0.1]), ("a", "b")),
                      method="BAD")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="StudyTable"):
        meta_analysis([1, 2])  # type: ignore[arg-type]


def test_result_object_shape(lecture_frame):
    fit = meta_analysis(load_studies(lecture_frame, measure="MD"))
    d = fit.to_dict()
    assert set(d["fixed"]) >= {"estimate", "se", "ci_low", "ci_high", "z", "p"}
    assert set(d["random"]) >= {"method", "tau2", "tau2_ci_low", "tau2_ci_high", "estimate",
                                "se", "ci_low", "ci_high", "p", "pi_low", "pi_high"}
    assert 0 <= d["heterogeneity"]["i2"] <= 1
    frame = fit.to_frame()
    assert list(frame["model"]) == ["fixed", "random_reml"]
    assert {"ci_low", "ci_high"} <= set(frame.columns)
    assert "MetaAnalysis(k=6" in repr(fit)
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass
        fit.fixed.estimate = 0.0  # type: ignore[misc]


def test_chi2_sf_closed_form_for_integer_df_against_mpmath():
    # Integer df up to 20 take the closed form (A&S 6.5.21 recursion); the rest, scipy's
    # chdtrc. Reference: mpmath at 40 digits. 1e-12 relative: in the far tail the error is
    # that of exp(-x/2) itself, ~x/2 ulp (1.3e-13 at x = 1200), for either method.
    from betameta.kernels import chi2_sf

    rng = np.random.default_rng(17)
    df = np.r_[np.arange(1, 21), rng.integers(1, 21, 200), 21, 2.5, 40].astype(float)
    x = np.r_[rng.chisquare(df[:20]), rng.chisquare(df[20:220]) * rng.choice([0.01, 1, 30], 200),
              30.0, 4.0, 60.0]
    x[:4] = (0.0, 1e-12, 600.0, 1200.0)
    sf, lg = chi2_sf(x, df)
    with mpmath.workdps(40):
        for i in range(df.size):
            ref = mpmath.gammainc(df[i] / 2, x[i] / 2, mpmath.inf, regularized=True)
            assert sf[i] == pytest.approx(float(ref), rel=1e-12, abs=0), (x[i], df[i])
            assert lg[i] == pytest.approx(float(mpmath.log10(ref)), rel=1e-12), (x[i], df[i])
    # Infinite and missing statistics, and df ≤ 0, keep scipy's meaning.
    edge, _ = chi2_sf(np.array([np.inf, np.nan, 3.0]), np.array([2.0, 2.0, 0.0]))
    assert edge[0] == 0.0 and np.isnan(edge[1]) and np.isnan(edge[2])


ULPS = 4


def _close_to_the_ulp(got, want, name):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
    np.testing.assert_allclose(got, want, rtol=ULPS * np.finfo(float).eps, atol=0, equal_nan=True,
                               err_msg=name)


@pytest.mark.parametrize("k", [3, 12])
def test_compiled_kernel_equals_the_formulas_in_numpy(k):
    # Missing effects, infinite, zero and missing variances, columns with 0 or 1 usable
    # study and columns where τ² is truncated at 0. NumPy sums a (k, m) array over its
    # first axis one row after another, as the loop sums studies; the loop's exp, log and
    # erfc are libm's, NumPy's and SciPy's their own (SIMD in NumPy ≥ 2.x), which can differ
    # in the last bit: the two agree to ULPS units in the last place, NaN where NaN.
    rng = np.random.default_rng(23)
    m = 3000
    y = rng.normal(0, 0.3, (k, m))
    v = rng.uniform(0.01, 0.2, (k, m))
    y[rng.random((k, m)) < 0.1] = np.nan
    odd = rng.random((k, m)) < 0.03
    v[odd] = rng.choice([0.0, np.inf, np.nan, -1.0], odd.sum())
    y[:, :20] = np.nan
    y[1:, 20:40] = np.nan
    y[:, 40:60] = y[0, 40:60]  # no heterogeneity: τ² = 0
    from betameta.kernels.classical import classical_numpy
    from betameta.kernels.loops import CLASSICAL_ROWS, classical

    assert m >= 256  # the compiled loop is the one classical_kernel runs here
    k_ref, rows_ref = classical_numpy(y, v)
    k_loop, rows_loop = classical(y, v)
    np.testing.assert_array_equal(k_loop, k_ref)
    for name, got, want in zip(CLASSICAL_ROWS, rows_loop, rows_ref, strict=True):
        _close_to_the_ulp(got, want, name)
    c = classical_kernel(y, v)
    _close_to_the_ulp(c.fe_estimate, rows_ref[1], "fe_estimate")
    # Below 256 columns the kernel runs the reference: the same values either way.
    small = classical_kernel(y[:, :100], v[:, :100])
    for name in ("fe_estimate", "q", "tau2_dl", "re_se", "z2", "fe_p", "q_p", "z2_log10p"):
        _close_to_the_ulp(getattr(small, name), getattr(c, name)[:100], name)
    assert np.isnan(c.fe_estimate[:20]).all() and (c.k[20:40] <= 1).all() and np.isnan(c.q[20:40]).all()
    # One meta-analysis (a 1-D input) gives scalars equal to its column.
    one = classical_kernel(y[:, 100], v[:, 100])
    assert np.ndim(one.fe_estimate) == 0 and one.re_estimate == pytest.approx(c.re_estimate[100], rel=1e-15)


def test_kernel_shapes_without_studies_and_with_more_axes():
    # No studies: every estimate is missing (k = 0), not an error; extra trailing axes keep
    # their shape (each column its own meta-analysis).
    none = classical_kernel(np.zeros((0, 3)), np.zeros((0, 3)))
    assert none.k.tolist() == [0, 0, 0] and np.isnan(none.fe_estimate).all() and np.isnan(none.q).all()
    rng = np.random.default_rng(4)
    y, v = rng.normal(size=(4, 2, 3)), rng.uniform(0.1, 1, (4, 2, 3))
    cube = classical_kernel(y, v)
    flat = classical_kernel(y.reshape(4, 6), v.reshape(4, 6))
    assert cube.re_estimate.shape == (2, 3)
    np.testing.assert_array_equal(cube.re_estimate.ravel(), flat.re_estimate)


def test_chi2_closed_form_numpy_reference_equals_the_compiled_loop():
    # The NumPy reference (used below 256 values, so one meta-analysis does not load numba)
    # and the compiled loop make the same operations in the same order (exp from NumPy in
    # one, from libm in the other: equal to ULPS units in the last place).
    from betameta.kernels.classical import _chi2_sf_integer_df_numpy
    from betameta.kernels.loops import chi2_sf_integer_df

    rng = np.random.default_rng(31)
    x = np.concatenate([rng.exponential(8.0, 4000), [0.0, 1e-300, 700.0, 1500.0, np.inf, -1.0, np.nan]])
    df = np.concatenate([rng.integers(0, 24, 4000).astype(float), [1.0, 2.0, 3.0, 20.0, 2.0, 2.0, 2.0]])
    df[:50] += 0.5  # not integers: left to scipy
    a, b = np.empty(x.size), np.empty(x.size)
    assert _chi2_sf_integer_df_numpy(x, df, a) == chi2_sf_integer_df(x, df, b)
    _close_to_the_ulp(a, b, "chi2_sf")
