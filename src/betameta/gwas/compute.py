"""Per-chunk computation: every method calls the same kernels as the study-level API."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..kernels import classical_kernel

METHODS = ("fe", "re", "z2", "bayes", "partition")
#: GWAS-SSF's mandatory columns, in the order its validator requires; ours follow.
SSF_ORDER = ("chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
             "standard_error", "effect_allele_frequency", "p_value", "rsid")


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a worker needs besides the data (picklable, for Dask)."""

    studies: tuple[str, ...]
    methods: tuple[str, ...]
    tau_prior: str = "halfnormal:0.5"
    mu_prior: str = "normal:0,1"
    psi: float = 1.0
    tau2_prior: str = "exponential:1"
    distances: np.ndarray | None = field(default=None, compare=False)


def _direction(beta: np.ndarray) -> np.ndarray:
    """METAL's direction string: one of + - 0 ? per study."""
    chars = np.where(np.isnan(beta), b"?", np.where(beta > 0, b"+", np.where(beta < 0, b"-", b"0")))
    joined = np.ascontiguousarray(chars.astype("S1")).view(f"S{beta.shape[1]}").ravel()
    return joined.astype(str)


def compute_chunk(variants: pd.DataFrame, beta: np.ndarray, se: np.ndarray, eaf: np.ndarray,
                  spec: ChunkSpec) -> pd.DataFrame:
    """Meta-analyse a chunk of variants (rows) across studies (columns)."""
    v = se**2
    c = classical_kernel(beta.T, v.T)
    out = variants.reset_index(drop=True).copy()
    out["beta"] = c.fe_estimate
    out["standard_error"] = c.fe_se
    out["z"] = c.fe_z
    out["p_value"] = c.fe_p
    out["neg_log_10_p_value"] = -c.fe_log10p
    with np.errstate(invalid="ignore"):
        out["effect_allele_frequency"] = np.nanmean(eaf, axis=1) if np.isfinite(eaf).any() else np.nan
    out["n_studies"] = c.k.astype(np.int64)
    out["direction"] = _direction(beta)
    if "fe" in spec.methods or "re" in spec.methods:
        out["het_q"] = c.q
        out["het_df"] = c.q_df
        out["het_p"] = c.q_p
        out["het_i2"] = c.i2
    if "re" in spec.methods:
        out["tau2_dl"] = c.tau2_dl
        out["re_beta"] = c.re_estimate
        out["re_standard_error"] = c.re_se
        out["re_p_value"] = c.re_p
        out["re_neg_log_10_p_value"] = -c.re_log10p
    if "z2" in spec.methods:
        out["z2"] = c.z2
        out["z2_df"] = c.z2_df
        out["z2_p_value"] = c.z2_p
        out["z2_neg_log_10_p_value"] = -c.z2_log10p
    if "bayes" in spec.methods:
        from ..bayes.arrays import bayes_arrays
        from ..bayes.priors import parse_mu_prior, parse_tau_prior

        b = bayes_arrays(beta.T, v.T, parse_tau_prior(spec.tau_prior), parse_mu_prior(spec.mu_prior))
        for key in ("mu_mean", "mu_sd", "mu_ci_low", "mu_ci_high", "tau_median", "log10_bf_tau0"):
            out[f"bayes_{key}"] = b[key]
    if "partition" in spec.methods:
        from ..transancestry import transancestry_arrays

        if spec.distances is None:
            raise ValueError("the partition model needs distances (auto or a file)")
        r = transancestry_arrays(beta, se, spec.distances, psi=spec.psi, tau2_prior=spec.tau2_prior)
        out["partition_log10_bf"] = r["log10_bf"]
        out["partition_log10_bf_c1"] = r["log10_bf_c1"]
        out["partition_p_heterogeneity"] = r["p_heterogeneity"]
        for j, s in enumerate(spec.studies):
            out[f"partition_effect_{s}"] = r["effect_mean"][:, j]
            out[f"partition_effect_sd_{s}"] = r["effect_sd"][:, j]
    first = [c for c in SSF_ORDER if c in out]
    return out[first + [c for c in out.columns if c not in first]]
