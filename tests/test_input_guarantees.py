"""Bad or unusual input: a clear one-line error naming the file, row and column, or a note
saying what was assumed; never a traceback, never a silently wrong number.

Run through click's CliRunner (the command line without a subprocess) and the library.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from betameta import InputError, InputNote, load_studies, pooled, read_table
from betameta.cli.main import cli
from betameta.gwas import read_sumstats, run_gwas


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --- study tables ------------------------------------------------------------------------

def test_a_mistyped_study_column_is_an_error(tmp_path):
    f = write(tmp_path / "s.csv", "study,yi,vi\nA,0.1,0.01\nB,0.3,0.02\n")
    out = invoke("meta", f, "--effect", "yi", "--variance", "vi", "--study", "Study")
    assert out.exit_code == 2
    assert "no column 'Study' for the study labels; columns are ['study', 'yi', 'vi']" in out.output
    # Without --study, the column "study" is used when there is one, else 1..k.
    assert load_studies(f, effect="yi", variance="vi").labels == ("A", "B")
    g = write(tmp_path / "n.csv", "yi,vi\n0.1,0.01\n0.3,0.02\n")
    assert load_studies(g, effect="yi", variance="vi").labels == ("1", "2")


def test_a_column_named_twice_is_an_error(tmp_path):
    """pandas reads ``yi,yi`` as yi and yi.1: the first was used without a word. Which one the
    user meant cannot be known, so the header is refused, naming both positions."""
    f = write(tmp_path / "s.csv", "study,yi,yi,vi\nA,0.1,0.5,0.01\nB,0.3,0.6,0.02\n")
    out = invoke("meta", f)
    assert out.exit_code == 2
    assert "column 'yi' appears more than once in the header (columns 2, 3)" in out.output
    with pytest.raises(InputError, match="appears more than once"):
        read_table(f)


def test_a_study_called_na_keeps_its_name(tmp_path):
    f = write(tmp_path / "s.csv", "study,yi,vi\nNA,0.1,0.01\nnan,0.3,0.02\nNULL,0.2,0.03\n")
    assert load_studies(f, effect="yi", variance="vi").labels == ("NA", "nan", "NULL")
    # In a numeric column the same word is a missing value, reported as such.
    g = write(tmp_path / "m.csv", "study,yi,vi\nA,NA,0.01\nB,0.3,0.02\n")
    with pytest.raises(InputError, match=r"m\.csv: row 1, column 'yi': missing"):
        load_studies(g, effect="yi", variance="vi")


def test_labels_differing_only_by_whitespace_are_one_study(tmp_path):
    f = write(tmp_path / "s.csv", "study,yi,vi\nSmith 2001,0.1,0.01\nSmith 2001 ,0.3,0.02\n")
    out = invoke("meta", f, "--effect", "yi", "--variance", "vi")
    assert out.exit_code == 2
    assert "row 2: study label 'Smith 2001' duplicates row 1" in out.output
    assert "differ only by whitespace" in out.output
    g = write(tmp_path / "e.csv", "study,yi,vi\nA,0.1,0.01\n  ,0.3,0.02\n")
    with pytest.raises(InputError, match="row 2: empty study label"):
        load_studies(g, effect="yi", variance="vi")


@pytest.mark.parametrize(("measure", "header", "row", "column"), [
    ("OR", "ai,bi,ci,di", "2.5,10,3,12", "ai"),
    ("RR", "ai,n1,ci,n2", "2,10.5,3,12", "n1"),
    ("MD", "n1,m1,sd1,n2,m2,sd2", "10,1,1,12.2,1,1", "n2"),
    ("ZCOR", "ri,ni", "0.3,20.5", "ni"),
])
def test_fractional_counts_are_refused(tmp_path, measure, header, row, column):
    good = {"OR": "3,10,3,12", "RR": "2,10,3,12", "MD": "10,1,1,12,1.5,1", "ZCOR": "0.2,30"}[measure]
    f = write(tmp_path / "c.csv", f"study,{header}\nA,{good}\nB,{row}\n")
    out = invoke("meta", f, "--measure", measure)
    assert out.exit_code == 2
    assert f"row 2, column '{column}'" in out.output and "is not a whole number" in out.output


def test_separator_detected_with_a_note_and_settable(tmp_path):
    # Tab-separated data in a .csv file: read right, with a note naming what was assumed.
    f = write(tmp_path / "tabs.csv", "study\tyi\tvi\nA\t0.1\t0.01\nB\t0.3\t0.02\nC\t-0.1\t0.03\n")
    with pytest.warns(InputNote, match=r"tabs\.csv: read as tab-separated .*pass --sep"):
        st = load_studies(f, effect="yi", variance="vi")
    np.testing.assert_array_equal(st.yi, [0.1, 0.3, -0.1])
    out = invoke("meta", f, "--effect", "yi", "--variance", "vi", "--method", "FE")
    assert out.exit_code == 0 and "betameta: note: " in out.output
    # Semicolons with decimal commas, as spreadsheets write them in much of Europe.
    g = write(tmp_path / "semi.csv", "study;yi;vi\nA;0,1;0,01\nB;0,3;0,02\nC;-0,1;0,03\n")
    with pytest.warns(InputNote, match="semicolon-separated"):
        st2 = load_studies(g, effect="yi", variance="vi")
    np.testing.assert_array_equal(st2.vi, [0.01, 0.02, 0.03])
    # --sep given: no guessing, no note.
    out = invoke("meta", g, "--effect", "yi", "--variance", "vi", "--sep", ";", "--method", "FE")
    assert out.exit_code == 0 and "note" not in out.output
    # Mixed decimal notation is not guessed at: the cell is named.
    h = write(tmp_path / "mixed.csv", "study;yi;vi\nA;0,1;0.01\nB;0.3;0.02\n")
    out = invoke("meta", h, "--effect", "yi", "--variance", "vi", "--sep", ";")
    assert out.exit_code == 2 and "row 1, column 'yi': '0,1' is not a finite number" in out.output


def test_latin1_bytes_decoded_with_a_note(tmp_path):
    f = write(tmp_path / "l.csv", "study,yi,vi\nMüller 2003,0.1,0.01\nGößling,0.3,0.02\n", "latin-1")
    out = invoke("meta", f, "--effect", "yi", "--variance", "vi", "--json")
    assert out.exit_code == 0
    assert "l.csv: not UTF-8 (line 2), read as cp1252; pass --encoding to choose" in out.output
    assert '"study": "M\\u00fcller 2003"' in out.output
    # --encoding given: used, and no note.
    with_encoding = invoke("meta", f, "--effect", "yi", "--variance", "vi", "--encoding", "latin-1")
    assert with_encoding.exit_code == 0 and "note" not in with_encoding.output
    wrong = invoke("meta", f, "--effect", "yi", "--variance", "vi", "--encoding", "utf-8")
    assert wrong.exit_code == 2 and "l.csv: line 2 is not valid utf-8" in wrong.output
    unknown = invoke("meta", f, "--effect", "yi", "--variance", "vi", "--encoding", "klingon")
    assert unknown.exit_code == 2 and "not an encoding Python knows" in unknown.output


def test_one_na_vocabulary_for_every_table(tmp_path):
    # The same cells are missing in a study table and in summary statistics.
    from betameta.tables import NA_VALUES

    cells = [c for c in NA_VALUES if c]
    rows = "".join(f"{i},{c}\n" for i, c in enumerate(cells))
    t = read_table(write(tmp_path / "t.csv", "i,x\n" + rows))
    assert t["x"].isna().all()
    body = "".join(f"1\t{100 + i}\tA\tG\t{c}\t0.1\t0.3\n" for i, c in enumerate(cells))
    s = read_sumstats(write(tmp_path / "g.tsv", "chromosome\tbase_pair_location\teffect_allele\t"
                                                "other_allele\tbeta\tstandard_error\t"
                                                "effect_allele_frequency\n" + body))
    assert s["beta"].isna().all()


# --- transancestry -----------------------------------------------------------------------

def _distances(tmp_path, labels):
    k = len(labels)
    d = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / k
    frame = pd.DataFrame(d, columns=labels)
    frame.insert(0, "study", labels)
    path = tmp_path / "d.tsv"
    frame.to_csv(path, sep="\t", index=False)
    return path


def test_transancestry_refuses_negative_se_and_repeated_labels(tmp_path):
    dist = _distances(tmp_path, ["A", "B", "C"])
    neg = write(tmp_path / "neg.tsv", "study\tbeta\tse\nA\t0.1\t0.05\nB\t0.2\t-0.05\nC\t0.1\t0.04\n")
    out = invoke("transancestry", neg, "--distances", dist)
    assert out.exit_code == 2 and "study 'B': effect 0.2 with SE -0.05" in out.output
    twice = write(tmp_path / "two.tsv", "study\tbeta\tse\nA\t0.1\t0.05\nA\t0.2\t0.05\nC\t0.1\t0.04\n")
    out = invoke("transancestry", twice, "--distances", dist)
    assert out.exit_code == 2 and "row 2: study label 'A' duplicates row 1" in out.output
    # A missing SE is the documented drop: counted and named.
    miss = write(tmp_path / "m.tsv", "study\tbeta\tse\nA\t0.1\t0.05\nB\t0.2\tNA\nC\t0.1\t0.04\n")
    out = invoke("transancestry", miss, "--distances", dist)
    assert out.exit_code == 0, out.output
    assert "1 of 3 studies have no effect or SE and are left out: B" in out.output


# --- genome-wide -------------------------------------------------------------------------

SSF = ("chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\t"
       "effect_allele_frequency\n")


def _study(tmp_path, name, rows):
    return write(tmp_path / f"{name}.tsv", SSF + "".join("\t".join(map(str, r)) + "\n" for r in rows))


ROWS = [(1, 100, "A", "G", 0.1, 0.05, 0.3), (1, 200, "C", "T", -0.2, 0.05, 0.2),
        (2, 300, "A", "C", 0.05, 0.04, 0.6)]


@pytest.mark.parametrize(("row", "message"), [
    ((1, 400, "A", "G", 0.1, 0.05, 1.2), r"row 4, column 'effect_allele_frequency': allele frequency "
                                         r"1\.2 is outside \[0, 1\]"),
    ((1, 400, "A", "G", 0.1, 0.05, -0.1), "allele frequency -0.1 is outside"),
    ((1, -5, "A", "G", 0.1, 0.05, 0.3), r"row 4, column 'base_pair_location': position -5 is not a "
                                        "whole number"),
    ((1, 400.5, "A", "G", 0.1, 0.05, 0.3), "position 400.5 is not a whole number"),
])
def test_gwas_values_no_study_can_have_are_refused(tmp_path, row, message):
    bad = _study(tmp_path, "bad", [*ROWS, row])
    with pytest.raises(InputError, match=message):
        read_sumstats(bad)
    out = invoke("gwas", "--study", f"A={_study(tmp_path, 'a', ROWS)}", "--study", f"B={bad}",
                 "--out", tmp_path / "o.parquet", "--no-plots")
    assert out.exit_code == 2 and "bad.tsv: row 4" in out.output


def test_gwas_the_same_input_twice_is_refused(tmp_path):
    a = _study(tmp_path, "a", ROWS)
    with pytest.raises(InputError, match="studies A and B are the same file"):
        run_gwas({"A": a, "B": a}, tmp_path / "o.parquet", progress=False, plots=False)
    copy = shutil.copy(a, tmp_path / "copy.tsv")
    with pytest.raises(InputError, match="studies A and B are files with the same content"):
        run_gwas({"A": a, "B": copy}, tmp_path / "o.parquet", progress=False, plots=False)


def test_gwas_study_sharing_no_variant_is_warned_about(tmp_path):
    a = _study(tmp_path, "a", ROWS)
    b = _study(tmp_path, "b", [(1, 150, "A", "G", 0.1, 0.05, 0.3), (1, 250, "C", "T", 0.2, 0.05, 0.2)])
    c = _study(tmp_path, "c", [(r[0], r[1], r[2], r[3], r[4] + 0.01, 0.06, r[6]) for r in ROWS])
    with pytest.warns(InputNote, match="study B shares no variant with the other studies"):
        run = run_gwas({"A": a, "B": b, "C": c}, tmp_path / "o.parquet", progress=False, plots=False)
    assert run.details["warnings"] == ["study B shares no variant with the other studies: check its "
                                       "chromosome names, positions (genome build) or rsids"]
    assert {s: c["shared_with_others"] for s, c in run.details["per_study"].items()} == \
        {"A": 3, "B": 0, "C": 3}
    assert "warning: study B shares no variant" in (tmp_path / "o.parquet.summary.txt").read_text()


def test_gwas_beta_and_odds_ratio_must_agree(tmp_path):
    header = SSF.replace("\tbeta\t", "\tbeta\todds_ratio\t")
    good = "1\t100\tA\tG\t0.1\t1.105\t0.05\t0.3\n1\t200\tC\tT\t-0.2\t0.8187\t0.05\t0.2\n"
    assert read_sumstats(write(tmp_path / "ok.tsv", header + good))["beta"].tolist() == [0.1, -0.2]
    bad = write(tmp_path / "bad.tsv", header + good + "1\t300\tA\tC\t0.3\t0.3\t0.05\t0.2\n")
    with pytest.raises(InputError, match=r"bad\.tsv: row 3: beta = 0\.3 but odds_ratio = 0\.3 "
                                         r"\(log -1\.20397\): they disagree"):
        read_sumstats(bad)
    # The user says which column to trust: no check, that column used.
    chosen = read_sumstats(bad, {"odds_ratio": "odds_ratio"})
    np.testing.assert_allclose(chosen["beta"], np.log([1.105, 0.8187, 0.3]))
    assert read_sumstats(bad, {"beta": "beta"})["beta"].tolist() == [0.1, -0.2, 0.3]


def test_gwas_x_and_23_are_one_chromosome(tmp_path):
    a = _study(tmp_path, "a", [("X", 100, "A", "G", 0.1, 0.05, 0.3), ("chrY", 5, "C", "T", 0.1, 0.05, 0.3),
                               (1, 10, "A", "C", 0.2, 0.05, 0.4)])
    b = _study(tmp_path, "b", [(23, 100, "A", "G", 0.12, 0.05, 0.3), (24, 5, "C", "T", 0.1, 0.06, 0.3),
                               ("chr1", 10, "A", "C", 0.1, 0.05, 0.4)])
    run = run_gwas({"A": a, "B": b}, tmp_path / "o.parquet", progress=False, plots=False)
    res = pd.read_parquet(run.out)
    assert res["n_studies"].tolist() == [2, 2, 2]
    assert res["chromosome"].astype(str).tolist() == ["1", "X", "Y"]


def test_gwas_output_format_comes_from_a_known_suffix(tmp_path):
    a, b = _study(tmp_path, "a", ROWS), _study(tmp_path, "b", ROWS[:2])
    out = invoke("gwas", "--study", f"A={a}", "--study", f"B={b}", "--out", tmp_path / "x.csv")
    assert out.exit_code == 2
    assert "x.csv: the format is chosen by the suffix: use one of .parquet" in out.output
    assert not (tmp_path / "x.csv").exists()


def test_gwas_separator_and_encoding_detected(tmp_path):
    a = _study(tmp_path, "a", ROWS)
    semi = write(tmp_path / "b.txt", (SSF + "".join("\t".join(map(str, r)) + "\n" for r in ROWS))
                 .replace("\t", ";"))
    with pytest.warns(InputNote, match=r"b\.txt: read as semicolon-separated"):
        frame = read_sumstats(semi)
    assert frame["beta"].tolist() == [0.1, -0.2, 0.05]
    run = run_gwas({"A": a, "B": semi}, tmp_path / "o.parquet", progress=False, plots=False, sep=None)
    assert run.details["variants_by_n_studies"] == {2: 3}


# --- library arguments with no answer ------------------------------------------------------
def _fit():
    from betameta import StudyTable, meta_analysis

    return meta_analysis(StudyTable(np.array([0.2, 0.4, 0.3, -0.1]), np.array([0.01, 0.02, 0.01, 0.03]),
                                    ("a", "b", "c", "d")))


def _posterior():
    from betameta.bayes import bayes_meta

    return bayes_meta(_fit().studies)


def _prior_quantile(q):
    from betameta.bayes.priors import half_normal, prior_quantile

    return prior_quantile(half_normal(1.0), q, np.array([0.01]))


def _sensitivity(**kw):
    from betameta.bayes import sensitivity_analysis

    return sensitivity_analysis(_fit().studies, **kw)


def _nan_prior():
    from betameta.bayes.priors import custom

    return custom(lambda t: np.full_like(t, np.nan))


@pytest.mark.parametrize(("call", "match"), [
    # Each of these returned a number (or an empty result) before: a quantile clamped to the grid's
    # end, NaN ends with a RuntimeWarning, a GOSH of no subsets, a prior whose density is NaN.
    (lambda: _prior_quantile(2.0), "q must lie in"),
    (lambda: _posterior().mu.interval(2.0), "level must lie in"),
    (lambda: _posterior().tau.interval(0.0, kind="shortest"), "level must lie in"),
    (lambda: _fit().gosh(max_subsets=0), "max_subsets must be at least 1"),
    (_nan_prior, "density is not positive and finite anywhere"),
    (lambda: _fit().pet_peese(alpha=1.0), "alpha must lie in"),
    # A missing value in the order sorted last without a word; a negative ψ² was reported as an
    # sd of NaN.
    (lambda: _fit().cumulative(order=[1, 2, np.nan, 4]), "missing value at position 3"),
    (lambda: _sensitivity(psi2=(-1.0,)), "psi2: the prior variance of mu must be a finite number > 0"),
])
def test_arguments_without_an_answer_are_refused(call, match):
    with pytest.raises(InputError, match=match):
        call()


def _tables(a, b, c, d):
    return np.array([a, b, c, d], dtype=float)


def _partition_mcmc(steps):
    from betameta.transancestry import transancestry

    distances = np.array([[0, 1, 2.0], [1, 0, 1], [2, 1, 0]])
    return transancestry(np.array([0.1, 0.2, 0.3]), np.full(3, 0.05), distances, method="mcmc",
                         mcmc_steps=steps)


NO_EVENTS = _tables([0, 0], [10, 10], [0, 0], [10, 10])


@pytest.mark.parametrize(("call", "match"), [
    # These returned NaN estimates with RuntimeWarnings (0/0), or NaN intervals (a level of 1.5),
    # or an FFT error from inside the MCMC diagnostics.
    (lambda: pooled.mantel_haenszel(NO_EVENTS), "Mantel–Haenszel odds ratio is 0/0"),
    (lambda: pooled.mantel_haenszel(NO_EVENTS, measure="RR"), "risk ratio is 0/0"),
    (lambda: pooled.peto(NO_EVENTS), "Peto's odds ratio"),
    (lambda: pooled.mantel_haenszel_rates(_tables([0, 0], [100, 200], [0, 0], [100, 200])),
     "rate ratio is 0/0"),
    (lambda: pooled.mantel_haenszel(_tables([4, 6], [119, 300], [11, 29], [128, 274]), level=1.5),
     "level must lie in"),
    (lambda: _partition_mcmc(0), "mcmc_steps must be a whole number >= 100"),
])
def test_pooled_and_partition_arguments_without_an_answer(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_pooling_takes_the_studies_tables_and_refuses_studies_without_them():
    # Passing the StudyTable itself raised a TypeError from numpy; now its 2x2 tables are pooled
    # (the same numbers as the array), and studies given as yi/vi get an error saying why not.
    bcg = pd.read_csv("examples/bcg.csv")
    studies = load_studies(bcg, measure="OR", study="trial",
                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    array = bcg[["tpos", "tneg", "cpos", "cneg"]].to_numpy().T
    assert pooled.mantel_haenszel(studies) == pooled.mantel_haenszel(array)
    assert pooled.peto(studies) == pooled.peto(array)
    plain = load_studies(pd.DataFrame({"yi": [0.1, 0.2], "vi": [0.01, 0.02]}))
    with pytest.raises(InputError, match="not computed from 2x2 tables"):
        pooled.mantel_haenszel(plain)
    with pytest.raises(InputError, match="numeric counts"):
        pooled.peto([["a", "b"], ["c", "d"], ["e", "f"], ["g", "h"]])


def test_bayes_regression_prediction_rows_of_the_wrong_width_are_refused():
    # BayesRegression.predict took any array and failed inside numpy's matmul; it now builds its
    # rows as MetaRegression.predict does (Design.rows) and names the fit's moderator terms.
    from betameta.bayes.regression import bayes_meta_regression
    from betameta.regression import meta_regression

    d = pd.DataFrame({"yi": [-0.9, -1.6, -1.4, -0.2, -0.8, 0.0], "vi": [0.36, 0.19, 0.02, 0.05, 0.01, 0.06],
                      "lat": [44, 55, 52, 13, 44, 13]})
    studies = load_studies(d)
    for fit in (bayes_meta_regression(studies, ["lat"], "halfnormal:0.5"), meta_regression(studies, ["lat"])):
        with pytest.raises(InputError, match=r"newmods has 2 columns; the fit's moderator terms are "
                                             r"\['lat'\]"):
            fit.predict(np.array([[20.0, 3.0]]))
