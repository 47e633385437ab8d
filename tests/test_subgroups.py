"""Subgroup analyses against metafor 3.8-1.

References: ``tests/data/metafor_regression/subgroups.json`` (made by
``tests/data/make_metafor_regression.R``): dat.bcg (log RR) by allocation and
dat.bangertdrowns2004 by grade; per subgroup ``rma()`` (DL and REML, z and Knapp–Hartung,
tight control), the test of differences with separate τ² as metafor's documentation does
it (``rma(estimates, sei = ses, method = "FE")``, its QE on G − 1 df) and with a common τ²
(``rma(mods = ~ factor(group))``, its QM). Tolerance 1e-9 relative, as in
test_meta_regression.py (both sides converge to 1e-12).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from betameta import StudyTable
from betameta.errors import InputError
from betameta.subgroups import subgroup_analysis

REFS = json.loads((Path(__file__).parent / "data" / "metafor_regression" / "subgroups.json").read_text())
CASES = [(name, key) for name, case in REFS.items() for key in case["fits"]]


def _studies(case):
    y = np.array(case["yi"])
    return StudyTable(y, np.array(case["vi"]), tuple(map(str, range(y.size))),
                      data=pd.DataFrame({case["column"]: case["values"]}))


@pytest.mark.parametrize(("name", "key"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_subgroups_agree_with_metafor(name, key):
    case, ref = REFS[name], REFS[name]["fits"][key]
    method, test = key.split("_")
    sub = subgroup_analysis(_studies(case), case["column"], method=method,
                            test="hksj" if test == "knha" else "z")
    assert list(sub.groups) == ref["groups"]
    frame = sub.to_frame()
    assert frame["k"].tolist() == ref["k"]
    for ours, theirs in (("estimate", "b"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        np.testing.assert_allclose(frame[ours], ref[theirs], rtol=1e-9, err_msg=ours)
    np.testing.assert_allclose(frame["tau2"], ref["tau2"], rtol=1e-9, atol=1e-12)
    assert sub.df_between == ref["qb_df"]
    np.testing.assert_allclose([sub.q_between, sub.p_between], [ref["qb"], ref["qb_p"]], rtol=1e-9)
    np.testing.assert_allclose([sub.common.qm, sub.common.qm_p],
                               [ref["common_qm"], ref["common_qm_p"]], rtol=1e-9)
    assert sub.common.qm_df == ref["common_qm_df"][0]


def test_subgroup_refusals_name_the_column_and_level():
    y, v = np.array([0.1, 0.2, 0.3, 0.4]), np.full(4, 0.05)
    st = StudyTable(y, v, ("a", "b", "c", "d"), data=pd.DataFrame({"g": ["x", "x", "x", "y"],
                                                                    "h": ["x"] * 4}))
    with pytest.raises(InputError, match="subgroup g = 'y' has 1 study"):
        subgroup_analysis(st, "g")
    with pytest.raises(InputError, match="subgroup column 'h' has one level"):
        subgroup_analysis(st, "h")
    with pytest.raises(InputError, match="no subgroup column 'z'"):
        subgroup_analysis(st, "z")


def test_subgroup_report_json_and_forest_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    case = REFS["bcg_alloc"]
    sub = subgroup_analysis(_studies(case), "alloc")
    d = sub.to_dict()
    assert [g["group"] for g in d["groups"]] == ["alternate", "random", "systematic"]
    assert d["q_between"]["df"] == 2 and d["q_between_common"]["df2"] is None
    assert "Test of subgroup differences, separate tau²" in str(sub.summary())
    ax = sub.plot_forest()
    # One diamond per subgroup (filled polygons), and every study's square.
    assert len(ax.patches) == 3
    assert sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_sizes")
               and len(c.get_sizes())) == 13
    ax.figure.savefig(tmp_path / "sub.png")
    assert (tmp_path / "sub.png").stat().st_size > 10_000
