"""The genome-wide run: results equal the study-level functions, resume after kill -9,
the same output on a Dask LocalCluster, atomic outputs and clear errors."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import require_module

from betameta import InputError, StudyTable, meta_analysis
from betameta.bayes import bayes_meta, parse_mu_prior, parse_tau_prior
from betameta.gwas import harmonise, read_sumstats, run_gwas
from betameta.gwas.synthetic import generate
from betameta.transancestry import transancestry


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("syn"), k=4, m=6000, seed=3, fmt="metal",
                    signal_fraction=0.01)


@pytest.fixture(scope="module")
def full_run(synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "meta.parquet"
    run = run_gwas(synthetic.paths, out, methods=("fe", "re", "z2", "bayes", "partition", "mrmega",
                                                  "re2", "mvalue", "be", "asset"),
                   chunk_size=1500, progress=False)
    return run, pd.read_parquet(out)


def test_outputs_and_summary(full_run, synthetic):
    run, res = full_run
    for suffix in (".summary.json", ".summary.txt", ".manhattan.png", ".qq.png"):
        assert Path(str(run.out) + suffix).stat().st_size > 500
    assert not Path(str(run.out) + ".parts").exists()
    s = json.loads(Path(str(run.out) + ".summary.json").read_text())
    assert s["variants_out"] == len(res)
    for study, c in s["per_study"].items():
        assert c["rows"] == c["kept"] + sum(c["dropped"].values()), study
        assert c["dropped"]["malformed_allele"] == 5 and c["dropped"]["duplicate"] == 5
    assert 0.9 < s["lambda_gc"] < 1.2
    assert {"chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
            "standard_error", "p_value", "neg_log_10_p_value", "direction", "n_studies"} <= set(res)
    assert res["neg_log_10_p_value"].notna().all() and (res["direction"].str.len() == 4).all()
    # Min/max statistics where readers filter (position, p-values), not on every column.
    group = pq.ParquetFile(run.out).metadata.row_group(0)
    with_stats = {group.column(i).path_in_schema for i in range(group.num_columns)
                  if group.column(i).is_stats_set}
    assert {"chromosome", "base_pair_location", "p_value", "neg_log_10_p_value", "re_p_value"} <= with_stats
    assert "beta" not in with_stats and "het_q" not in with_stats
    # Columns that cannot hold nulls are declared so (Parquet then stores no definition
    # levels); a variant column taken from the inputs keeps nulls where it has them.
    schema = pq.read_schema(run.out)
    assert not any(schema.field(c).nullable for c in schema.names if c != "rsid")
    if "rsid" in schema.names:
        assert schema.field("rsid").nullable == bool(res["rsid"].isna().any())
    # True signals are found: the strongest loci carry a true effect.
    top = res.nlargest(5, "neg_log_10_p_value")
    truth = synthetic.variants.set_index(["chromosome", "base_pair_location"])["true_effect"]
    assert (truth.loc[list(zip(top["chromosome"], top["base_pair_location"], strict=True))] != 0).all()


def test_per_variant_results_equal_study_level_functions(full_run, synthetic):
    _, res = full_run
    h = harmonise({s: read_sumstats(p) for s, p in synthetic.paths.items()})
    assert len(res) == h.m
    rng = np.random.default_rng(0)
    many = np.flatnonzero(res["n_studies"] >= 3)
    dist = None
    for i in rng.choice(many, 4, replace=False):
        keep = np.isfinite(h.beta[i])
        st = StudyTable(h.beta[i, keep], h.se[i, keep] ** 2, tuple(np.array(h.studies)[keep]))
        fit = meta_analysis(st, method="DL")
        row = res.iloc[i]
        assert row["beta"] == pytest.approx(fit.fixed.estimate, rel=1e-12)
        assert row["p_value"] == pytest.approx(fit.fixed.p, rel=1e-10)
        assert row["het_q"] == pytest.approx(fit.heterogeneity.q, rel=1e-10)
        assert row["re_beta"] == pytest.approx(fit.random.estimate, rel=1e-10)
        assert row["z2"] == pytest.approx(fit.total_test.z2, rel=1e-12)
        # The run's default priors: tau ~ half-normal(0.5) (auto, no measure), flat mu.
        post = bayes_meta(st, tau_prior=parse_tau_prior("halfnormal:0.5"), mu_prior=parse_mu_prior("flat"))
        assert row["bayes_mu_mean"] == pytest.approx(post.mu.mean, rel=1e-10)
        assert row["bayes_tau_mean"] == pytest.approx(post.tau.mean, rel=1e-10)
        assert row["bayes_beta_f_sd"] == pytest.approx(post.beta_f.sd, rel=1e-10)
        assert row["bayes_zeta2_mean"] == pytest.approx(post.zeta2_mean, rel=1e-10)
        assert np.isnan(row["bayes_log10_bf_mu0"])  # the default µ prior is flat: not defined
        if dist is None:
            from betameta.gwas.run import _distances

            dist = _distances(h, "auto")
        part = transancestry(h.beta[i], h.se[i], dist)
        assert row["partition_log10_bf"] == pytest.approx(part.log10_bf, abs=1e-10)
        # MR-MEGA (k = 4: one axis by default) against weighted least squares written out,
        # on the axes from the same distances.
        from betameta.kernels.mrmega import mds_axes

        axes = mds_axes(dist, 1)[keep]
        w = 1.0 / h.se[i, keep] ** 2
        X = np.column_stack([np.ones(keep.sum()), axes])
        if keep.sum() >= 4:
            b, *_ = np.linalg.lstsq(X * np.sqrt(w)[:, None], h.beta[i, keep] * np.sqrt(w), rcond=None)
            rss = float((w * (h.beta[i, keep] - X @ b) ** 2).sum())
            assert [row["mrmega_beta_0"], row["mrmega_beta_1"]] == pytest.approx(b, rel=1e-9)
            assert row["mrmega_chisq_residual_het"] == pytest.approx(rss, rel=1e-9)
            assert row["mrmega_chisq_assoc"] == pytest.approx(float((w * h.beta[i, keep] ** 2).sum()) - rss,
                                                              rel=1e-9)
        else:
            assert np.isnan(row["mrmega_chisq_assoc"])
        # METASOFT's RE2 and m-values: the study-level views (tested against independent
        # computations in tests/test_metasoft.py) of the studies with this variant.
        from betameta.metasoft import binary_effects, mvalues, re2

        r2, mv, be = re2(st), mvalues(st), binary_effects(st)
        # BE's common draws make a variant's p its study-level one, whatever its chunk.
        assert [row["be_stat"], row["be_p_value"]] == pytest.approx([be.stat, be.p_value], rel=1e-12)
        assert [row["re2_stat1"], row["re2_stat2"], row["re2_neg_log_10_p_value"]] == \
            pytest.approx([r2.stat1, r2.stat2, r2.neg_log_10_p_value], rel=1e-9, abs=1e-12)
        # ASSET: the study-level view (tested against enumeration and simulation in
        # tests/test_asset.py); subsets as the studies' names.
        from betameta.asset import asset

        a = asset(st)
        assert [row["asset_z"], row["asset_beta"], row["asset_p_value"], row["asset_p_value_two_sided"]] == \
            pytest.approx([a.z, a.beta, a.p_value, a.p_value_two_sided], rel=1e-12)
        assert (row["asset_subset"], row["asset_subset_positive"], row["asset_subset_negative"]) == \
            (",".join(a.subset), ",".join(a.subset_positive), ",".join(a.subset_negative))
        got = [row[f"mvalue_{s}"] for s in h.studies]
        assert np.isnan(got).tolist() == (~keep).tolist()
        assert np.array(got)[keep] == pytest.approx(mv.m_value, rel=1e-10)


def _cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "betameta.cli.main", "gwas", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_kill_9_then_resume_checks_everything_the_chunks_depend_on(synthetic, full_run, tmp_path):
    # Plain-text copies of the inputs, so that one can be edited in place keeping its size.
    paths = {s: tmp_path / f"{s}.tsv" for s in synthetic.paths}
    for s, p in synthetic.paths.items():
        paths[s].write_bytes(gzip.decompress(p.read_bytes()))
    out = tmp_path / "meta.parquet"
    methods = ("fe", "re", "z2", "bayes", "partition", "mrmega", "re2", "mvalue", "be", "asset")
    args = [arg for s, p in paths.items() for arg in ("--study", f"{s}={p}")]
    args += ["--out", str(out), "--methods", ",".join(methods), "--chunk-size", "300", "--no-plots"]
    # The run kills itself (SIGKILL) once 3 of its 20 chunk files are in place.
    killed = subprocess.run([sys.executable, "-m", "betameta.cli.main", "gwas", *args],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "BETAMETA_KILL_AFTER_CHUNKS": "3"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    parts = Path(str(out) + ".parts")
    assert len(list(parts.glob("chunk-*.arrow"))) == 3 and not out.exists()
    for f in parts.glob("chunk-*.arrow"):  # no half-written chunk carries a final name
        pd.read_feather(f)
    assert not list(parts.glob(".*tmp*"))

    def again(studies=paths, **kw):
        return run_gwas(studies, out, **{"methods": methods, "chunk_size": 300, "progress": False,
                                         "plots": False, "resume": True, **kw})

    with pytest.raises(InputError, match=r"3 finished chunk.*pass --resume"):
        again(resume=False)
    # The studies in another order: the first is the allele reference, so the chunks' signs
    # belong to the old order.
    with pytest.raises(InputError, match="studies were S1, S2, S3, S4, now S2, S1, S3, S4"):
        again({s: paths[s] for s in ("S2", "S1", "S3", "S4")})
    with pytest.raises(InputError, match=r"study S1 was read from .*S1.tsv, now from .*S2.tsv"):
        again({"S1": paths["S2"], "S2": paths["S1"], "S3": paths["S3"], "S4": paths["S4"]})
    with pytest.raises(InputError, match="option chunk_size was 300, now 600"):
        again(chunk_size=600)
    with pytest.raises(InputError, match="option tau_prior"):
        again(tau_prior="halfnormal:1")
    # One digit of one effect edited, same size, modification time put back.
    original, stat = paths["S3"].read_bytes(), paths["S3"].stat()
    row = original.index(b"\n", len(original) // 2) + 1
    digit = next(i for i in range(row, row + 200) if original[i:i + 1].isdigit())
    edited = bytearray(original)
    edited[digit] = ord("7") if original[digit] != ord("7") else ord("3")
    paths["S3"].write_bytes(bytes(edited))
    os.utime(paths["S3"], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert paths["S3"].stat().st_size == stat.st_size and paths["S3"].stat().st_mtime == stat.st_mtime
    with pytest.raises(InputError, match=r"content of .*S3.tsv \(study S3\) has changed"):
        again()
    paths["S3"].write_bytes(original)
    # A manifest that cannot be read is reported, not a JSON traceback.
    record = parts / "manifest.json"
    kept = record.read_text()
    record.write_text(kept[: len(kept) // 2])
    with pytest.raises(InputError, match=r"no readable manifest.json.*remove the folder"):
        again()
    record.write_text(kept)
    # The refusals left the chunks alone; the resumed run computes the other 17 chunks and
    # gives the uninterrupted run's output exactly.
    assert len(list(parts.glob("chunk-*.arrow"))) == 3
    again()
    pd.testing.assert_frame_equal(pd.read_parquet(out), full_run[1], check_exact=True)
    assert not parts.exists()


def test_failed_run_leaves_no_chunk_folder_behind(synthetic, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("chromosome\tbase_pair_location\nfoo\tbar\n")
    out = tmp_path / "x.parquet"
    with pytest.raises(InputError, match=r"bad\.tsv"):
        run_gwas({"A": synthetic.paths["S1"], "B": bad}, out, progress=False, plots=False)
    assert not Path(str(out) + ".parts").exists()
    # An empty chunk folder (no finished chunk) does not block a run.
    Path(str(out) + ".parts").mkdir()
    run_gwas({"A": synthetic.paths["S1"], "B": synthetic.paths["S2"]}, out, progress=False, plots=False)
    assert out.exists()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_output(synthetic, full_run, tmp_path):
    require_module("dask.distributed")
    out = tmp_path / "meta.parquet"
    # 12 chunks: more than the run keeps in flight at once (8), so the window moves.
    run_gwas(synthetic.paths, out,
             methods=("fe", "re", "z2", "bayes", "partition", "mrmega", "re2", "mvalue", "be", "asset"),
             chunk_size=500, workers=2, progress=False, plots=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out), full_run[1], check_exact=True)


def test_tsv_output_and_errors(synthetic, tmp_path):
    out = tmp_path / "meta.tsv.gz"
    run_gwas(dict(list(synthetic.paths.items())[:2]), out, chunk_size=5000, progress=False,
             plots=False)
    table = pd.read_csv(out, sep="\t")
    assert table["p_value"].notna().all() and len(table) > 5000
    with pytest.raises(InputError, match="at least 2 studies"):
        run_gwas(dict(list(synthetic.paths.items())[:1]), tmp_path / "x.parquet")
    with pytest.raises(InputError, match="no such file"):
        run_gwas({"a": tmp_path / "none.tsv", "b": synthetic.paths["S1"]}, tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="unknown methods"):
        run_gwas(synthetic.paths, tmp_path / "x.parquet", methods=("fe", "magic"))
    # A chunk size of 0 divided by zero, a negative one ran; 0 workers started a cluster of none.
    for kw in ({"chunk_size": 0}, {"chunk_size": -5}, {"chunk_size": 2.5}, {"workers": 0}):
        with pytest.raises(InputError, match=f"{next(iter(kw))} must be a whole number >= 1"):
            run_gwas(synthetic.paths, tmp_path / "x.parquet", progress=False, **kw)


def test_genomic_control_columns(synthetic, tmp_path):
    # Reference, independent of the run's own λ: METAL's second genomic control, written out
    # with NumPy's median and SciPy's χ²₁ median and tail: λ = median(z²)/χ²₁(0.5) of the
    # result, SE·√λ, p of z²/λ on 1 df.
    from scipy import stats

    out = tmp_path / "gc.parquet"
    run_gwas(dict(list(synthetic.paths.items())[:2]), out, genomic_control=True,
             progress=False, plots=False)
    res = pd.read_parquet(out)
    z = res["z"].to_numpy()
    lam = max(np.median(z[np.isfinite(z)] ** 2) / stats.chi2.ppf(0.5, 1), 1.0)
    assert lam > 1.0  # inflated inputs: the correction is not a no-op here
    np.testing.assert_allclose(res["standard_error_gc"], res["standard_error"] * np.sqrt(lam), rtol=1e-12)
    np.testing.assert_allclose(res["p_value_gc"], stats.chi2.sf(z**2 / lam, 1), rtol=1e-9)
    np.testing.assert_allclose(res["neg_log_10_p_value_gc"], -np.log10(stats.chi2.sf(z**2 / lam, 1)),
                               rtol=1e-9)


def test_missing_rsid_stays_null_in_parquet(tmp_path):
    # The first study fixes a variant's rsid; where it has none, the output says null there
    # (and only that column is declared nullable).
    rows = ("chromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\t"
            "effect_allele_frequency\trsid\n")
    a = rows + "1\t100\tA\tG\t0.1\t0.05\t0.3\trs1\n1\t200\tC\tT\t0.2\t0.05\t0.2\tNA\n"
    b = rows + "1\t100\tG\tA\t-0.12\t0.06\t0.7\trs1\n1\t200\tC\tT\t0.25\t0.05\t0.2\trs2\n"
    (tmp_path / "a.tsv").write_text(a)
    (tmp_path / "b.tsv").write_text(b)
    run = run_gwas({"A": tmp_path / "a.tsv", "B": tmp_path / "b.tsv"}, tmp_path / "o.parquet",
                   progress=False, plots=False)
    table = pq.read_table(run.out)
    assert table.column("rsid").to_pylist() == ["rs1", None]
    assert table.schema.field("rsid").nullable and not table.schema.field("beta").nullable
    # The swapped study's effect is flipped: FE of 0.1 (SE 0.05) and 0.12 (SE 0.06).
    w = np.array([1 / 0.05**2, 1 / 0.06**2])
    assert table.column("beta")[0].as_py() == pytest.approx((w @ [0.1, 0.12]) / w.sum(), rel=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 1001, 20_000])
def test_lambda_gc_equals_the_median_of_z_squared(n):
    # Reference: NumPy's median of z² over the finite z, divided by the median of χ²₁.
    from betameta.gwas.run import lambda_gc

    z = np.random.default_rng(n).normal(0, 1.1, n)
    if n > 3:
        z[:3] = (np.nan, np.inf, -np.inf)
    finite = z[np.isfinite(z)]
    want = np.median(finite**2) / 0.4549364231195724 if finite.size else np.nan
    np.testing.assert_array_equal(lambda_gc(z.copy()), want)


@pytest.mark.parametrize(("method", "test"), [("REML", "hksj"), ("PM", "z"), ("SJ", "z")])
def test_every_tau2_method_per_variant(synthetic, tmp_path, method, test):
    # --tau2-method: each variant's random-effects columns are those of the study-level fit
    # (metafor-checked in test_metafor_agreement) on that variant's studies.
    paths = dict(list(synthetic.paths.items())[:3])
    run = run_gwas(paths, tmp_path / "o.parquet", methods=("re",), tau2_method=method, test=test,
                   chunk_size=2500, progress=False, plots=False)
    res = pd.read_parquet(run.out)
    h = harmonise({s: read_sumstats(p) for s, p in paths.items()})
    rng = np.random.default_rng(4)
    for i in rng.choice(np.flatnonzero(res["n_studies"] == 3), 5, replace=False):
        beta, se = h.beta[i], h.se[i]
        fit = meta_analysis(StudyTable(beta, se**2, h.studies), method=method, test=test).random
        row = res.iloc[i]
        for col, want in (("re_tau2", fit.tau2), ("re_tau2_ci_low", fit.tau2_ci_low),
                          ("re_tau2_ci_high", fit.tau2_ci_high), ("re_beta", fit.estimate),
                          ("re_standard_error", fit.se), ("re_ci_low", fit.ci_low),
                          ("re_ci_high", fit.ci_high), ("re_p_value", fit.p),
                          ("re_pi_low", fit.pi_low), ("re_pi_high", fit.pi_high)):
            assert row[col] == pytest.approx(want, rel=1e-9, abs=1e-12 * se.min() ** 2), (i, col)
    assert "tau2_dl" not in res and run.details["options"]["tau2_method"] == method


def test_mrmega_from_the_command_line_counts_what_it_leaves_out(synthetic, tmp_path):
    from click.testing import CliRunner

    from betameta.cli.main import cli

    out = tmp_path / "mr.parquet"
    args = [arg for s, p in synthetic.paths.items() for arg in ("--study", f"{s}={p}")]
    res = CliRunner().invoke(cli, ["gwas", *args, "--out", str(out), "--methods", "mrmega",
                                   "--axes", "1", "--no-plots"])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(out)
    assert {"mrmega_beta_0", "mrmega_beta_1", "mrmega_standard_error_1", "mrmega_chisq_assoc",
            "mrmega_p_value_ancestry_het", "mrmega_neg_log_10_p_value_residual_het",
            "mrmega_ln_bf"} <= set(table.columns)
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    unfitted = int((table["n_studies"] <= 3).sum())
    assert summary["mrmega"] == {"axes": 1, "variants_not_fitted": unfitted}
    assert table.loc[table["n_studies"] <= 3, "mrmega_chisq_assoc"].isna().all()
    assert "MR-MEGA on 1 axes" in res.stdout
    bad = CliRunner().invoke(cli, ["gwas", *args, "--out", str(tmp_path / "b.parquet"),
                                   "--methods", "mrmega", "--axes", "2", "--no-plots"])
    assert bad.exit_code == 2 and "at most 1 axes" in bad.stderr


def test_leave_one_ancestry_out_equals_runs_without_its_studies(synthetic, tmp_path):
    # Ancestries of the four studies: EUR (S1, S4), EAS (S2), AFR (S3). Every column
    # "_without_<ancestry>" against a separate run on the other ancestries' studies (its own
    # harmonisation, so variants are matched by position and the sign by the alleles);
    # palindromes kept as they are so that both runs orient them alike. From the command line.
    from click.testing import CliRunner

    from betameta.cli.main import cli

    anc = synthetic.ancestry
    assert sorted(anc.values()) == ["AFR", "EAS", "EUR", "EUR"]
    kw = {"methods": ("fe", "re", "z2", "be"), "palindromic": "keep", "progress": False, "plots": False}
    args = [arg for s, p in synthetic.paths.items() for arg in ("--study", f"{s}:{anc[s]}={p}")]
    out = tmp_path / "full.parquet"
    res = CliRunner().invoke(cli, ["gwas", *args, "--out", str(out), "--methods", "fe,re,z2,be",
                                   "--palindromic", "keep", "--leave-one-out", "ancestry", "--no-plots"])
    assert res.exit_code == 0, res.output
    full = pd.read_parquet(out).set_index(["chromosome", "base_pair_location"])
    assert not any(c.endswith(tuple(f"_without_{s}" for s in anc)) for c in full.columns)
    # The groups are part of what the chunks depend on (so --resume with other labels is refused).
    options = json.loads(Path(str(out) + ".summary.json").read_text())["options"]
    assert options["left_out"] == [["EUR", [0, 3]], ["EAS", [1]], ["AFR", [2]]]
    for label in ("EUR", "EAS", "AFR"):
        rest = {s: p for s, p in synthetic.paths.items() if anc[s] != label}
        alone = run_gwas(rest, tmp_path / f"w{label}.parquet", **kw).to_frame()
        alone = alone.set_index(["chromosome", "base_pair_location"])
        both = full.loc[alone.index]
        # The reference study may be another, on the other strand at some variants (not at
        # palindromes: kept as they are, their complement is their swap).
        comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
        same = [{(a, b)} if comp[a] == b else {(a, b), (comp[a], comp[b])}
                for a, b in zip(both["effect_allele"], both["other_allele"], strict=True)]
        pairs = list(zip(alone["effect_allele"], alone["other_allele"], strict=True))
        sign = np.array([1.0 if p in s else -1.0 if p[::-1] in s else np.nan
                         for p, s in zip(pairs, same, strict=True)])
        assert np.isfinite(sign).all()
        for col in ("beta", "re_beta", "z"):
            np.testing.assert_allclose(both[f"{col}_without_{label}"] * sign, alone[col], rtol=1e-12,
                                       atol=1e-15, err_msg=col)
        for col in ("standard_error", "p_value", "het_q", "tau2_dl", "z2", "be_p_value", "n_studies"):
            np.testing.assert_allclose(both[f"{col}_without_{label}"], alone[col], rtol=1e-10,
                                       atol=1e-14, err_msg=col)
        # Variants only in the left-out ancestry's studies have nothing left.
        only = full.index.difference(alone.index)
        assert (full.loc[only, f"n_studies_without_{label}"] == 0).all()


def test_leave_one_ancestry_out_needs_labels(synthetic, tmp_path):
    with pytest.raises(InputError, match="S1, S2, S3, S4 has none"):
        run_gwas(synthetic.paths, tmp_path / "x.parquet", leave_one_out="ancestry", progress=False)
    with pytest.raises(InputError, match="every study is EUR"):
        run_gwas(synthetic.paths, tmp_path / "x.parquet", leave_one_out="ancestry", progress=False,
                 ancestry=dict.fromkeys(synthetic.paths, "EUR"))
    with pytest.raises(InputError, match="leave_one_out='by_chromosome' is not one of study, ancestry"):
        run_gwas(synthetic.paths, tmp_path / "x.parquet", leave_one_out="by_chromosome", progress=False)


def test_leave_one_out_flag_alone_means_each_study(synthetic, tmp_path):
    from click.testing import CliRunner

    from betameta.cli.main import cli

    args = [arg for s, p in synthetic.paths.items() for arg in ("--study", f"{s}={p}")]
    out = tmp_path / "loo.parquet"
    res = CliRunner().invoke(cli, ["gwas", *args, "--out", str(out), "--leave-one-out", "--no-plots"])
    assert res.exit_code == 0, res.output
    assert [c for c in pd.read_parquet(out).columns if c.startswith("beta_without_")] == \
        [f"beta_without_{s}" for s in synthetic.paths]
    bad = CliRunner().invoke(cli, ["gwas", *args, "--out", str(tmp_path / "b.parquet"),
                                   "--leave-one-out", "chromosome"])
    assert bad.exit_code == 2 and "'chromosome' is not one of 'study', 'ancestry'" in bad.output
