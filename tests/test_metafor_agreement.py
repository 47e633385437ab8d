"""Agreement with metafor 3.8-1 on the 15 reference cases in tests/data/.

Reference: the JSON files written by ../shared/refs/metafor/make_refs.R
(``rma.uni``, ``confint``, ``leave1out``, ``regtest``; README in tests/data).

Tolerances, per kind of quantity:

* closed-form quantities (fixed effect, Q, I², H², DL, HE, SJ and what follows
  from them): relative 1e-10. Both sides evaluate the same formulas in double
  precision; 1e-10 leaves room for summation order on k up to 102.
* iterative estimators (ML, REML, EB, PM) against the ``*_tight`` blocks, which
  metafor converged to |Δτ²| < 1e-12: relative 1e-8 (absolute 1e-10 on τ² near 0,
  where metafor's tight ML may stop at ~1e-13 instead of 0).
* Q-profile bounds against ``confint_tight`` (uniroot tol 1e-12): relative 1e-8.
* blocks computed by metafor with its default control (``random`` for
  iterative methods, ``leave1out``, ``regtest`` on REML), i.e. with Fisher scoring
  stopped at |Δτ²| < 1e-5 and uniroot at ~1.2e-4: relative 1e-3 or absolute
  1e-4 × (scale of the data), the tolerance the README recommends.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CASES, load_case

from betameta import StudyTable, meta_analysis

CLOSED, TIGHT, LOOSE = 1e-10, 1e-8, 1e-3

#: Keys of metafor's output in units of the effect (scaled by c when the data are y·c, v·c²)
#: and of its square; everything else (z, p, Q, I², H², weights) does not change.
_EFFECT_UNITS = {"estimate", "se", "ci.lb", "ci.ub", "pi.lb", "pi.ub", "pred", "pred.se", "tau",
                 "limit.estimate", "limit.ci.lb", "limit.ci.ub", "yi"}
_SQUARED_UNITS = {"tau2", "se.tau2", "vi"}


def _scaled(case, c: float, unit: int | None = None):
    """The case as if its data were ``y·c`` with variances ``v·c²``: metafor's numbers scaled
    by the power of ``c`` their units carry (meta-analysis is scale-equivariant). Inside a
    block named for a quantity (confint's ``{"tau2": {"estimate", "ci.lb", ...}}``, ``"I2"``)
    the block's unit applies."""
    if isinstance(case, dict):
        out = {}
        for key, value in case.items():
            power = unit
            if power is None:
                power = 1 if key in _EFFECT_UNITS else 2 if key in _SQUARED_UNITS else (
                    0 if key in ("I2", "H2") else None)
            out[key] = _scaled(value, c, power)
        return out
    if isinstance(case, list):
        return [_scaled(v, c, unit) for v in case]
    if isinstance(case, float | int) and not isinstance(case, bool) and unit:
        return case * c**unit
    return case


def _table(case: dict) -> StudyTable:
    return StudyTable(np.array(case["yi"]), np.array(case["vi"]), tuple(case["study"]))


def _check(rows: list, what: str, ours: float, ref: float | None, rtol: float, atol: float = 0.0):
    if ref is None:  # metafor wrote NA, or the caller set aside a bound metafor did not find
        return
    rows.append((what, ours, ref, rtol))
    assert ours == pytest.approx(ref, rel=rtol, abs=atol), f"{what}: ours {ours!r} vs metafor {ref!r}"


def _compare_fit(rows, tag, fit, ref, rtol, tau_atol=0.0, scale=1.0):
    r = fit.random
    atol = 0.0 if rtol < LOOSE else 1e-4 * scale
    _check(rows, f"{tag}.tau2", r.tau2, ref["tau2"], rtol, max(tau_atol, atol))
    # A τ² at 0 vs 1e-13 moves the other numbers by ~1e-13 / v: absolute slack.
    slack = max(atol, 1e-9 * scale) if tau_atol else atol
    for ours, key in [(r.estimate, "estimate"), (r.se, "se"), (r.ci_low, "ci.lb"),
                      (r.ci_high, "ci.ub"), (r.pi_low, "pi.lb"), (r.pi_high, "pi.ub")]:
        _check(rows, f"{tag}.{key}", ours, ref[key], rtol, slack)
    _check(rows, f"{tag}.zval", r.z, ref["zval"], rtol, 1e-7 if slack else 0.0)
    _check(rows, f"{tag}.pval", r.p, ref["pval"], rtol, 1e-7 if slack else 0.0)
    _check(rows, f"{tag}.I2", 100 * r.i2, ref["I2"], rtol, 1e-7 if slack else 0.0)
    _check(rows, f"{tag}.H2", r.h2, ref["H2"], rtol, 1e-9 if slack else 0.0)


def agreement(name: str, c: float = 1.0) -> list[tuple[str, float, float, float]]:
    """Compare every quantity betameta computes with the case's metafor numbers, on the data
    scaled by ``c`` (effects ``y·c``, variances ``v·c²``) and metafor's numbers scaled alike."""
    case = _scaled(load_case(name), c) if c != 1.0 else load_case(name)
    res = case["results"]
    studies = _table(case)
    scale = float(np.std(studies.yi) + np.sqrt(np.median(studies.vi)))
    rows: list = []

    fe = meta_analysis(studies, method="FE")
    f, h, ref = fe.fixed, fe.heterogeneity, res["fixed"]
    for ours, key in [(f.estimate, "estimate"), (f.se, "se"), (f.z, "zval"), (f.p, "pval"),
                      (f.ci_low, "ci.lb"), (f.ci_high, "ci.ub"), (h.q, "QE"), (h.p, "QEp"),
                      (100 * h.i2, "I2"), (h.h2, "H2")]:
        _check(rows, f"fixed.{key}", ours, ref[key], CLOSED, 1e-300)
    np.testing.assert_allclose(fe.weights_fixed, ref["weights_pct"], rtol=CLOSED)
    # ζ̂² and Z² have no metafor counterpart: build them from metafor's own QE and z.
    sum_w = float(np.sum(1 / np.array(case["vi"])))
    _check(rows, "zeta2", h.zeta2, max(0.0, (ref["QE"] - (studies.k - 1)) / sum_w), CLOSED,
           1e-300 * c * c)
    _check(rows, "total.z2", fe.total_test.z2, ref["zval"] ** 2 + ref["QE"], CLOSED)

    for method in ("DL", "HE", "SJ"):
        _compare_fit(rows, f"random.{method}", meta_analysis(studies, method=method),
                     res["random"][method], CLOSED, scale=scale)
    for method in ("ML", "REML", "EB", "PM"):
        fit = meta_analysis(studies, method=method)
        _compare_fit(rows, f"tight.{method}", fit, res["random_tight"][method], TIGHT,
                     tau_atol=1e-10 * c * c, scale=scale)
        # metafor's default convergence: only tau2 is compared, at the README's tolerance.
        _check(rows, f"default.{method}.tau2", fit.random.tau2, res["random"][method]["tau2"],
               LOOSE, 1e-4 * c * c)
    if "REML" in res["random"] and "weights_pct" in res["random"]["REML"]:
        np.testing.assert_allclose(meta_analysis(studies).weights_random,
                                   res["random"]["REML"]["weights_pct"], rtol=LOOSE)

    for block, method, rtol in (("DL", "DL", CLOSED), ("REML_tight", "REML", TIGHT)):
        fit = meta_analysis(studies, method=method, test="hksj")
        _compare_fit(rows, f"knha.{block}", fit, res["knha"][block], rtol,
                     tau_atol=1e-10 * c * c if rtol == TIGHT else 0.0, scale=scale)

    for method in ("DL", "REML"):
        r = meta_analysis(studies, method=method).random
        ci = res["confint_tight"][method]
        if ci["ub.sign"] == ">":
            # metafor stops its search at tau2 = 100 and flags the bound as beyond it;
            # we solve for the bound itself, so it must lie beyond metafor's limit.
            assert r.tau2_ci_high > ci["tau2"]["ci.ub"]
            ci = {**ci, "tau2": {**ci["tau2"], "ci.ub": None}, "I2": {**ci["I2"], "ci.ub": None}}
        for ours, key, bound in [(r.tau2_ci_low, "tau2", "ci.lb"), (r.tau2_ci_high, "tau2", "ci.ub"),
                                 (100 * r.i2_ci_low, "I2", "ci.lb"),
                                 (100 * r.i2_ci_high, "I2", "ci.ub")]:
            _check(rows, f"confint.{method}.{key}.{bound}", ours, ci[key][bound], TIGHT,
                   1e-12 * (c * c if key == "tau2" else 1.0))

    if studies.k >= 3:
        for method, block in (("REML", "REML"), ("FE", "FE")):
            loo = meta_analysis(studies, method=method).leave_one_out()
            ref = res["leave1out"][block]
            np.testing.assert_allclose(loo["estimate"], ref["estimate"], rtol=LOOSE,
                                       atol=1e-4 * scale)
            np.testing.assert_allclose(loo["se"], ref["se"], rtol=LOOSE, atol=1e-4 * scale)
            rows.extend((f"leave1out.{block}.estimate", a, b, LOOSE)
                        for a, b in zip(loo["estimate"], ref["estimate"], strict=True))
            if "tau2" in ref:
                # metafor stopped each refit at |Δτ²| < 1e-5 on the unscaled data: an absolute
                # slack in τ²'s units (c² on the scaled data), as for default.*.tau2 above.
                np.testing.assert_allclose(loo["tau2"], ref["tau2"], rtol=LOOSE, atol=1e-4 * c * c)
        for model, block, method, rtol in (("lm", "lm", "FE", CLOSED), ("rma", "FE", "FE", CLOSED),
                                           ("rma", "REML", "REML", LOOSE)):
            eg = meta_analysis(studies, method=method).egger_test(model=model)
            ref = res["regtest"][block]
            atol = 1e-4 * scale if rtol == LOOSE else 0.0
            _check(rows, f"egger.{block}.stat", eg.statistic, ref["zval"], rtol, atol)
            _check(rows, f"egger.{block}.p", eg.p, ref["pval"], rtol, atol)
            _check(rows, f"egger.{block}.limit", eg.limit_estimate, ref["limit.estimate"], rtol, atol)
            _check(rows, f"egger.{block}.limit.lb", eg.limit_ci_low, ref["limit.ci.lb"], rtol, atol)
            _check(rows, f"egger.{block}.limit.ub", eg.limit_ci_high, ref["limit.ci.ub"], rtol, atol)
    return rows


@pytest.mark.parametrize("name", CASES)
def test_agrees_with_metafor(name):
    rows = agreement(name)
    assert len(rows) > 50


@pytest.mark.parametrize("c", [1e150, 1e-150])
@pytest.mark.parametrize("name", CASES)
def test_agrees_with_metafor_at_the_ends_of_the_double_range(name, c):
    # The same cases with effects × 1e±150 and variances × 1e±300 (metafor's numbers scaled
    # alike): every estimator must keep its tolerance. Before the fits rescaled their
    # input, REML divided by a trace of P² that had underflowed to 0 (ZeroDivisionError).
    # Scaling by a non-power of 2 rounds each input once (2⁻⁵³ relative), far inside 1e-10.
    assert len(agreement(name, c)) > 50


@pytest.mark.parametrize("name", CASES)
def test_tau2_at_the_boundary_is_exactly_zero(name):
    """Where metafor's τ² is 0 so is ours, exactly (so I² prints 0, not 8.5e-12%): the iterative
    estimators' step halving stops a whisker above 0 and ends at 0 where the step from 0 points
    down; PM's root and the moment estimators are 0 by their own rule. One column (NumPy) and the
    case repeated to 300 columns (the compiled loop) alike."""
    from betameta.kernels.random_effects import random_effects_kernel

    case = load_case(name)
    y, v = np.array(case["yi"]), np.array(case["vi"])
    zero = [m for m in ("DL", "HE", "ML", "REML", "EB", "PM")
            if case["results"]["random"].get(m, {}).get("tau2", 1.0) == 0]
    for method in zero:
        one = random_effects_kernel(y, v, method=method, ci=False).tau2
        many = random_effects_kernel(np.repeat(y[:, None], 300, axis=1), np.repeat(v[:, None], 300, axis=1),
                                     method=method, ci=False).tau2
        assert one[0] == 0.0 and np.all(many == 0.0), method
        fit = meta_analysis(_table(case), method=method)
        assert fit.random.tau2 == 0.0 and fit.random.i2 == 0.0


def test_cases_cover_k2_and_tau2_zero():
    ks = {name: load_case(name)["k"] for name in CASES}
    zero = [n for n in CASES if load_case(n)["results"]["random"]["REML"]["tau2"] == 0]
    assert min(ks.values()) == 2
    assert zero, "at least one case with tau2 = 0"


if __name__ == "__main__":  # worst relative error per case, for the closing note
    worst: dict[float, tuple[float, str]] = {}
    count: dict[float, int] = {}
    for name in CASES:
        for what, a, b, tol in agreement(name):
            count[tol] = count.get(tol, 0) + 1
            rel = abs(a - b) / abs(b) if b != 0 else abs(a)
            if rel >= worst.get(tol, (-1.0, ""))[0]:
                worst[tol] = (rel, f"{name}:{what}")
    for tol in sorted(worst):
        print(f"tolerance class {tol:g}: {count[tol]} comparisons, worst relative error "
              f"{worst[tol][0]:.2e} ({worst[tol][1]})")
