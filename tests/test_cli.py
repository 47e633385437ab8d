"""The command line as a user meets it: stdout, stderr and exit codes, through click's
CliRunner, plus one real subprocess per command (the installed entry point's path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from betameta.cli.main import cli

ROOT = Path(__file__).parents[1]
LECTURE = ROOT / "examples" / "lecture.csv"


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run(*args: str) -> Run:
    res = CliRunner().invoke(cli, list(args))
    return Run(res.exit_code, res.stdout, res.stderr)


@pytest.mark.parametrize("args", [
    ["meta", str(LECTURE), "--measure", "MD", "--method", "DL"],
    ["bayes", str(LECTURE), "--measure", "MD"],
    ["sensitivity", str(LECTURE), "--measure", "MD", "--json"],
], ids=lambda a: a[0])
def test_each_command_runs_as_a_subprocess(args):
    # The same process a user starts (python -m betameta.cli.main); transancestry, hier, report
    # and gwas have theirs in their own test files.
    out = subprocess.run([sys.executable, "-m", "betameta.cli.main", *args], capture_output=True,
                         text=True, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and len(out.stdout) > 200


def test_bad_input_exits_2_and_a_bug_exits_1_with_a_hint(tmp_path, monkeypatch):
    out = subprocess.run([sys.executable, "-m", "betameta.cli.main", "meta", str(tmp_path / "none.csv"),
                          "--measure", "MD"], capture_output=True, text=True, check=False)
    missing = tmp_path / "none.csv"
    assert out.returncode == 2 and out.stderr.strip() == f"betameta: error: {missing}: no such file"
    # A programming error is not reported as bad input: exit 1 and a pointer to --debug,
    # which shows the traceback.
    import betameta.classical

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(betameta.classical, "meta_analysis", broken)
    res = run("meta", str(LECTURE), "--measure", "MD")
    assert res.returncode == 1
    assert ("internal error: TypeError: unsupported operand (this is a bug; run again with --debug"
            in res.stderr)
    debug = CliRunner().invoke(cli, ["--debug", "meta", str(LECTURE), "--measure", "MD"])
    assert isinstance(debug.exception, TypeError)
    # Nor is a plain ValueError (numpy's, say): the library raises InputError for bad values.

    def numpy_bug(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(betameta.classical, "meta_analysis", numpy_bug)
    res = run("meta", str(LECTURE), "--measure", "MD")
    assert res.returncode == 1 and "internal error: ValueError: operands" in res.stderr


def test_meta_table_and_json(tmp_path):
    out = run("meta", str(LECTURE), "--measure", "MD", "--method", "DL")
    assert out.returncode == 0, out.stderr
    assert "[-2.4474, -1.6372]" in out.stdout and "[-2.6946, 0.2845]" in out.stdout
    plot = tmp_path / "forest.svg"
    out = run("meta", str(LECTURE), "--measure", "MD", "--json", "--test", "hksj",
              "--plot", str(plot))
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["k"] == 6
    assert d["random"]["method"] == "REML" and d["random"]["test"] == "hksj"
    assert 0 < d["heterogeneity"]["i2"] < 1
    assert d["total_test"]["df"] == 6
    assert plot.stat().st_size > 10_000 and plot.read_text().startswith("<?xml")


def test_meta_with_effect_and_se_columns(tmp_path):
    f = tmp_path / "s.tsv"
    f.write_text("study\tbeta\tse\nA\t0.1\t0.05\nB\t0.3\t0.1\nC\t-0.1\t0.2\n")
    out = run("meta", str(f), "--effect", "beta", "--se", "se", "--json", "--method", "PM")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["random"]["method"] == "PM"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("study,y,s\nA,1,0.1\nB,x,0.2\n", ["--effect", "y", "--se", "s"], "row 2, column 'y'"),
        ("study,y,s\nA,1,0.1\nB,2,0\n", ["--effect", "y", "--se", "s"], "row 2, column 's'"),
        ("study,y,s\nA,1,0.1\nA,2,1\n", ["--effect", "y", "--se", "s"], "duplicates row 1"),
        ("study,y,s\nA,1,0.1\n", ["--effect", "y", "--se", "s"], "at least 2 studies"),
        ("study,y,s\nA,1,0.1\nB,2,1\n", ["--effect", "y", "--se", "q"], "column 'q'"),
        ("study,ri,ni\nA,0.5,10\nB,0.2,-4\n", ["--measure", "ZCOR"], "row 2, column 'ni'"),
    ],
)
def test_bad_input_gives_message_not_traceback(tmp_path, content, args, message):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    out = run("meta", str(f), *args)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_bad_plot_suffix(tmp_path):
    out = run("meta", str(LECTURE), "--measure", "MD", "--plot", str(tmp_path / "x.gif"))
    assert out.returncode != 0 and ".png, .svg or .pdf" in out.stderr


@pytest.mark.parametrize("option", ["--plot", "--out"])
def test_an_output_in_a_missing_folder_is_named(tmp_path, option):
    """A plot or report into a folder that does not exist: exit 2 naming the file and its folder
    (before, the report's error named its hidden temporary file)."""
    target = tmp_path / "missing" / ("f.png" if option == "--plot" else "r.html")
    command = "meta" if option == "--plot" else "report"
    out = run(command, str(LECTURE), "--measure", "MD", option, str(target))
    assert out.returncode == 2, out.stderr
    assert f"cannot write {target}: the folder {target.parent} does not exist" in out.stderr
    assert "tmp" not in out.stderr.replace(str(tmp_path), "") and "Traceback" not in out.stderr


def test_bayes_json(tmp_path):
    plot = tmp_path / "bayes.png"
    out = run("bayes", str(LECTURE), "--measure", "MD", "--tau-prior", "L1", "--mu-prior",
              "normal:0,31.6", "--json", "--plot", str(plot), "--interval", "shortest")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    for key in ("mu", "tau", "beta_f", "zeta2", "theta_new"):
        assert set(d[key]) >= {"mean", "sd", "median", "ci_low", "ci_high"}
    assert [t["study"] for t in d["theta"]][0] == "Turner 2000c"
    assert d["bf_mu0"] > 0 and d["bf_tau0"] > 0 and d["log_marginal_likelihood"] < 0
    assert plot.stat().st_size > 20_000


def test_bayes_flat_mu_reports_null_bayes_factor_with_a_note():
    out = run("bayes", str(LECTURE), "--measure", "MD", "--json")
    d = json.loads(out.stdout)
    assert d["bf_mu0"] is None and d["log_marginal_likelihood"] is None
    assert any("flat" in n for n in d["notes"])


def test_bayes_bad_prior_and_improper_posterior(tmp_path):
    out = run("bayes", str(LECTURE), "--measure", "MD", "--tau-prior", "halfnormal:-2")
    assert out.returncode == 2 and "scale must be" in out.stderr and "Traceback" not in out.stderr
    f = tmp_path / "two.csv"
    f.write_text("study,y,s\nA,1,0.3\nB,2,0.4\n")
    out = run("bayes", str(f), "--effect", "y", "--se", "s", "--tau-prior", "flat")
    assert out.returncode == 2 and "improper" in out.stderr


def test_sensitivity_cli(tmp_path):
    plot = tmp_path / "sens.png"
    out = run("sensitivity", str(LECTURE), "--measure", "MD", "--plot", str(plot))
    assert out.returncode == 0, out.stderr
    assert "L11, psi2=1000" in out.stdout and plot.stat().st_size > 50_000


def test_study_level_use_does_not_load_genome_scale_machinery():
    # import betameta loads no SciPy, pandas or numba; one meta-analysis loads no numba and
    # no scipy.stats (each costs about a second to import).
    code = ("import sys, betameta as bm\n"
            "names = ('pandas', 'scipy', 'numba', 'scipy.stats')\n"
            "heavy = lambda: sorted(m for m in names if m in sys.modules)\n"
            "print(heavy())\n"
            "fit = bm.meta_analysis(bm.load_studies('examples/lecture.csv', measure='MD'), test='hksj')\n"
            "print(heavy(), round(fit.random.estimate, 4))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    first, second = out.stdout.splitlines()
    assert first == "[]"
    assert second == "['pandas', 'scipy'] -1.1285"  # metafor's REML: tests/data/lecture_md.json


BCG = ROOT / "examples" / "bcg.csv"
BCG_ARGS = ["meta", str(BCG), "--measure", "RR", "--column", "ai=tpos", "--column", "bi=tneg",
            "--column", "ci=cpos", "--column", "di=cneg", "--study", "trial"]


def test_meta_with_moderators_table_and_json():
    # dat.bcg, log RR on absolute latitude (REML, z): metafor 3.8-1 gives b = 0.25146821,
    # -0.02910173, QM = 16.358232 on 1 df, QE = 30.733090 on 11 df, R² = 75.63%
    # (tests/data/metafor_regression/refs.json, bcg_ablat REML_z).
    out = run(*BCG_ARGS, "--mods", "ablat", "--json")
    assert out.returncode == 0, out.stderr
    reg = json.loads(out.stdout)["meta_regression"]
    assert [c["term"] for c in reg["coefficients"]] == ["intercept", "ablat"]
    assert reg["coefficients"][1]["estimate"] == pytest.approx(-0.029101725011642862, rel=1e-9)
    assert reg["qm"] == {"stat": pytest.approx(16.358232147046746, rel=1e-9), "df": 1, "df2": None,
                         "p": pytest.approx(5.242793974135074e-05, rel=1e-9), "btt": [2]}
    assert reg["qe"]["df"] == 11 and reg["r2"] == pytest.approx(0.7562662181139328, rel=1e-9)
    # A factor with its reference level, a subset test, and the HKSJ F test in the table.
    text = run(*BCG_ARGS, "--mods", "ablat,alloc", "--reference", "alloc=random", "--btt", "3,4",
               "--test", "hksj")
    assert text.returncode == 0, text.stderr
    assert "alloc[alternate]" in text.stdout and "alloc[systematic]" in text.stdout
    assert "Test of moderators (alloc[alternate], alloc[systematic]): F = " in text.stdout
    assert "on 2 and 9 df" in text.stdout


@pytest.mark.parametrize(("extra", "message"), [
    (["--mods", "lat"], "examples/bcg.csv: no moderator column 'lat'"),
    (["--mods", "ablat", "--btt", "5"], "btt: 5 is not a coefficient position 1..2"),
    (["--mods", "alloc", "--reference", "alloc=other"], "reference level 'other' of 'alloc'"),
    (["--mods", "ablat", "--reference", "ablat"], "'ablat' is not COL=LEVEL"),
])
def test_meta_with_bad_moderators_exits_2(extra, message):
    out = run(*BCG_ARGS, *extra)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_meta_with_subgroups_json_and_grouped_forest(tmp_path):
    # dat.bcg by allocation, REML: Q between (separate tau²) = 1.8614449 on 2 df, common-tau²
    # QM = 1.7675114 (metafor 3.8-1, tests/data/metafor_regression/subgroups.json).
    png = tmp_path / "sub.png"
    out = run(*BCG_ARGS, "--subgroup", "alloc", "--json", "--plot", str(png))
    assert out.returncode == 0, out.stderr
    sub = json.loads(out.stdout)["subgroups"]
    assert [g["group"] for g in sub["groups"]] == ["alternate", "random", "systematic"]
    assert sub["q_between"]["stat"] == pytest.approx(1.8614449461546356, rel=1e-9)
    assert sub["q_between_common"]["stat"] == pytest.approx(1.767511401931945, rel=1e-9)
    assert png.stat().st_size > 10_000


def test_meta_permutation_test_json():
    out = run(*BCG_ARGS, "--mods", "ablat", "--permutations", "200", "--seed", "3", "--json")
    assert out.returncode == 0, out.stderr
    perm = json.loads(out.stdout)["meta_regression"]["permutation"]
    assert perm["n"] == 200 and not perm["exact"] and set(perm["p"]) == {"intercept", "ablat"}
    # The same seed, the same p-values; the permutation p of a QM with z p = 5e-5 is small.
    again = json.loads(run(*BCG_ARGS, "--mods", "ablat", "--permutations", "200", "--seed", "3",
                           "--json").stdout)["meta_regression"]["permutation"]
    assert again == perm and perm["qm_p"] < 0.05
    assert run(*BCG_ARGS, "--permutations", "20").returncode == 2


def test_bayes_with_moderators_json():
    args = ["bayes", *BCG_ARGS[1:], "--mods", "ablat", "--tau-prior", "halfnormal:0.5", "--json"]
    out = run(*args)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert [c["term"] for c in d["coefficients"]] == ["intercept", "ablat"]
    assert set(d["coefficients"][1]) >= {"mean", "sd", "median", "ci_low", "ci_high"}
    assert d["coefficients"][1]["ci_high"] < 0  # latitude's effect (Colditz et al.'s finding)
    normal = json.loads(run(*args, "--beta-prior", "normal:0,1").stdout)
    assert normal["coefficients"][1]["bf_zero"] > 0 and d["coefficients"][1]["bf_zero"] is None


def test_drop_missing_from_the_command_line(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("yi,sei\n0.1,0.2\n,0.3\n0.4,0.25\n0.2,0.1\n")
    refused = run("meta", str(path), "--effect", "yi", "--se", "sei")
    assert refused.returncode == 2 and "row 2, column 'yi': missing value" in refused.stderr
    kept = run("meta", str(path), "--effect", "yi", "--se", "sei", "--drop-missing", "--json")
    assert kept.returncode == 0, kept.stderr
    assert "1 of 4 rows left out for missing values in yi, sei (rows 2)" in kept.stderr
    assert json.loads(kept.stdout)["k"] == 3


def test_mantel_haenszel_of_incidence_rates(tmp_path):
    # Nielweise et al. (2008): rma.mh(measure = "IRR") gives log IRR -0.41517520 (metafor
    # 3.8-1, tests/data/metafor_extra/refs.json mhrate_nielweise_IRR).
    path = tmp_path / "n.csv"
    path.write_text("x1,t1,x2,t2\n7,1344,11,1988\n8,1600,8,1461\n3,12012,14,10962\n6,1536,10,1503\n"
                    "1,370,1,483\n1,729,8,913\n17,6760,15,6840\n3,1107,7,1015\n2,320,3,440\n")
    out = run("meta", str(path), "--measure", "IRR", "--method", "MH", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["estimate"] == pytest.approx(-0.41517520, abs=1e-7)
    text = run("meta", str(path), "--measure", "IRR", "--method", "MH")
    assert text.returncode == 0 and "as a ratio" in text.stdout
    assert "Mantel-Haenszel test: X2 = " in text.stdout


def test_bias_and_influence_commands():
    # dat.bcg (log RR, REML): metafor 3.8-1's fsn gives Rosenthal 598, Orwin 13, Rosenberg 370
    # and trimfill(estimator = "Q0") 1 study on the right (tests/data/metafor_extra/refs.json).
    bias = ["bias", *BCG_ARGS[1:]]
    out = run(*bias, "--estimator", "Q0", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert {m: f["n"] for m, f in d["fail_safe_n"].items()} == {"Rosenthal": 598, "Orwin": 13,
                                                                "Rosenberg": 370}
    assert (d["trim_and_fill"]["k0"], d["trim_and_fill"]["side"]) == (1, "right")
    # No BCG trial has a one-sided p below 0.025 for a harmful effect: the selection model is
    # reported as not estimable, the rest of the report stands.
    assert "no study has a one-sided p-value in (0, 0.025]" in d["selection_models"]["stepfun"]["error"]
    assert "Step-function selection model (steps 0.5,1): estimate" in run(*bias, "--steps", "0.5,1").stdout
    # The beta model on the BCG trials, checked against the library (itself checked against
    # metafor's selmodel(type = "beta") in test_small_study.py).
    both = json.loads(run(*bias, "--selection", "both", "--json").stdout)["selection_models"]
    from betameta import load_studies, meta_analysis

    studies = load_studies(BCG, measure="RR", study="trial",
                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    lib = meta_analysis(studies, method="REML").selection_model(type="beta")
    assert both["beta"]["estimate"] == lib.estimate and both["beta"]["delta"] == list(lib.delta)
    assert "error" in both["stepfun"]
    infl = run("influence", *BCG_ARGS[1:], "--json")
    assert infl.returncode == 0, infl.stderr
    rows = json.loads(infl.stdout)
    assert len(rows["influence"]) == len(rows["leave_one_out"]) == 13
    assert {"rstudent", "cooks_d", "dfbetas", "influential"} <= set(rows["influence"][0])


def test_moderators_with_mantel_haenszel_are_refused():
    out = run(*BCG_ARGS, "--method", "MH", "--mods", "ablat")
    assert out.returncode == 2 and "pools tables without moderators" in out.stderr


def test_prior_grammar_on_the_commands(tmp_path):
    # The grammar (tests/test_prior_grammar.py) through the options that take priors: the new
    # spelling gives the same posterior as the old alias, on bayes (τ and µ) and transancestry
    # (the partition model's τ²); a prior an engine does not have is bad input (exit 2).
    def bayes(*prior):
        out = run("bayes", str(LECTURE), "--measure", "MD", *prior, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert bayes("--tau-prior", "tau~halfnormal(0.5)", "--mu-prior", "mu~normal(0,10)") == \
        bayes("--tau-prior", "halfnormal:0.5", "--mu-prior", "normal:0,10")
    assert bayes("--tau-prior", "precision~gamma(0.001,0.001)") == \
        bayes("--tau-prior", "gamma-precision:0.001,0.001")
    bad = run("bayes", str(LECTURE), "--measure", "MD", "--tau-prior", "tau~cauchy(1)")
    assert bad.returncode == 2 and "tau prior 'tau~cauchy(1)' is not available here" in bad.stderr
    f = tmp_path / "s.tsv"
    f.write_text("study\tbeta\tse\nEUR\t0.12\t0.02\nEAS\t0.11\t0.03\nAFR\t0.01\t0.03\n")
    d = tmp_path / "d.tsv"
    d.write_text("study\tEUR\tEAS\tAFR\nEUR\t0\t0.1\t0.2\nEAS\t0.1\t0\t0.25\nAFR\t0.2\t0.25\t0\n")

    def partition(spec):
        out = run("transancestry", str(f), "--distances", str(d), "--tau2-prior", spec, "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert partition("tau~halfnormal(0.5)") == partition("halfnormal-tau:0.5")
    assert partition("tau2~exponential(1)") == partition("exponential:1")
    bad = run("transancestry", str(f), "--distances", str(d), "--tau2-prior",
              "precision~gamma(1,1)")
    assert bad.returncode == 2 and "partition model's tau2 prior" in bad.stderr


def test_comma_lists_are_one_parser():
    # Every comma-list option goes through CommaList: items stripped and, where the option has
    # choices, matched case-insensitively; a bad item is a usage error naming it (exit 2).
    from betameta.cli._common import CommaList

    assert CommaList(float).convert(" 0.05, 0.5 ,1,", None, None) == (0.05, 0.5, 1.0)
    assert CommaList(choices=("fe", "re")).convert("FE,re", None, None) == ("fe", "re")
    cases = [(["bias", *BCG_ARGS[1:], "--steps", "0.05,x"], "'x' is not a float"),
             (["gwas", "--study", "A=a.tsv", "--out", "o.parquet", "--methods", "fe,re2x"],
              "'re2x' is not one of fe, re, z2, bayes, partition, mrmega, re2, mvalue, be, asset"),
             (["report", str(LECTURE), "--measure", "MD", "-o", "r.html", "--sections", "data,,foo"],
              "'foo' is not one of data, classical, bayes, sensitivity, explain"),
             ([*BCG_ARGS, "--mods", " , "], "an empty list")]
    for args, message in cases:
        out = run(*args)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
    spaced = run(*BCG_ARGS, "--mods", " ablat , year", "--json")
    assert spaced.returncode == 0, spaced.stderr
    assert [c["term"] for c in json.loads(spaced.stdout)["meta_regression"]["coefficients"]] == \
        ["intercept", "ablat", "year"]


def test_influence_reaches_cumulative_and_gosh(tmp_path):
    # Cumulative meta-analysis by year and GOSH from the command line: the same numbers as the
    # library's (whose cumul and GOSH are checked against metafor in test_metafor_extra.py).
    import numpy as np

    from betameta import load_studies, meta_analysis

    out = run("influence", *BCG_ARGS[1:], "--cumulative", "--order", "year", "--gosh", "--json",
              "--plot", str(tmp_path / "cum.png"), "--plot-kind", "cumulative")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    studies = load_studies(BCG, measure="RR", study="trial",
                           columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"})
    fit = meta_analysis(studies, method="REML")
    lib = fit.cumulative(studies.data["year"].to_numpy())
    assert [r["study"] for r in d["cumulative"]] == list(lib["study"])
    np.testing.assert_allclose([r["estimate"] for r in d["cumulative"]], lib["estimate"], rtol=1e-15)
    assert d["gosh"]["title"] == "GOSH: all 8,191 subsets of 13 studies"
    assert (tmp_path / "cum.png").stat().st_size > 1000
    bad = run("influence", *BCG_ARGS[1:], "--cumulative", "--order", "decade")
    assert bad.returncode == 2 and "--order decade: no such column" in bad.stderr


def test_metasoft_command(tmp_path):
    # RE2 and m-values from the command line are the library's (tests/test_metasoft.py checks
    # those against independent computations).
    from betameta import load_studies
    from betameta.metasoft import binary_effects, mvalues, re2

    out = run("metasoft", str(LECTURE), "--measure", "MD", "--sigma", "2", "--json",
              "--plot", str(tmp_path / "pm.png"))
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    st = load_studies(LECTURE, measure="MD")
    assert d["re2"]["stat2"] == re2(st).stat2
    assert d["mvalues"]["m_value"] == mvalues(st, sigma=2.0).m_value.tolist()
    assert d["binary_effects"]["p_value"] == binary_effects(st).p_value
    assert (tmp_path / "pm.png").stat().st_size > 1000
    assert "m-values (exact; effect ~ N(0, 2^2)" in run("metasoft", str(LECTURE), "--measure", "MD",
                                                         "--sigma", "2").stdout


def test_asset_command():
    # The command prints the library's result (tests/test_asset.py checks that against
    # enumeration and simulation).
    from betameta import load_studies
    from betameta.asset import asset

    out = run("asset", str(LECTURE), "--measure", "MD", "--json")
    assert out.returncode == 0, out.stderr
    d, a = json.loads(out.stdout), asset(load_studies(LECTURE, measure="MD"))
    assert d["subset"] == list(a.subset) and d["p_value"] == a.p_value
    assert d["p_value_two_sided"] == a.p_value_two_sided
    text = run("asset", str(LECTURE), "--measure", "MD").stdout
    assert "ASSET subset search" in text and "in_subset_positive" in text
