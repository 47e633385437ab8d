"""One protocol for every result object (issue 18), tested over all of them.

Each result is frozen; ``to_frame()`` is a non-empty tidy DataFrame with snake_case columns
(a study label may follow in brackets, as in GOSH's ``in[<study>]``) and intervals named
``ci_low``/``ci_high``; ``summary()`` is a :class:`betameta._results.Summary` whose text
names what it summarises and whose table is a DataFrame; ``to_dict()`` survives a strict
JSON round trip (NaN written as null); ``_repr_html_`` holds a table; the repr is one short
line naming the class; every ``plot*`` method draws into a new axes when ``ax`` is None and
into the axes it is given otherwise, returning them.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from betameta import StudyTable, meta_analysis
from betameta._results import Summary
from betameta.effect_sizes import escalc

EXAMPLES = Path(__file__).parents[1] / "examples"
SNAKE = re.compile(r"^[a-z][a-z0-9_]*(\[.+\])?$")
#: Column names a tidy table must not use for an interval (metafor's and pandas' spellings).
NOT_OURS = {"ci.lb", "ci.ub", "lower", "upper", "ci_lb", "ci_ub", "lo", "hi"}


def _bcg():
    bcg = pd.read_csv(EXAMPLES / "bcg.csv")
    yi, vi = escalc("RR", bcg, {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    return StudyTable(yi, vi, tuple(f"{a} {y}" for a, y in zip(bcg.author, bcg.year, strict=True)),
                      measure="RR", data=bcg), bcg


def _classical():
    st, _ = _bcg()
    fit = meta_analysis(st)
    mirrored = meta_analysis(StudyTable(-st.yi, st.vi, st.labels))  # positive effects: selection
    small = meta_analysis(StudyTable(st.yi[:6], st.vi[:6], st.labels[:6]))
    return {"meta_analysis": fit, "egger": fit.egger_test(), "pet_peese": fit.pet_peese(),
            "rank_test": fit.rank_test(), "trim_and_fill": fit.trim_and_fill(),
            "fail_safe_n": fit.fail_safe_n(), "selection_model": mirrored.selection_model(type="beta"),
            "influence": fit.influence(), "gosh": small.gosh(), "fixed_effect": fit.fixed,
            "heterogeneity": fit.heterogeneity, "random_effects": fit.random,
            "total_test": fit.total_test}


def _regression():
    from betameta.pooled import mantel_haenszel
    from betameta.regression import likelihood_ratio_test, meta_regression
    from betameta.subgroups import subgroup_analysis

    st, bcg = _bcg()
    mr = meta_regression(st, ["ablat"], data=bcg)
    full = meta_regression(st, ["ablat", "year"], data=bcg, method="ML")
    reduced = meta_regression(st, ["ablat"], data=bcg, method="ML")
    return {"meta_regression": mr, "prediction": mr.predict(), "fit_stats": mr.fit_stats(),
            "lrt": likelihood_ratio_test(full, reduced), "permutation": mr.permutation_test(40),
            "subgroups": subgroup_analysis(st, "alloc"),
            "mantel_haenszel": mantel_haenszel(bcg[["tpos", "tneg", "cpos", "cneg"]].to_numpy().T)}


def _bayes():
    from betameta.bayes import bayes_meta, sensitivity_analysis
    from betameta.bayes.regression import bayes_meta_regression

    st, bcg = _bcg()
    six = StudyTable(st.yi[:6], st.vi[:6], st.labels[:6])
    return {"bayes_meta": bayes_meta(st), "bayes_regression": bayes_meta_regression(st, ["ablat"], data=bcg),
            "sensitivity": sensitivity_analysis(six, psi2=(1.0, 1000.0), tau2_fixed=(0.25,),
                                                vague=("L1",))}


def _genetic():
    from betameta.asset import asset
    from betameta.metasoft import binary_effects, mvalues, re2
    from betameta.transancestry import transancestry

    rng = np.random.default_rng(20261203)
    b, s = rng.normal(0.1, 0.05, 5), np.full(5, 0.05)
    d = rng.random((5, 5))
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0)
    st = StudyTable(b, s**2, tuple("ABCDE"))
    return {"transancestry": transancestry(b, s, d, studies=tuple("ABCDE")), "re2": re2(st),
            "mvalues": mvalues(st), "binary_effects": binary_effects(st), "asset": asset(st)}


def _kernels():
    from betameta.bayes import priors
    from betameta.kernels import classical_kernel, random_effects_kernel
    from betameta.kernels.asset import asset_arrays
    from betameta.kernels.bayes import bayes_arrays
    from betameta.kernels.binary_effects import binary_effects_arrays
    from betameta.kernels.metasoft import mvalue_arrays, re2_arrays
    from betameta.kernels.mrmega import mrmega_arrays
    from betameta.kernels.partition import partition_arrays

    rng = np.random.default_rng(20261203)
    k, m = 6, 7
    v = rng.uniform(0.01, 0.1, (k, m))
    y = rng.normal(0.1, np.sqrt(v))
    y[0, 0] = np.nan
    d = rng.random((k, k))
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0)
    return {"classical_arrays": classical_kernel(y, v),
            "random_effects_arrays": random_effects_kernel(y, v, method="REML"),
            "bayes_arrays": bayes_arrays(y, v, priors.half_normal(0.5), priors.normal_mu(0, 1)),
            "partition_arrays": partition_arrays(y[:4], v[:4], d[:4, :4]),
            "mrmega_arrays": mrmega_arrays(y, v, rng.normal(size=(k, 1))),
            "re2_arrays": re2_arrays(y, v), "mvalue_arrays": mvalue_arrays(y, v),
            "binary_effects_arrays": binary_effects_arrays(y, v), "asset_arrays": asset_arrays(y, v)}


def _gwas(tmp: Path):
    from betameta.gwas import run_gwas
    from betameta.gwas.synthetic import generate

    syn = generate(tmp, k=3, m=1500, seed=5, fmt="metal", signal_fraction=0.01)
    return {"gwas_run": run_gwas(syn.paths, tmp / "meta.parquet", methods=("fe", "re"),
                                 progress=False, plots=False)}


def _growth():
    from conftest import require_module

    require_module("pymc")
    from betameta.mcmc.growth import fit_growth, read_long

    rats = read_long(pd.read_csv(EXAMPLES / "rats" / "rats.csv"), "rat", "day", "weight")
    return {"growth_fit": fit_growth(rats, draws=60, tune=60, chains=2, seed=3, sampler="pymc")}


GROUPS = {"classical": _classical, "regression": _regression, "bayes": _bayes,
          "genetic": _genetic, "kernels": _kernels}
NAMES = {"classical": ["meta_analysis", "egger", "pet_peese", "rank_test", "trim_and_fill",
                       "fail_safe_n", "selection_model", "influence", "gosh", "fixed_effect",
                       "heterogeneity", "random_effects", "total_test"],
         "regression": ["meta_regression", "prediction", "fit_stats", "lrt", "permutation",
                        "subgroups", "mantel_haenszel"],
         "bayes": ["bayes_meta", "bayes_regression", "sensitivity"],
         "genetic": ["transancestry", "re2", "mvalues", "binary_effects"],
         "kernels": ["classical_arrays", "random_effects_arrays", "bayes_arrays",
                     "partition_arrays", "mrmega_arrays", "re2_arrays", "mvalue_arrays",
                     "binary_effects_arrays"],
         "gwas": ["gwas_run"], "growth": ["growth_fit"]}
CASES = [(g, n) for g, names in NAMES.items() for n in names]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cache: dict[str, dict] = {}

    def get(group: str, name: str):
        if group not in cache:
            if group == "gwas":
                cache[group] = _gwas(tmp_path_factory.mktemp("gwas"))
            elif group == "growth":
                cache[group] = _growth()
            else:
                cache[group] = GROUPS[group]()
        return cache[group][name]

    return get


def _strict_json(x):
    """``x`` as strict JSON allows: NaN and infinities written as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _strict_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_strict_json(v) for v in x]
    return x


def test_every_group_is_listed():
    assert set(NAMES) == set(GROUPS) | {"gwas", "growth"}


@pytest.mark.parametrize(("group", "name"), CASES, ids=[n for _, n in CASES])
def test_result_protocol(results, group, name):
    res = results(group, name)
    cls = type(res)
    # Frozen and typed.
    assert dataclasses.is_dataclass(res) and cls.__dataclass_params__.frozen
    first = dataclasses.fields(res)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(res, first, None)
    # A tidy table.
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0 and frame.shape[1] > 0
    bad = [c for c in frame.columns if not SNAKE.match(str(c)) or c in NOT_OURS]
    assert not bad, f"{name}: columns not snake_case or not ours: {bad}"
    # One kind of summary.
    summ = res.summary()
    assert isinstance(summ, Summary)
    text = str(summ)
    assert summ.title and summ.title in text and repr(summ) == text
    assert isinstance(summ.to_frame(), pd.DataFrame) and len(summ.to_frame()) > 0
    assert "<table" in summ._repr_html_()
    # JSON-ready, strictly.
    d = res.to_dict()
    assert isinstance(d, dict) and d
    assert json.loads(json.dumps(_strict_json(d), allow_nan=False)) == _strict_json(d)
    # Notebook and repr.
    assert "<table" in res._repr_html_()
    r = repr(res)
    assert r.startswith(cls.__name__ + "(") and "\n" not in r and len(r) <= 300, r


def _plots(res):
    return [n for n, _ in inspect.getmembers(type(res), inspect.isfunction) if n.startswith("plot")]


PLOTTED = {"meta_analysis": ["plot_baujat", "plot_cumulative", "plot_forest", "plot_funnel"],
           "gosh": ["plot"], "bayes_meta": ["plot_posterior", "plot_shrinkage"],
           "sensitivity": ["plot"], "meta_regression": ["plot_bubble"], "subgroups": ["plot_forest"],
           "transancestry": ["plot_coclustering", "plot_dendrogram", "plot_effects"],
           "gwas_run": ["plot_manhattan", "plot_qq"], "growth_fit": ["plot"], "mvalues": ["plot_pm"]}


@pytest.mark.parametrize(("group", "name"), CASES, ids=[n for _, n in CASES])
def test_plot_methods_take_ax_and_return_it(results, group, name):
    res = results(group, name)
    assert _plots(res) == PLOTTED.get(name, [])
    for method in _plots(res):
        plot = getattr(res, method)
        assert "ax" in inspect.signature(plot).parameters, f"{name}.{method} has no ax"
        drawn = plot()
        panels = np.ravel(np.asarray(drawn, dtype=object))
        assert panels.size and all(isinstance(a, matplotlib.axes.Axes) for a in panels), method
        if panels.size == 1:
            _, given = plt.subplots()
            assert plot(ax=given) is given, method
        else:
            _, given = plt.subplots(*(np.shape(drawn) if np.ndim(drawn) == 2 else (1, panels.size)))
            assert list(np.ravel(plot(ax=given))) == list(np.ravel(given)), method
        plt.close("all")
