"""The trans-ancestry partition model: one variant, or arrays of variants.

Model (DESIGN §3; Morris 2011): studies in a cluster share one effect β_c,
``β_c ~ N(µ, τ²)``, ``µ ~ N(0, ψ²)``, ``τ² ~ Exp(1)`` by default; clusters are the
partitions allowed by the distance matrix (:mod:`.partitions`). The default
``ψ = 1`` is on the effect scale (log odds, SD units): µ needs a proper prior,
because with a flat one the Bayes factor against the null is not defined (it
scales with the arbitrary constant of the flat density). As always with Bayes
factors, the value depends on ψ: choose it on the scale of plausible effects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._results import Result, Summary
from ..errors import InputError
from ..kernels.partition import check_distances, partition_arrays, partition_kernel, quadrature_args
from .partitions import MAX_EXACT_STUDIES, PartitionSet, enumerate_partitions
from .priors import Tau2Prior, parse_tau2_prior

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TransAncestry", "transancestry"]

@dataclass(frozen=True, repr=False)
class TransAncestry(Result):
    r"""Partition-model result for one variant (all numbers raw floats).

    Parameters
    ----------
    studies : tuple of str
        The study labels.
    beta, se : numpy.ndarray
        The observed effects and standard errors.
    distances : numpy.ndarray
        The studies' ``(k, k)`` genetic distances.
    psi : float
        The prior SD of a cluster's mean effect.
    tau2_prior : str
        The τ² prior, as written.
    log10_bf, log10_bf_c1 : float
        log10 Bayes factors against no effect anywhere: of the partition model, and of one
        common cluster.
    p_heterogeneity : float
        The posterior probability of more than one cluster.
    coclustering : numpy.ndarray
        ``(k, k)``: the posterior probability that two studies share a cluster.
    effect_mean, effect_sd : numpy.ndarray
        The posterior mean and SD of each study's effect.
    map_partition : tuple of tuple of str
        The most probable partition, as clusters of study labels.
    partitions : pandas.DataFrame
        Every partition with its number of clusters, prior and posterior probability.
    mcmc : object or None
        The sampler's diagnostics when the centre sets were sampled rather than enumerated.
    distance_source : str
        Where the distances came from (for titles).

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta.transancestry import read_distances, transancestry
    >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
    >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
    >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
    >>> fit.map_partition
    (('EUR', 'EAS', 'SAS', 'AMR'), ('AFR',))
    """

    studies: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    distances: np.ndarray
    psi: float
    tau2_prior: str
    log10_bf: float
    log10_bf_c1: float
    p_heterogeneity: float
    coclustering: np.ndarray
    effect_mean: np.ndarray
    effect_sd: np.ndarray
    map_partition: tuple[tuple[str, ...], ...]
    partitions: pd.DataFrame
    mcmc: Any = None  # the CentreSetMCMC diagnostics when the centre sets were sampled
    distance_source: str = "given as a matrix"  # where the distances came from, for titles

    def to_dict(self) -> dict[str, Any]:
        r"""Return the result as a JSON-ready dict.

        Returns
        -------
        dict
            The Bayes factors, ``p_heterogeneity``, ``studies``, ``psi``, ``tau2_prior``,
            ``coclustering``, ``effects`` (per study) and ``map_partition``, with ``mcmc``
            diagnostics when the centre sets were sampled.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta.transancestry import read_distances, transancestry
        >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
        >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
        >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
        >>> fit.to_dict()["map_partition"]
        [['EUR', 'EAS', 'SAS', 'AMR'], ['AFR']]
        """
        extra = {} if self.mcmc is None else {"mcmc": {
            "log10_bf_se": self.mcmc.log10_bf_se, "unseen_mass": self.mcmc.unseen_mass,
            "r_hat": self.mcmc.r_hat, "ess_heterogeneity": self.mcmc.ess_heterogeneity,
            "p_heterogeneity_se": self.mcmc.p_heterogeneity_se}}
        return extra | {
            "log10_bf": self.log10_bf, "log10_bf_c1": self.log10_bf_c1,
            "p_heterogeneity": self.p_heterogeneity, "studies": list(self.studies),
            "psi": self.psi, "tau2_prior": self.tau2_prior,
            "coclustering": self.coclustering.tolist(),
            "effects": [{"study": s, "mean": float(mu), "sd": float(sd)}
                        for s, mu, sd in zip(self.studies, self.effect_mean, self.effect_sd, strict=True)],
            "map_partition": [list(c) for c in self.map_partition],
        }

    def to_frame(self) -> pd.DataFrame:
        r"""Return the studies as a tidy table.

        Returns
        -------
        pandas.DataFrame
            One row per study: ``study``, observed ``beta`` and ``se``, ``posterior_mean``,
            ``posterior_sd`` and ``map_cluster`` (1-based).

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta.transancestry import read_distances, transancestry
        >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
        >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
        >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
        >>> fit.to_frame()["map_cluster"].tolist()
        [1, 1, 2, 1, 1]
        """
        cluster = {s: i + 1 for i, cl in enumerate(self.map_partition) for s in cl}
        return pd.DataFrame({"study": self.studies, "beta": self.beta, "se": self.se,
                             "posterior_mean": self.effect_mean, "posterior_sd": self.effect_sd,
                             "map_cluster": [cluster[s] for s in self.studies]})

    def summary(self) -> Summary:
        r"""Return the per-study table with the Bayes factors, MAP partition and any MCMC diagnostics.

        Returns
        -------
        Summary
            Its table is :meth:`to_frame`; its notes the Bayes factors, the MAP partition and
            the sampler's diagnostics.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta.transancestry import read_distances, transancestry
        >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
        >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
        >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
        >>> print(fit.summary().title)
        Trans-ancestry partition model, k = 5, psi = 1, tau2 ~ exponential(1)
        """
        lines = [f"Trans-ancestry partition model, k = {len(self.studies)}, psi = {self.psi:g}, "
                 f"{self.tau2_prior}",
                 f"log10 BF (any effect vs none) = {self.log10_bf:.3f}; restricted to C = 1: "
                 f"{self.log10_bf_c1:.3f}; P(heterogeneity, C > 1) = {self.p_heterogeneity:.3f}",
                 "MAP partition: " + " | ".join(", ".join(c) for c in self.map_partition)]
        if self.mcmc is not None:
            lines += mcmc_diagnostics(self.mcmc)
        table = self.to_frame()
        text = "\n".join([*lines, "", table.to_string(index=False, float_format=lambda x: f"{x:.4g}")])
        return Summary(lines[0], table, tuple(lines[1:]), text=text)

    def __repr__(self) -> str:
        return (f"TransAncestry(k={len(self.studies)}, log10_bf={self.log10_bf:.3f}, "
                f"p_heterogeneity={self.p_heterogeneity:.3f})")

    def plot_effects(self, ax: Axes | None = None) -> Axes:
        r"""Draw a forest plot of the studies' observed and posterior effects.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta.transancestry import read_distances, transancestry
        >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
        >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
        >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
        >>> fit.plot_effects().get_xlabel()
        'effect (squares: observed ± 95% CI; circles: posterior mean)'
        """
        from .plots import plot_effects

        return plot_effects(self, ax=ax)

    def plot_coclustering(self, ax: Axes | None = None) -> Axes:
        r"""Draw a heat map of the co-clustering probabilities.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta.transancestry import read_distances, transancestry
        >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
        >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
        >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
        >>> fit.plot_coclustering().get_title(loc="left")
        'Posterior co-clustering of the studies'
        """
        from .plots import plot_coclustering

        return plot_coclustering(self, ax=ax)

    def plot_dendrogram(self, ax: Axes | None = None) -> Axes:
        r"""Draw a dendrogram of the studies' genetic distances (average linkage).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Examples
        --------
        >>> import pandas as pd
        >>> from betameta.transancestry import read_distances, transancestry
        >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
        >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
        >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
        >>> fit.plot_dendrogram().get_xlabel()
        'distance (average linkage)'
        """
        from .plots import plot_dendrogram

        return plot_dendrogram(self, ax=ax)


#: Split-R-hat above which the sampled numbers are reported as unreliable (Vehtari et al.
#: 2021 recommend 1.01 for final results; 1.1 is the classical bound of Gelman et al.).
R_HAT_MAX = 1.1


def mcmc_diagnostics(mc: Any) -> list[str]:
    """Lines saying how a sampled partition model converged, and a warning where it did not."""
    worst = max(mc.r_hat.values())
    lines = [f"sampled over centre sets (MCMC): log10 BF Monte Carlo se {mc.log10_bf_se:.3g}; "
             f"R-hat {', '.join(f'{k} {v:.3f}' for k, v in mc.r_hat.items())}; ESS of the "
             f"heterogeneity indicator {mc.ess_heterogeneity:.0f}; acceptance {mc.acceptance:.3g}; "
             f"{mc.n_partitions_visited} partitions visited, unseen mass {mc.unseen_mass:.2g}"]
    if not worst <= R_HAT_MAX:
        lines.append(f"warning: the chains disagree (R-hat {worst:.3g} > {R_HAT_MAX}): they sit in "
                     "different partitions, so the sampled numbers and their Monte Carlo errors are "
                     "not reliable; run more steps or fewer studies")
    return lines


def transancestry(
    beta: np.ndarray,
    se: np.ndarray,
    distances: np.ndarray,
    *,
    studies: tuple[str, ...] | None = None,
    psi: float = 1.0,
    tau2_prior: str | Tau2Prior = "tau2~exponential(1)",
    method: str = "auto",
    seed: int | None = 1,
    mcmc_steps: int = 20_000,
    distance_source: str = "given as a matrix",
) -> TransAncestry:
    r"""Return the partition model for one variant (same kernel as :func:`partition_arrays`).

    Studies with a missing effect or SE (NaN) are dropped for this variant (and the
    allowed partitions restricted to the others); at least 2 must remain. An SE that is
    not a positive finite number, an infinite effect or a repeated label is an
    :class:`~betameta.errors.InputError`.

    Parameters
    ----------
    beta, se : array_like
        Each study's effect and its standard error (NaN leaves the study out).
    distances : array_like
        The k × k matrix of the studies' genetic distances (symmetric, zero diagonal).
    studies
        Study labels (default ``1..k``).
    psi
        The prior sd of a cluster's mean effect.
    tau2_prior
        The prior of the within-cluster variance τ² (see
        :func:`betameta.transancestry.priors.parse_tau2_prior`).
    method
        ``exact`` (enumerate all centre sets), ``mcmc`` (sample them, see :mod:`.mcmc`) or
        ``auto``: exact up to 14 studies, MCMC above.
    seed
        Seed of the MCMC.
    mcmc_steps
        Kept draws per chain, after as many burn-in steps as a tenth of them.
    distance_source
        Where the distances came from (a file, allele frequencies), for the figures' titles.

    Returns
    -------
    TransAncestry
        ``log10_bf`` (any effect against none), ``log10_bf_c1`` (restricted to one
        cluster), ``p_heterogeneity`` (P(more than one cluster | y)), the co-clustering
        matrix, each study's posterior effect, the MAP partition, and the figures
        (``plot_effects``, ``plot_coclustering``, ``plot_dendrogram``).

    Raises
    ------
    InputError
        Mismatched lengths, repeated labels, an SE that is not positive and finite, fewer
        than 2 usable studies, or distances that are not a valid matrix.

    Notes
    -----
    Studies are partitioned into clusters whose centres are chosen in order of genetic
    distance (MANTRA's prior over partitions); within a cluster the effects share a mean
    µ_c ~ N(0, ψ²) with between-study variance τ². The marginal likelihood of each
    partition is exact given τ², integrated over τ² by quadrature.

    References
    ----------
    Morris, A. P. (2011). Transethnic meta-analysis of genomewide association studies.
    Genet Epidemiol 35:809–822.

    Examples
    --------
    >>> import pandas as pd
    >>> from betameta.transancestry import read_distances, transancestry
    >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
    >>> dist, names = read_distances("examples/cdkal1_like_distances.tsv", tuple(locus["study"]))
    >>> fit = transancestry(locus["beta"], locus["se"], dist, studies=names)
    >>> round(fit.log10_bf, 3)
    8.622
    """
    beta = np.asarray(beta, dtype=float).reshape(-1)
    se = np.asarray(se, dtype=float).reshape(-1)
    k = beta.size
    studies = tuple(studies) if studies is not None else tuple(str(i + 1) for i in range(k))
    if len(studies) != k or se.size != k:
        raise InputError("beta, se and study labels must have the same length")
    if len(set(studies)) != k:
        twice = sorted({s for s in studies if studies.count(s) > 1})
        raise InputError(f"study labels must be unique: {', '.join(map(repr, twice))} given more than once")
    wrong = np.flatnonzero(~np.isnan(se) & ~(np.isfinite(se) & (se > 0)) | np.isinf(beta))
    if wrong.size:
        i = int(wrong[0])
        raise InputError(f"study {studies[i]!r}: effect {beta[i]:g} with SE {se[i]:g}; an SE must be a "
                         "positive finite number (a missing one, NaN, leaves the study out)")
    dist = check_distances(distances, k)
    keep = np.isfinite(beta) & np.isfinite(se)
    if keep.sum() < 2:
        raise InputError(f"the partition model needs at least 2 studies with an effect and a "
                         f"positive SE; got {int(keep.sum())}")
    cols = np.flatnonzero(keep)
    if method not in ("auto", "exact", "mcmc"):
        raise InputError(f"method={method!r} is not one of auto, exact, mcmc")
    if not (isinstance(mcmc_steps, int | np.integer) and mcmc_steps >= 100):
        raise InputError(f"mcmc_steps must be a whole number >= 100, got {mcmc_steps!r}")
    if method == "mcmc" or (method == "auto" and cols.size > MAX_EXACT_STUDIES):
        return replace(_from_mcmc(beta[cols], se[cols], dist[np.ix_(cols, cols)],
                                  tuple(studies[i] for i in cols), psi, tau2_prior, seed, mcmc_steps),
                       distance_source=distance_source)
    res = partition_arrays(beta[cols, None], se[cols, None] ** 2, dist[np.ix_(cols, cols)], psi=psi,
                           tau2_prior=tau2_prior, coclustering=True)
    names = tuple(studies[i] for i in cols)
    ps = enumerate_partitions(dist[np.ix_(cols, cols)])
    # Posterior of each partition, for the table (cheap: a second kernel call is not needed).
    part_post = _partition_posterior(beta[cols], se[cols] ** 2, ps, psi, parse_tau2_prior(tau2_prior))
    table = pd.DataFrame({
        "partition": [" | ".join(",".join(names[i] for i in cl) for cl in p) for p in ps.partitions],
        "n_clusters": ps.n_clusters_of, "prior": np.exp(ps.log_prior), "posterior": part_post})
    best = ps.partitions[int(res.map_partition[0])]
    return TransAncestry(names, beta[cols], se[cols], dist[np.ix_(cols, cols)], psi,
                         parse_tau2_prior(tau2_prior).name, float(res.log10_bf[0]),
                         float(res.log10_bf_c1[0]), float(res.p_heterogeneity[0]),
                         res.coclustering[..., 0], res.effect_mean[:, 0], res.effect_sd[:, 0],
                         tuple(tuple(names[i] for i in cl) for cl in best),
                         table.sort_values("posterior", ascending=False, ignore_index=True),
                         distance_source=distance_source)


def _from_mcmc(beta, se, dist, names, psi, tau2_prior, seed, steps) -> TransAncestry:
    from .mcmc import transancestry_mcmc

    mc = transancestry_mcmc(beta, se, dist, psi=psi, tau2_prior=str(tau2_prior), seed=seed, steps=steps,
                            burn=max(steps // 10, 1))
    rows = sorted(mc.visits.items(), key=lambda kv: -kv[1])
    table = pd.DataFrame({
        "partition": [" | ".join(",".join(names[i] for i in cl) for cl in p) for p, _ in rows],
        "n_clusters": [len(p) for p, _ in rows], "prior": np.nan,
        "posterior": [f for _, f in rows]})
    return TransAncestry(names, beta, se, dist, psi, parse_tau2_prior(tau2_prior).name, mc.log10_bf,
                         mc.log10_bf_c1, mc.p_heterogeneity, mc.coclustering, mc.effect_mean,
                         mc.effect_sd, tuple(tuple(names[i] for i in cl) for cl in mc.map_partition),
                         table, mcmc=mc)


def single_partition_fit(b: np.ndarray, v: np.ndarray, part: tuple[tuple[int, ...], ...],
                         psi2: float, quad: tuple) -> tuple[float, np.ndarray, np.ndarray]:
    """Log BF of one partition Z against the null, and the effects' moments given Z.

    The kernel run on a partition set holding just Z (used for the partition table
    of one variant and by the centre-set MCMC).
    """
    k = b.size
    idx = np.array([i for cl in part for i in cl], np.int64)
    mptr = np.cumsum([0] + [len(cl) for cl in part]).astype(np.int64)
    study_cluster = np.zeros((1, k), np.int64)
    for c, cl in enumerate(part):
        study_cluster[0, list(cl)] = c
    n = len(part)
    scal, mean, sd, _ = partition_kernel(
        b[None], v[None], *quad, psi2, idx, mptr, np.array([0, n], np.int64),
        np.arange(n, dtype=np.int64), study_cluster, np.zeros(1), 0, np.array([n], np.int64), False)
    return float(scal[0, 0]), mean[0], sd[0]


def _partition_posterior(b, v, ps: PartitionSet, psi: float, prior: Tau2Prior) -> np.ndarray:
    """P(Z | data) for each partition."""
    quad = quadrature_args(prior)
    log_bf = np.array([single_partition_fit(b, v, part, psi * psi, quad)[0]
                       for part in ps.partitions])
    post = ps.log_prior + log_bf
    return np.exp(post - np.logaddexp.reduce(post))
