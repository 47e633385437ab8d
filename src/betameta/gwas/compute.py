"""Per-chunk computation: every method calls the same kernels as the study-level API."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa

from .._options import GWAS_METHODS, LEAVE_OUT, check_option
from ..errors import InputError
from ..kernels import classical_kernel, usable
from ..kernels.classical import i2_from_q
from .chunk_kernels import describe

METHODS = GWAS_METHODS
#: GWAS-SSF's mandatory columns, in the order its validator requires; ours follow.
SSF_ORDER = ("chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
             "standard_error", "effect_allele_frequency", "p_value", "rsid")


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a worker needs besides the data (picklable, for Dask)."""

    studies: tuple[str, ...]
    methods: tuple[str, ...]
    tau_prior: str = "auto"
    mu_prior: str = "flat"
    psi: float = 1.0
    tau2_prior: str = "tau2~exponential(1)"
    distances: np.ndarray | None = field(default=None, compare=False)
    #: τ² estimator and test of ``re``: None for the default DerSimonian–Laird columns of the
    #: classical kernel; a method name for the random-effects kernel's columns.
    tau2_method: str | None = None
    test: str = "z"
    #: MR-MEGA's axes of genetic variation (k, T), from the distances (kernels.mrmega).
    mrmega_axes: np.ndarray | None = field(default=None, compare=False)
    #: ``stderr`` or ``samplesize`` (the inputs are then z/√N with SE 1/√N: run.samplesize_inputs).
    scheme: str = "stderr"
    #: METAL's AVERAGEFREQ and MINMAXFREQ: the weighted mean frequency with its SE, min, max.
    freq_summary: bool = False
    #: The studies' null z correlation (k, k) to correct the fixed effect for (kernels.overlap).
    overlap: np.ndarray | None = field(default=None, compare=False)
    #: Every method again without each group of studies, in columns ``<column>_without_<label>``:
    #: ``(label, columns left out)`` per group (each study, or each ancestry's studies).
    left_out: tuple[tuple[str, tuple[int, ...]], ...] = ()


def compute_chunk(beta: np.ndarray, se: np.ndarray, eaf: np.ndarray, spec: ChunkSpec):
    """Meta-analyse a chunk of variants (rows) across studies (columns).

    Returns an Arrow table of the results only (GWAS-SSF columns first); the run adds
    the variant columns when it writes, so chunks carry no strings to workers or disk.
    """
    v = se**2
    c = classical_kernel(beta.T, v.T)
    d = _derived(beta, eaf, c.k, c.fe_z)
    out: dict[str, object] = {
        "beta": c.fe_estimate, "standard_error": c.fe_se,
        "effect_allele_frequency": d["effect_allele_frequency"], "p_value": c.fe_p, "z": d["z"],
        "neg_log_10_p_value": -c.fe_log10p, "n_studies": d["n_studies"], "direction": d["direction"],
    }
    if spec.freq_summary:
        out |= frequency_summary(eaf, se)
    if spec.overlap is not None:
        out |= _overlap_corrected(beta, v, spec)
    if spec.scheme == "samplesize":
        # β and SE of the transformed inputs mean nothing (n, ΣN, is a variant column).
        del out["beta"], out["standard_error"]
    if "fe" in spec.methods or "re" in spec.methods:
        out |= {"het_q": c.q, "het_df": d["het_df"], "het_p": c.q_p, "het_i2": c.i2}
    if "re" in spec.methods and spec.tau2_method is None:
        out |= {"tau2_dl": c.tau2_dl, "re_beta": c.re_estimate, "re_standard_error": c.re_se,
                "re_p_value": c.re_p, "re_neg_log_10_p_value": -c.re_log10p}
    elif "re" in spec.methods:
        from ..kernels import random_effects_kernel

        r = random_effects_kernel(beta.T, v.T, method=spec.tau2_method, test=spec.test)  # type: ignore[arg-type]
        out |= {"re_tau2": r.tau2, "re_tau2_ci_low": r.tau2_ci_low, "re_tau2_ci_high": r.tau2_ci_high,
                "re_beta": r.coef[:, 0], "re_standard_error": r.se[:, 0], "re_ci_low": r.ci_low[:, 0],
                "re_ci_high": r.ci_high[:, 0], "re_p_value": r.p[:, 0],
                "re_neg_log_10_p_value": -r.log10_p[:, 0], "re_pi_low": r.pi_low, "re_pi_high": r.pi_high}
    if "z2" in spec.methods:
        out |= {"z2": c.z2, "z2_df": d["z2_df"], "z2_p_value": c.z2_p, "z2_neg_log_10_p_value": -c.z2_log10p}
    if "bayes" in spec.methods:
        from ..bayes.priors import parse_mu_prior, resolve_tau_prior
        from ..kernels.bayes import bayes_arrays

        b = bayes_arrays(beta.T, v.T, resolve_tau_prior(spec.tau_prior), parse_mu_prior(spec.mu_prior))
        for key in ("mu_mean", "mu_sd", "mu_ci_low", "mu_ci_high", "tau_mean", "tau_median",
                    "beta_f_mean", "beta_f_sd", "zeta2_mean", "log10_bf_mu0", "log10_bf_tau0"):
            out[f"bayes_{key}"] = getattr(b, key)
    if "partition" in spec.methods:
        from ..kernels.partition import partition_arrays

        if spec.distances is None:
            raise InputError("the partition model needs distances (auto or a file)")
        r = partition_arrays(beta.T, v.T, spec.distances, psi=spec.psi, tau2_prior=spec.tau2_prior)
        out["partition_log10_bf"] = r.log10_bf
        out["partition_log10_bf_c1"] = r.log10_bf_c1
        out["partition_p_heterogeneity"] = r.p_heterogeneity
        for j, s in enumerate(spec.studies):
            out[f"partition_effect_{s}"] = r.effect_mean[j]
            out[f"partition_effect_sd_{s}"] = r.effect_sd[j]
    if "mrmega" in spec.methods:
        from ..kernels.mrmega import mrmega_arrays

        if spec.mrmega_axes is None:
            raise InputError("MR-MEGA needs its axes (from the distances)")
        g = mrmega_arrays(beta.T, v.T, spec.mrmega_axes)
        for t in range(g.beta.shape[1]):
            out[f"mrmega_beta_{t}"] = g.beta[:, t]
            out[f"mrmega_standard_error_{t}"] = g.se[:, t]
        for name in ("assoc", "ancestry_het", "residual_het"):
            out[f"mrmega_chisq_{name}"] = getattr(g, f"chisq_{name}")
            out[f"mrmega_p_value_{name}"] = getattr(g, f"chisq_{name}_p")
            out[f"mrmega_neg_log_10_p_value_{name}"] = -getattr(g, f"chisq_{name}_log10p")
        out["mrmega_df_residual"] = g.df_residual
        out["mrmega_ln_bf"] = g.ln_bf
    if "re2" in spec.methods:
        from ..kernels.metasoft import re2_arrays

        r2 = re2_arrays(beta.T, v.T)
        out |= {"re2_stat1": r2.stat1, "re2_stat2": r2.stat2, "re2_p_value": r2.p_value,
                "re2_neg_log_10_p_value": r2.neg_log_10_p_value}
    if "mvalue" in spec.methods:
        from ..kernels.metasoft import mvalue_arrays

        mv = mvalue_arrays(beta.T, v.T)
        for j, s in enumerate(spec.studies):
            out[f"mvalue_{s}"] = mv.m_value[j]
    if "be" in spec.methods:
        from ..kernels.binary_effects import binary_effects_arrays

        be = binary_effects_arrays(beta.T, v.T)
        out |= {"be_stat": be.stat, "be_p_value": be.p_value,
                "be_neg_log_10_p_value": be.neg_log_10_p_value}
    if "asset" in spec.methods:
        out |= _asset(beta, v, spec)
    if spec.left_out:
        out |= _left_out(beta, se, eaf, spec)
    return pa.table(out)


def _asset(beta: np.ndarray, v: np.ndarray, spec: ChunkSpec) -> dict[str, object]:
    """ASSET's columns (:mod:`betameta.kernels.asset`).

    With the studies' overlap when the run corrects for it; subsets as comma-joined study names (empty
    without studies).
    """
    from ..kernels.asset import asset_arrays

    a = asset_arrays(beta.T, v.T, r=spec.overlap)
    bits = 1 << np.arange(len(spec.studies), dtype=np.int64)

    def names(mask: np.ndarray) -> pa.Array:
        code = bits @ mask.astype(np.int64)
        uniq, inverse = np.unique(code, return_inverse=True)
        text = [",".join(s for i, s in enumerate(spec.studies) if c >> i & 1) for c in uniq]
        return pa.array(np.asarray(text, dtype=object)[inverse.ravel()], pa.string())

    return {"asset_z": a.z, "asset_beta": a.beta, "asset_standard_error": a.se,
            "asset_p_value": a.p_value, "asset_neg_log_10_p_value": a.neg_log_10_p_value,
            "asset_subset": names(a.subset), "asset_p_value_two_sided": a.p_value_two_sided,
            "asset_subset_positive": names(a.subset_positive),
            "asset_subset_negative": names(a.subset_negative),
            "asset_beta_positive": a.beta_positive, "asset_beta_negative": a.beta_negative}


def _left_out(beta: np.ndarray, se: np.ndarray, eaf: np.ndarray, spec: ChunkSpec) -> dict:
    """Every column again without each group of :attr:`ChunkSpec.left_out` (``<column>_without_<label>``).

    The same computation on the other studies' columns, with their distances and overlap, and MR-MEGA's
    axes made again from those distances (as many as the remaining studies allow).
    """
    out: dict[str, object] = {}
    k = len(spec.studies)
    for label, dropped in spec.left_out:
        keep = np.array([i for i in range(k) if i not in dropped])
        square = {a: None if getattr(spec, a) is None else getattr(spec, a)[np.ix_(keep, keep)]
                  for a in ("distances", "overlap")}
        axes = None
        if spec.mrmega_axes is not None:
            from ..kernels.mrmega import mds_axes

            axes = mds_axes(square["distances"], min(spec.mrmega_axes.shape[1], max(keep.size - 3, 0)))
        part = replace(spec, studies=tuple(spec.studies[i] for i in keep), left_out=(),
                       mrmega_axes=axes, **square)
        table = compute_chunk(beta[:, keep], se[:, keep], eaf[:, keep], part)
        out |= {f"{c}_without_{label}": table.column(c) for c in table.column_names}
    return out


def left_out_groups(studies: tuple[str, ...], by: str | None,
                    ancestry: dict[str, str] | None = None) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Return the groups of studies that ``--leave-one-out`` leaves out in turn (:attr:`ChunkSpec.left_out`).

    Each study (``by="study"``) or each ancestry label's studies (``by="ancestry"``, labels in first-seen
    order); none for ``by=None``.

    Raises :class:`~betameta.errors.InputError` when a study has no ancestry label or an
    ancestry holds every study (nothing would be left).
    """
    if by is None:
        return ()
    by = check_option("leave_one_out", by, LEAVE_OUT)
    if by == "study":
        return tuple((s, (j,)) for j, s in enumerate(studies))
    missing = [s for s in studies if not (ancestry or {}).get(s)]
    if missing:
        raise InputError(f"--leave-one-out ancestry needs every study's ancestry label "
                         f"(--study NAME:ANCESTRY=PATH); {', '.join(missing)} has none")
    labels = list(dict.fromkeys(ancestry[s] for s in studies))  # type: ignore[index]
    if len(labels) == 1:
        raise InputError(f"--leave-one-out ancestry: every study is {labels[0]}; leaving it out leaves "
                         "no study")
    return tuple((a, tuple(j for j, s in enumerate(studies) if ancestry[s] == a))  # type: ignore[index]
                 for a in labels)


#: Result columns that chunk files leave out (29% of their bytes): each is computed
#: again, bit for bit, from the chunk's inputs and stored columns when read back.
DERIVED = ("effect_allele_frequency", "z", "n_studies", "direction", "het_df", "z2_df")


def _derived(beta: np.ndarray, eaf: np.ndarray, k: np.ndarray, z: np.ndarray) -> dict:
    """Return the :data:`DERIVED` columns from the chunk's inputs.

    Its number of usable studies per variant and its fixed-effect z (one function for computing and
    restoring, so both give the same bits).
    """
    n, n_studies = beta.shape
    direction = np.empty(n * n_studies, np.uint8)
    mean_eaf = np.empty(n)
    describe(beta, eaf, direction, mean_eaf)
    # The direction strings are built from the bytes directly: no Python string per variant.
    offsets = np.arange(0, direction.size + 1, n_studies, dtype=np.int32)
    return {"effect_allele_frequency": mean_eaf, "z": z, "n_studies": k.astype(np.int64),
            "direction": pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(direction)),
            "het_df": np.where(k >= 2, k - 1.0, np.nan), "z2_df": k.astype(float)}


def _overlap_corrected(beta: np.ndarray, v: np.ndarray, spec: ChunkSpec) -> dict[str, np.ndarray]:
    """Return the fixed-effect columns corrected for sample overlap (:mod:`betameta.kernels.overlap`).

    GLS and its Q under the inverse-variance scheme, the variance of Z under the sample-size scheme.
    """
    from ..kernels import overlap

    ok = usable(beta.T, v.T)
    if spec.scheme == "samplesize":
        z = overlap.samplesize_z(beta.T, v.T, spec.overlap, ok)
        lg = overlap.log10_norm_sf2(z)
        return {"z": z, "p_value": 10.0**lg, "neg_log_10_p_value": -lg}
    g = overlap.gls_fixed_effect(beta.T, v.T, spec.overlap, ok)
    return {"beta": g["estimate"], "standard_error": g["se"], "z": g["z"], "p_value": 10.0 ** g["log10_p"],
            "neg_log_10_p_value": -g["log10_p"], "het_q": g["q"], "het_p": g["q_p"],
            "het_i2": i2_from_q(g["q"], ok.sum(axis=0))}


def frequency_summary(eaf: np.ndarray, se: np.ndarray) -> dict[str, np.ndarray]:
    """Per variant (row) of ``(n, k)`` aligned frequencies.

    The mean weighted by the scheme's weights 1/SEᵢ² (Nᵢ in the sample-size scheme) over the studies that
    give one, ``effect_allele_frequency_se`` = √(Σwᵢ(fᵢ − f̄)²/Σwᵢ), their spread (METAL's AVERAGEFREQ,
    FreqSE), and the smallest and largest (MINMAXFREQ); NaN where no study gives one.
    """
    ok = np.isfinite(eaf) & np.isfinite(se) & (se > 0)
    w = np.where(ok, 1.0 / np.where(ok, se, 1.0) ** 2, 0.0)
    f = np.where(ok, eaf, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = w.sum(axis=1)
        mean = (w * f).sum(axis=1) / sw
        var = (w * (f - mean[:, None]) ** 2).sum(axis=1) / sw
    return {"effect_allele_frequency": mean, "effect_allele_frequency_se": np.sqrt(np.maximum(var, 0.0)),
            "effect_allele_frequency_min": np.where(ok, eaf, np.inf).min(axis=1, initial=np.inf),
            "effect_allele_frequency_max": np.where(ok, eaf, -np.inf).max(axis=1, initial=-np.inf)}


def _kept(c: str, names: list[str]) -> bool:
    """Whether a :data:`DERIVED` column is stored after all.

    ``z`` where there is no beta to derive it from (the sample-size scheme), the frequency where it is the
    weighted mean of :func:`frequency_summary`.
    """
    return (c == "z" and "beta" not in names) or (
        c == "effect_allele_frequency" and "effect_allele_frequency_se" in names)


def stored_chunk(table):
    """Return a chunk's results as its chunk file holds them.

    Without the :data:`DERIVED` columns (but those :func:`_kept`), with the full column order in the
    schema's metadata.
    """
    names = table.column_names
    slim = table.drop_columns([c for c in DERIVED if c in names and not _kept(c, names)])
    return slim.replace_schema_metadata({b"columns": json.dumps(table.column_names).encode()})


def restored_chunk(stored, beta: np.ndarray, se: np.ndarray, eaf: np.ndarray):
    """Return the full results of a chunk from :func:`stored_chunk`'s table and the chunk's inputs."""
    k = usable(beta, se**2).sum(axis=1)
    names = json.loads(stored.schema.metadata[b"columns"])
    if "beta" in stored.column_names:
        with np.errstate(invalid="ignore", divide="ignore"):
            z = stored.column("beta").to_numpy() / stored.column("standard_error").to_numpy()
    else:
        z = stored.column("z").to_numpy()
    d = _derived(beta, eaf, k, z)
    return pa.table({c: d[c] if c in DERIVED and not _kept(c, names) else stored.column(c)
                     for c in names})
