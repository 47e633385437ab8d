"""escalc conversions against the yi/vi metafor recorded for each case (relative 1e-12:
the same closed-form arithmetic on the same inputs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_case

from betameta import InputError, escalc, load_studies

# case -> (measure, column map from betameta's names to the dataset's)
CASES = {
    "lecture_md": ("MD", {"n2": "n0", "m2": "m0", "sd2": "sd0"}),
    "normand1999_md": ("MD", {"n1": "n1i", "m1": "m1i", "sd1": "sd1i", "n2": "n2i", "m2": "m2i",
                              "sd2": "sd2i"}),
    "normand1999_smd": ("SMD", {"n1": "n1i", "m1": "m1i", "sd1": "sd1i", "n2": "n2i",
                                "m2": "m2i", "sd2": "sd2i"}),
    "bcg_rr": ("RR", {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}),
    "bcg_or": ("OR", {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}),
    "bcg_alternate_rr": ("RR", {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}),
    "cannon2006_or": ("OR", {"ai": "ep1t", "n1": "nt", "ci": "ep1c", "n2": "nc"}),
    "egger2001_or": ("OR", {"n1": "n1i", "n2": "n2i"}),
    "hine1989_rd": ("RD", {"n1": "n1i", "n2": "n2i"}),
    "molloy2014_zcor": ("ZCOR", {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_escalc_matches_metafor(name):
    case = load_case(name)
    measure, columns = CASES[name]
    frame = pd.DataFrame(case["data"])
    yi, vi = escalc(measure, frame, columns)
    np.testing.assert_allclose(yi, case["yi"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(vi, case["vi"], rtol=1e-12)


def test_zero_cell_gets_half_added_to_its_table_only():
    # Independent arithmetic: the first table has a zero cell -> every cell + 0.5.
    frame = pd.DataFrame({"ai": [0, 5], "bi": [10, 5], "ci": [3, 2], "di": [7, 8]})
    yi, vi = escalc("OR", frame)
    assert yi[0] == pytest.approx(np.log(0.5 * 7.5 / (10.5 * 3.5)), rel=1e-14)
    assert vi[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5, rel=1e-14)
    assert yi[1] == pytest.approx(np.log(5 * 8 / (5 * 2)), rel=1e-14)


def test_smd_uses_exact_hedges_correction():
    # Hedges (1981): J = Γ(m/2) / (√(m/2) Γ((m−1)/2)); for m = 10, computed by hand.
    from math import gamma, sqrt

    frame = pd.DataFrame({"n1": [6], "m1": [1.0], "sd1": [2.0], "n2": [6], "m2": [0.0], "sd2": [2.0]})
    yi, vi = escalc("SMD", frame)
    j = gamma(5) / (sqrt(5) * gamma(4.5))
    assert yi[0] == pytest.approx(j * 0.5, rel=1e-13)
    assert vi[0] == pytest.approx(1 / 6 + 1 / 6 + (j * 0.5) ** 2 / 24, rel=1e-13)


@pytest.mark.parametrize(
    ("measure", "frame", "message"),
    [
        ("MD", {"n1": [10, 10], "m1": [1, 2], "sd1": [1, -1], "n2": [10, 10], "m2": [0, 0],
                "sd2": [1, 1]}, "row 2, column 'sd1': negative"),
        ("MD", {"n1": [10, 10], "m1": [1, "x"], "sd1": [1, 1], "n2": [10, 10], "m2": [0, 0],
                "sd2": [1, 1]}, "row 2, column 'm1': 'x' is not a finite number"),
        ("MD", {"n1": [10], "m1": [1], "sd1": [1], "n2": [10], "m2": [0]}, "column 'sd2'"),
        ("OR", {"ai": [1, -2], "bi": [3, 3], "ci": [1, 1], "di": [1, 1]}, "row 2, column 'ai'"),
        ("OR", {"ai": [12], "n1": [10], "ci": [1], "n2": [5]}, "more events"),
        ("ZCOR", {"ri": [0.2, 1.2], "ni": [20, 20]}, "row 2, column 'ri'"),
        ("ZCOR", {"ri": [0.2], "ni": [3]}, "n > 3"),
        ("MD", {"n1": [10], "m1": [np.nan], "sd1": [1], "n2": [10], "m2": [0], "sd2": [1]},
         "row 1, column 'm1': missing"),
    ],
)
def test_bad_raw_input_names_row_and_column(measure, frame, message):
    with pytest.raises(InputError, match=message):
        escalc(measure, pd.DataFrame(frame), source="f.csv")


def test_unknown_measure():
    with pytest.raises(ValueError, match="measure='XYZ'"):
        escalc("XYZ", pd.DataFrame({"a": [1]}))  # type: ignore[arg-type]


def test_load_studies_from_files(tmp_path, lecture_frame):
    frame = pd.DataFrame({"study": ["a", "b", "c"], "beta": [0.1, 0.2, 0.3], "se": [0.1, 0.2, 0.1]})
    for suffix, writer in [(".csv", lambda p: frame.to_csv(p, index=False)),
                           (".tsv.gz", lambda p: frame.to_csv(p, sep="\t", index=False)),
                           (".parquet", lambda p: frame.to_parquet(p))]:
        path = tmp_path / f"x{suffix}"
        writer(path)
        s = load_studies(path, effect="beta", se="se")
        np.testing.assert_allclose(s.vi, frame["se"] ** 2)
        assert s.labels == ("a", "b", "c")
    s = load_studies(lecture_frame, measure="MD")
    assert s.k == 6 and s.raw is not None and list(s.raw.columns)[:3] == ["n1", "m1", "sd1"]


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        ({"study": ["a", "a"], "y": [1, 2], "se": [1, 1]}, {}, "row 2: study label 'a' duplicates row 1"),
        ({"y": [1, 2], "se": [1, 0]}, {}, "row 2, column 'se': must be > 0"),
        ({"y": [1, np.inf], "se": [1, 1]}, {}, "row 2, column 'y'"),
        ({"y": [1, 2], "s": [1, 1]}, {}, "column 's'"),
        ({"y": [1, 2], "v": [1, -1]}, {"se": None, "variance": "v"}, "row 2, column 'v'"),
    ],
)
def test_bad_effect_input(frame, kwargs, message):
    args = {"effect": "y", "se": "se"} | kwargs
    if "s" in frame:
        args["se"] = "s_missing"
        message = "column 's_missing'"
    with pytest.raises(InputError, match=message):
        load_studies(pd.DataFrame(frame), **args)


def test_missing_file_and_garbage(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_studies(tmp_path / "none.csv", effect="y", se="s")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InputError, match=r"bad\.parquet"):
        load_studies(bad, effect="y", se="s")


def test_escalc_is_the_function_whatever_was_imported_first():
    # The package's names load lazily; a submodule of the same name would shadow one once
    # imported (it did: betameta.escalc the module replaced escalc the function).
    import betameta
    import betameta.studies  # imports the effect-size module

    assert callable(betameta.escalc) and betameta.escalc.__name__ == "escalc"


EXTRA = json.loads((Path(__file__).parent / "data" / "metafor_extra" / "refs.json").read_text())
#: The R script drops escalc's trailing "i"; betameta keeps it where no group number follows.
_OURS = {"x": "xi", "n": "ni", "t": "ti", "m": "mi", "sd": "sdi", "r": "ri", "a": "ai", "b": "bi",
         "c": "ci", "d": "di"}


@pytest.mark.parametrize("measure", [k.split("_", 1)[1] for k in EXTRA if k.startswith("escalc_")])
def test_new_measures_match_escalc(measure):
    """escalc() of metafor 3.8-1 (tests/data/make_metafor_extra.R) for the issue 16
    measures, with zero counts where escalc's ½ correction applies: closed forms, 1e-12."""
    ref = EXTRA[f"escalc_{measure}"]
    data = pd.DataFrame({_OURS.get(k, k): v for k, v in ref.items() if k not in ("yi", "vi")})
    yi, vi = escalc(measure, data)
    np.testing.assert_allclose(yi, ref["yi"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(vi, ref["vi"], rtol=1e-12)
    studies = load_studies(data, measure=measure)  # the same through the table reader
    np.testing.assert_allclose(studies.yi, yi, rtol=0)


def test_se_from_reported_ci_and_p_value_recovers_escalc(tmp_path):
    """A study reporting RR with 95% CI (or a p-value) instead of an SE: the variance derived
    from them equals metafor's escalc variance of the BCG log RRs (the CI and p below are
    computed from escalc's own yi/vi, so the round trip must return vi: 1e-12)."""
    from scipy import stats

    from betameta.cli.main import cli

    case = load_case("bcg_rr")
    yi, vi = np.array(case["yi"]), np.array(case["vi"])
    z = stats.norm.ppf(0.975)
    frame = pd.DataFrame({"study": case["study"], "rr": np.exp(yi), "lo": np.exp(yi - z * np.sqrt(vi)),
                          "hi": np.exp(yi + z * np.sqrt(vi)),
                          "p": 2 * stats.norm.sf(np.abs(yi) / np.sqrt(vi))})
    from_ci = load_studies(frame, effect="rr", ci_low="lo", ci_high="hi", ratio=True)
    np.testing.assert_allclose(from_ci.yi, yi, rtol=1e-12)
    np.testing.assert_allclose(from_ci.vi, vi, rtol=1e-12)
    from_p = load_studies(frame, effect="rr", p_value="p", ratio=True)
    np.testing.assert_allclose(from_p.vi, vi, rtol=1e-10)  # p down to 1e-30: its rounding
    frame.to_csv(tmp_path / "rr.csv", index=False)
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["meta", str(tmp_path / "rr.csv"), "--effect", "rr", "--ci-low", "lo",
                                   "--ci-high", "hi", "--ratio", "--json"])
    assert out.exit_code == 0, out.output
    bad = frame.assign(lo=frame["hi"])  # an estimate outside its interval: refused, row named
    with pytest.raises(InputError, match="row 1: the estimate does not lie inside"):
        load_studies(bad, effect="rr", ci_low="lo", ci_high="hi", ratio=True)


def test_missing_raw_values_are_refused_or_dropped_and_counted(tmp_path):
    import warnings

    from betameta import InputError, InputNote, load_studies

    path = tmp_path / "t.csv"
    path.write_text("study,ai,bi,ci,di\nA,4,119,11,128\nB,,300,29,274\nC,3,228,11,209\n"
                    "D,62,13536,248,12619\n")
    with pytest.raises(InputError, match=r"t.csv: row 2, column 'ai': missing value \(1 row in all; "
                                         r"drop_missing"):
        load_studies(path, measure="OR")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = load_studies(path, measure="OR", drop_missing=True)
    notes = [str(w.message) for w in caught if issubclass(w.category, InputNote)]
    assert notes == [f"{path}: 1 of 4 rows left out for missing values in ai, bi, ci, di (rows 2)"]
    assert st.labels == ("A", "C", "D")
    # The same effects as the table without that row.
    np.testing.assert_array_equal(st.yi, load_studies(_frame_without(path, 1), measure="OR").yi)


def _frame_without(path, row):
    import pandas as pd

    return pd.read_csv(path, dtype={"study": str}).drop(index=row).reset_index(drop=True)


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize("to", ["all", "only0", "if0all", "none"])
@pytest.mark.parametrize("add", [0.5, 0.25])
@pytest.mark.parametrize("drop00", [False, True])
def test_continuity_correction_options_match_escalc(measure, to, add, drop00):
    # escalc(add, to, drop00) on Yusuf et al.'s table 6 (zero cells, double-zero trials),
    # metafor 3.8-1 (make_metafor_extra.R section 13); NaN where escalc gives NA or a
    # non-finite value. Closed forms: 1e-12.
    from betameta.effect_sizes import table_effects

    extra = json.loads((Path(__file__).parent / "data" / "metafor_extra" / "refs.json").read_text())
    t = extra["cc_data_yusuf6"]
    a, n1, c, n2 = (np.array(t[k], dtype=float) for k in ("ai", "n1", "ci", "n2"))
    yi, vi = table_effects(np.stack([a, n1 - a, c, n2 - c]), measure, add=add, to=to, drop00=drop00)
    ref = extra[f"cc_{measure}_{to}_{add:g}_{str(drop00).lower()}"]
    want_y, want_v = (np.array([np.nan if x is None else x for x in ref[k]]) for k in ("yi", "vi"))
    finite = np.isfinite(yi) & np.isfinite(vi)
    np.testing.assert_array_equal(finite, np.isfinite(want_y) & np.isfinite(want_v))
    np.testing.assert_allclose(yi[finite], want_y[finite], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(vi[finite], want_v[finite], rtol=1e-12)


def test_drop00_and_no_correction_through_load_studies(tmp_path):
    import warnings

    from betameta import InputError, InputNote, load_studies

    path = tmp_path / "s.csv"
    path.write_text("study,ai,n1,ci,n2\nA,14,56,15,58\nB,0,9,0,8\nC,0,25,3,25\nD,3,38,6,31\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = load_studies(path, measure="OR", drop00=True)
    assert st.labels == ("A", "C", "D") and st.tables.shape == (4, 3)
    assert any("1 of 4 tables without events" in str(w.message) for w in caught
               if issubclass(w.category, InputNote))
    with pytest.raises(InputError, match=r"row 2: the OR of a table with a zero cell is not finite"):
        load_studies(path, measure="OR", to="none")
