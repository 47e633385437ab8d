"""Agreement with METAL on its own test data (tests/data/metal/README.md): the three
fasting-glucose scans, run as METAL's test scripts run them, against the METAANALYSIS1.TBL
METAL wrote. METAL prints rounded numbers: each comparison allows half a unit of the last
printed digit (a hair more, for ties rounded either way), or the relative precision of its 4
significant digits for p-values.

METAL keys markers by rsid, never treats A/T or C/G as strand flips (``palindromic="keep"``)
and reads alleles coded 1-4 as A, C, G, T; SardiNIA has no sample-size column (METAL's
``DEFAULT 4106``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from betameta.gwas import run_gwas

DATA = Path(__file__).parents[1] / "data" / "metal"
STUDIES = {"DGI": DATA / "DGI_three_regions.txt", "FUSION": DATA / "MAGIC_FUSION_Results.txt.gz",
           "SardiNIA": DATA / "magic_SARDINIA.tbl"}
COLUMNS = {"DGI": {"other_allele": "NON_EFFECT_ALLELE", "effect_allele_frequency": "EFFECT_ALLELE_FREQ",
                   "p_value": "P_VAL"},
           "FUSION": {"other_allele": "NON_EFFECT_ALLELE", "effect_allele_frequency": "FREQ_EFFECT"},
           "SardiNIA": {"effect_allele": "AL1", "other_allele": "AL2"}}


def _ours(tmp_path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the separator notes
        tmp_path.mkdir(exist_ok=True)
        run = run_gwas(STUDIES, tmp_path / "out.parquet", methods=("fe",), columns=COLUMNS,
                       palindromic="keep", progress=False, plots=False, **options)
    return run, run.to_frame()


def _matched(test: str, ours: pd.DataFrame):
    """METAL's table joined to ours by marker, with ±1 for our effect allele against METAL's
    Allele1 (every marker must be there, with the same two alleles)."""
    ref = pd.read_csv(DATA / test / "METAANALYSIS1.TBL", sep="\t")
    m = ref.merge(ours, left_on="MarkerName", right_on="rsid", how="outer", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == len(ref) == 2495
    a1, a2 = m["Allele1"].str.upper(), m["Allele2"].str.upper()
    same = (a1 == m["effect_allele"]) & (a2 == m["other_allele"])
    swapped = (a1 == m["other_allele"]) & (a2 == m["effect_allele"])
    assert (same | swapped).all()
    return m, np.where(swapped, -1.0, 1.0)


def _half_unit(printed: pd.Series) -> np.ndarray:
    """Half a unit of the last digit METAL printed in each cell."""
    decimals = printed.astype(str).str.split(".").str[1].str.len().fillna(0).to_numpy(float)
    return 0.5 * 10.0**-decimals * (1 + 1e-6)  # a tie (0.6435 -> 0.644) by either rounding


def _direction(ours: pd.Series, sign: np.ndarray) -> list[str]:
    flip = str.maketrans("+-", "-+")
    return [d if s > 0 else d.translate(flip) for d, s in zip(ours, sign, strict=True)]


@pytest.mark.parametrize(("test", "gc"), [("test_04", False), ("test_05", True), ("test_10", False)])
def test_stderr_scheme(tmp_path, test, gc):
    _, ours = _ours(tmp_path, genomic_control=gc)
    m, sign = _matched(test, ours)
    raw = pd.read_csv(DATA / test / "METAANALYSIS1.TBL", sep="\t", dtype=str).set_index("MarkerName")
    printed = raw.loc[m["MarkerName"]]
    assert np.all(np.abs(sign * m["beta"] - m["Effect"]) <= _half_unit(printed["Effect"]))
    assert np.all(np.abs(m["standard_error"] - m["StdErr"]) <= _half_unit(printed["StdErr"]))
    # METAL's p to its 4 significant digits (1 unit of the 4th: it rounds after computing).
    np.testing.assert_allclose(m["p_value"], m["P-value"], rtol=1e-3)
    assert _direction(m["direction"], sign) == list(m["Direction"])


def test_stderr_heterogeneity(tmp_path):
    _, ours = _ours(tmp_path)
    m, _ = _matched("test_07", ours)
    # A marker in one study: METAL prints Q = 0 on 0 df, p = 1, I² = 0; we leave the
    # statistic undefined (NaN), as the study-level analysis does.
    one = (m["n_studies"] == 1).to_numpy()
    assert one.sum() == 177 and m.loc[one, ["het_q", "het_df", "het_p", "het_i2"]].isna().all().all()
    assert (m.loc[one, ["HetChiSq", "HetDf", "HetISq"]] == 0).all().all()
    assert (m.loc[one, "HetPVal"] == 1).all()
    m = m[~one]
    raw = pd.read_csv(DATA / "test_07" / "METAANALYSIS1.TBL", sep="\t", dtype=str).set_index("MarkerName")
    printed = raw.loc[m["MarkerName"]]
    assert np.all(np.abs(m["het_q"] - m["HetChiSq"]) <= _half_unit(printed["HetChiSq"]))
    assert (m["het_df"] == m["HetDf"]).all()
    np.testing.assert_allclose(m["het_p"], m["HetPVal"], rtol=1e-3)
    assert np.all(np.abs(100 * m["het_i2"] - m["HetISq"]) <= _half_unit(printed["HetISq"]))


@pytest.mark.parametrize(("test", "gc"), [("test_01", False), ("test_03", True), ("test_06", False)])
def test_samplesize_scheme(tmp_path, test, gc):
    _, ours = _ours(tmp_path, scheme="samplesize", default_n={"SardiNIA": 4106},
                      genomic_control=gc)
    assert "beta" not in ours and "standard_error" not in ours
    m, sign = _matched(test, ours)
    raw = pd.read_csv(DATA / test / "METAANALYSIS1.TBL", sep="\t", dtype=str).set_index("MarkerName")
    printed = raw.loc[m["MarkerName"]]
    assert np.all(np.abs(m["n"] - m["Weight"]) <= _half_unit(printed["Weight"]))
    assert np.all(np.abs(sign * m["z"] - m["Zscore"]) <= _half_unit(printed["Zscore"]))
    np.testing.assert_allclose(m["p_value"], m["P-value"], rtol=1e-3)
    assert _direction(m["direction"], sign) == list(m["Direction"])
    if test == "test_06":
        one = (m["n_studies"] == 1).to_numpy()
        m, printed = m[~one], printed[~one]
        assert np.all(np.abs(m["het_q"] - m["HetChiSq"]) <= _half_unit(printed["HetChiSq"]))
        np.testing.assert_allclose(m["het_p"], m["HetPVal"], rtol=1e-3)
        assert np.all(np.abs(100 * m["het_i2"] - m["HetISq"]) <= _half_unit(printed["HetISq"]))


def test_samplesize_from_p_and_n_alone(tmp_path):
    # Inputs without SEs: z from p and the effect's sign, Z = Σ√N z / √ΣN (computed here with
    # scipy), and a p-value far below the double range through neg_log_10_p_value: a variant
    # in one study gives back its own −log10 p.
    from click.testing import CliRunner
    from scipy import stats

    from betameta.cli.main import cli

    a = pd.DataFrame({"chromosome": "1", "base_pair_location": [100, 200, 300],
                      "effect_allele": ["A", "C", "G"], "other_allele": ["G", "T", "A"],
                      "beta": [0.2, -0.1, 0.3], "p_value": [0.01, 0.2, np.nan],
                      "neg_log_10_p_value": [np.nan, np.nan, 1500.0], "n": [1000, 1000, 900]})
    b = pd.DataFrame({"chromosome": "1", "base_pair_location": [100, 200],
                      "effect_allele": ["G", "C"], "other_allele": ["A", "T"],
                      "beta": [0.5, 0.05], "p_value": [0.03, 0.5], "neg_log_10_p_value": np.nan,
                      "n": [np.nan, 3000]})
    a.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    b.to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    out = tmp_path / "o.parquet"
    args = ["gwas", "--study", f"A={tmp_path / 'a.tsv'}", "--study", f"B={tmp_path / 'b.tsv'}",
            "--out", str(out), "--no-plots", "--scheme", "samplesize"]
    res = CliRunner().invoke(cli, [*args, "--default-n", "B=2000"])
    assert res.exit_code == 0, res.output
    got = pd.read_parquet(out).set_index("base_pair_location")
    za = np.array([stats.norm.isf(0.005), -stats.norm.isf(0.1)])
    zb = np.array([-stats.norm.isf(0.015), stats.norm.isf(0.25)])  # B's first row is swapped
    na, nb = np.array([1000.0, 1000.0]), np.array([2000.0, 3000.0])
    want = (np.sqrt(na) * za + np.sqrt(nb) * zb) / np.sqrt(na + nb)
    np.testing.assert_allclose(got.loc[[100, 200], "z"], want, rtol=1e-12)
    np.testing.assert_allclose(got.loc[[100, 200], "n"], na + nb, rtol=1e-15)
    assert got.loc[300, "neg_log_10_p_value"] == pytest.approx(1500.0, rel=1e-10)
    # What the scheme cannot do, and a study without a sample size, are bad input.
    bad = CliRunner().invoke(cli, [*args, "--methods", "fe,re"])
    assert bad.exit_code == 2 and "need effect sizes and SEs" in bad.output
    b.drop(columns="n").to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "no sample size (n) column" in res.output


def test_input_filters_drop_and_count(tmp_path):
    # On METAL's data: imputation quality (mapped per study), minor-allele frequency and N.
    # Every count is checked against the inputs counted here with pandas.
    cols = {s: dict(c) for s, c in COLUMNS.items()}
    cols["DGI"]["info"], cols["FUSION"]["info"], cols["SardiNIA"]["info"] = "r2hat", "r2hat", "Rsq"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_gwas(STUDIES, tmp_path / "f.parquet", methods=("fe",), columns=cols, palindromic="keep",
                       progress=False, plots=False, filters=["info>=0.9", "maf>0.05"])
    frames = {"DGI": pd.read_csv(STUDIES["DGI"], sep="\t"),
              "FUSION": pd.read_csv(STUDIES["FUSION"], sep=" "),
              "SardiNIA": pd.read_csv(STUDIES["SardiNIA"], sep="\t")}
    for s, df in frames.items():
        info = df[cols[s]["info"]]
        f = df[cols[s].get("effect_allele_frequency", "FREQ1")]
        bad_info = ~(info >= 0.9)
        bad_maf = ~bad_info & ~(np.minimum(f, 1 - f) > 0.05)
        c = run.details["per_study"][s]
        assert c["filtered_by"] == {"info>=0.9": int(bad_info.sum()), "maf>0.05": int(bad_maf.sum())}
        assert c["dropped"]["filtered"] == int((bad_info | bad_maf).sum()) > 0
        assert c["rows"] == len(df)
    assert "filtered" in str(run.summary())
    with pytest.raises(Exception, match="filter 'quality>1'"):
        run_gwas(STUDIES, tmp_path / "g.parquet", filters=["quality>1"], progress=False)
    with pytest.raises(Exception, match="needs its info column, and the file has none"):
        run_gwas(STUDIES, tmp_path / "g.parquet", columns=COLUMNS, filters=["info>0.5"], progress=False,
                 plots=False)


def test_n_in_every_scheme_and_effective_n(tmp_path):
    # ΣN under the inverse-variance scheme is METAL's Weight of its sample-size run (test_01).
    _, ours = _ours(tmp_path, default_n={"SardiNIA": 4106})
    m, _ = _matched("test_01", ours)
    np.testing.assert_array_equal(m["n"], m["Weight"])
    # Case/control counts: 4/(1/cases + 1/controls) per study, summed; NaN where a study
    # holding the variant has no counts.
    a = pd.DataFrame({"chromosome": "1", "base_pair_location": [1, 2], "effect_allele": "A",
                      "other_allele": "G", "beta": [0.1, 0.2], "standard_error": 0.1,
                      "n_cases": [100, 200], "n_controls": [300, 300]})
    b = a.assign(n_cases=[50, np.nan], n_controls=[50, np.nan], n=[100, 400])
    a.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    b.to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    run = run_gwas({"A": tmp_path / "a.tsv", "B": tmp_path / "b.tsv"}, tmp_path / "o.parquet",
                   methods=("fe",), progress=False, plots=False)
    got = run.to_frame()
    np.testing.assert_allclose(got["n_effective"], [4 / (1 / 100 + 1 / 300) + 4 / (1 / 50 + 1 / 50), np.nan])
    assert got["n"].isna().all()  # A gives no N


@pytest.mark.parametrize("scheme", ["stderr", "samplesize"])
def test_frequency_summary(tmp_path, scheme):
    # Weighted by the scheme's weights (1/SE², or N), computed here per variant with numpy's
    # weighted average from the aligned inputs; min and max of the aligned frequencies.
    from betameta.gwas import harmonise, read_sumstats

    _, ours = _ours(tmp_path, scheme=scheme, default_n={"SardiNIA": 4106}, freq_summary=True)
    fields = ("chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
              "standard_error", "effect_allele_frequency", "rsid", "n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = {s: read_sumstats(p, COLUMNS[s], fields) for s, p in STUDIES.items()}
    frames["SardiNIA"]["n"] = 4106.0
    h = harmonise(frames, palindromic="keep")
    assert list(h.variants["rsid"]) == list(ours["rsid"])
    eaf = h.eaf
    weight = {"stderr": 1 / h.se**2,
              "samplesize": np.column_stack([frames[s]["n"].to_numpy()[np.abs(h.index[:, j]) - 1]
                                             for j, s in enumerate(h.studies)])}[scheme]
    for i in np.random.default_rng(3).choice(len(ours), 60, replace=False):
        ok = np.isfinite(eaf[i]) & (h.index[i] != 0)
        mean = np.average(eaf[i, ok], weights=weight[i, ok])
        sd = np.sqrt(np.average((eaf[i, ok] - mean) ** 2, weights=weight[i, ok]))
        row = ours.iloc[i]
        assert row["effect_allele_frequency"] == pytest.approx(mean, rel=1e-12)
        assert row["effect_allele_frequency_se"] == pytest.approx(sd, rel=1e-9, abs=1e-15)
        assert (row["effect_allele_frequency_min"], row["effect_allele_frequency_max"]) == \
            (eaf[i, ok].min(), eaf[i, ok].max())


def test_frequency_summary_survives_the_chunk_files(tmp_path):
    # Genomic control writes the output from the chunk files: the weighted frequency must come
    # back from them as computed (under the sample-size scheme GC leaves the weights N alone).
    kw = {"scheme": "samplesize", "default_n": {"SardiNIA": 4106}, "freq_summary": True}
    _, direct = _ours(tmp_path / "a", **kw)
    _, restored = _ours(tmp_path / "b", genomic_control=True, **kw)
    cols = [c for c in direct.columns if c.startswith("effect_allele_frequency")]
    pd.testing.assert_frame_equal(direct[cols], restored[cols], check_exact=True)


def test_leave_one_out_equals_a_run_without_the_study(tmp_path):
    # Every column "_without_<study>" against a separate run on the other two studies (its own
    # harmonisation: matched by marker, the sign by the alleles); on METAL's data, with re,
    # z2 and re2 as well as the fixed effect.
    kw = {"methods": ("fe", "re", "z2", "re2"), "palindromic": "keep", "progress": False,
          "plots": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = run_gwas(STUDIES, tmp_path / "full.parquet", columns=COLUMNS, leave_one_out=True,
                        **kw).to_frame().set_index("rsid")
        for out in STUDIES:
            rest = {s: p for s, p in STUDIES.items() if s != out}
            alone = run_gwas(rest, tmp_path / f"w{out}.parquet", columns=COLUMNS, **kw).to_frame()
            alone = alone.set_index("rsid")
            both = full.loc[alone.index]
            sign = np.where(both["effect_allele"] == alone["effect_allele"], 1.0, -1.0)
            assert (np.where(sign > 0, both["other_allele"], both["effect_allele"])
                    == alone["other_allele"]).all()
            for col in ("beta", "re_beta", "z"):
                np.testing.assert_allclose(both[f"{col}_without_{out}"] * sign, alone[col], rtol=1e-12,
                                           atol=1e-15)
            for col in ("standard_error", "p_value", "het_q", "tau2_dl", "z2", "re2_stat2",
                        "re2_neg_log_10_p_value", "n_studies"):
                np.testing.assert_allclose(both[f"{col}_without_{out}"], alone[col], rtol=1e-10,
                                           atol=1e-14, err_msg=col)
