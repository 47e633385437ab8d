"""MCMC over centre sets for many studies (where 2ᵏ − 1 centre sets are too many).

The chain moves on centre sets ``s`` with target ``P(s) · BF(Z(s))``: the same
collapsed likelihood as the exact kernel (β_c, µ integrated in closed form, τ²
by the same quadrature), so only the discrete clustering is sampled. Moves:
toggle one study in or out of the centre set, or swap a centre for a
non-centre (both symmetric proposals). Quantities:

* ``p_heterogeneity`` and ``coclustering``: averages over the draws;
* ``effect_mean``/``effect_sd``: Rao–Blackwellised (per-partition posterior
  moments from the kernel, averaged over the draws);
* ``log10_bf``: from the posterior identity ``BF = P(Z*)·BF(Z*) / P(Z*|data)``
  at the most visited partition Z*, with ``P(Z*|data)`` its visit frequency (its
  Monte Carlo error is that of a frequency) and ``P(Z*)`` computed exactly from
  the centre sets that generate it; ``unseen_mass`` is the Good–Turing estimate
  of posterior mass in partitions the chain never saw (fraction of draws in
  partitions visited exactly once).

Convergence: R-hat (split, across chains) of the number of clusters and of
``log BF(Z)``, and the bulk ESS of the heterogeneity indicator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..kernels.partition import check_distances, quadrature_args
from .model import single_partition_fit
from .partitions import centre_set_log_prior, partitions_of
from .priors import parse_tau2_prior

__all__ = ["CentreSetMCMC", "transancestry_mcmc"]


@dataclass(frozen=True)
class CentreSetMCMC:
    r"""Result of :func:`transancestry_mcmc` for one variant.

    Parameters
    ----------
    log10_bf, log10_bf_se : float
        The partition model's log10 Bayes factor against no effect, and its Monte Carlo SE.
    log10_bf_c1 : float
        The one-cluster model's.
    unseen_mass : float
        The fraction of draws at partitions visited once: a Good–Turing estimate of the
        posterior mass of the partitions never visited.
    p_heterogeneity, p_heterogeneity_se : float
        The posterior probability of more than one cluster, and its Monte Carlo SE.
    coclustering : numpy.ndarray
        ``(k, k)`` posterior co-clustering probabilities.
    effect_mean, effect_sd : numpy.ndarray
        The posterior of each study's effect.
    map_partition : tuple of tuple of int
        The most visited partition, as clusters of study indices.
    r_hat : dict of str to float
        Split-R̂ of the number of clusters and of the log BF over the chains.
    ess_heterogeneity : float
        The effective sample size of the heterogeneity indicator.
    n_partitions_visited : int
        The distinct partitions visited.
    acceptance : float
        The fraction of proposals accepted.
    visits : dict
        The posterior frequency of each visited partition.

    Examples
    --------
    >>> import pandas as pd
    >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
    >>> dist = pd.read_csv("examples/cdkal1_like_distances.tsv", sep="\t", index_col=0).to_numpy()
    >>> r = transancestry_mcmc(locus["beta"], locus["se"], dist, steps=2000, burn=200, chains=2)
    >>> round(r.log10_bf, 1), r.n_partitions_visited, max(r.r_hat.values()) < 1.01
    (8.6, 17, True)
    """

    log10_bf: float
    log10_bf_se: float
    log10_bf_c1: float
    unseen_mass: float
    p_heterogeneity: float
    p_heterogeneity_se: float
    coclustering: np.ndarray
    effect_mean: np.ndarray
    effect_sd: np.ndarray
    map_partition: tuple[tuple[int, ...], ...]
    r_hat: dict[str, float]
    ess_heterogeneity: float
    n_partitions_visited: int
    acceptance: float
    visits: dict = field(default_factory=dict, repr=False)


def _split_rhat(x: np.ndarray) -> float:
    """Split-R-hat (Gelman et al. 2013) for draws of shape (chains, n)."""
    n = x.shape[1] // 2
    chains = np.concatenate([x[:, :n], x[:, n:2 * n]])
    if np.all(chains.var(axis=1) == 0):
        return 1.0 if np.ptp(chains.mean(axis=1)) == 0 else float("inf")
    w = chains.var(axis=1, ddof=1).mean()
    b = n * chains.mean(axis=1).var(ddof=1)
    return float(np.sqrt(((n - 1) / n * w + b / n) / w))


def _ess(x: np.ndarray) -> float:
    """Effective sample size, summed over chains.

    ``n / (1 + 2 Σ ρ_t)`` with the sum of autocorrelations stopped at the first negative pair (Geyer's
    initial positive sequence). A chain that never moves carries no information about the variance: it
    counts n.
    """
    total = 0.0
    for chain in x:
        c = chain - chain.mean()
        n = c.size
        if c.var() == 0:
            total += n
            continue
        f = np.fft.rfft(c, 2 * n)
        acf = np.fft.irfft(f * np.conj(f))[:n] / (c.var() * n)
        tau = 1.0
        for lag in range(1, n - 1, 2):
            pair = acf[lag] + acf[lag + 1]
            if pair < 0:
                break
            tau += 2 * pair
        total += n / tau
    return total


class _Evaluator:
    """log BF(Z) and the conditional effect moments of one partition, cached by partition."""

    def __init__(self, b, v, psi2, prior):
        self.b, self.v, self.psi2 = b, v, psi2
        self.quad = quadrature_args(prior)
        self.cache: dict[tuple, tuple[float, np.ndarray, np.ndarray]] = {}

    def __call__(self, part: tuple[tuple[int, ...], ...]) -> tuple[float, np.ndarray, np.ndarray]:
        hit = self.cache.get(part)
        if hit is None:
            hit = self.cache[part] = single_partition_fit(self.b, self.v, part, self.psi2, self.quad)
        return hit


def transancestry_mcmc(
    beta: np.ndarray,
    se: np.ndarray,
    distances: np.ndarray,
    *,
    psi: float = 1.0,
    tau2_prior: str = "tau2~exponential(1)",
    chains: int = 4,
    steps: int = 20000,
    burn: int = 2000,
    seed: int | None = 1,
) -> CentreSetMCMC:
    r"""Sample centre sets for one variant with k studies (any k ≥ 2; k = 30 is routine).

    Metropolis–Hastings over the sets of cluster centres (each step toggles one study's being a
    centre, or moves a centre to another study, with probability ½ each), each partition's
    marginal likelihood computed exactly and cached; the estimates are averages over the chains
    after ``burn`` steps. The Bayes factor is ``P(Z*)·BF(Z*)/P̂(Z*|y)`` at the most visited
    partition Z*, its Monte Carlo error that of Z*'s visit frequency.

    Parameters
    ----------
    beta, se : array_like
        The studies' effects and standard errors.
    distances : numpy.ndarray
        The studies' ``(k, k)`` genetic distances.
    psi : float
        The prior SD of a cluster's mean effect.
    tau2_prior : str
        The τ² prior (:func:`~betameta.transancestry.priors.parse_tau2_prior`).
    chains, steps, burn : int
        The chains, the steps per chain and the steps of each discarded.
    seed : int or None
        The seed.

    Returns
    -------
    CentreSetMCMC
        The estimates with their Monte Carlo errors and the chains' diagnostics.

    Raises
    ------
    InputError
        Fewer than 2 studies, a missing effect or a non-positive SE, or distances that are not
        a symmetric ``(k, k)`` matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> locus = pd.read_csv("examples/cdkal1_like.tsv", sep="\t")
    >>> dist = pd.read_csv("examples/cdkal1_like_distances.tsv", sep="\t", index_col=0).to_numpy()
    >>> r = transancestry_mcmc(locus["beta"], locus["se"], dist, steps=2000, burn=200, chains=2)
    >>> abs(r.log10_bf - 8.622) < 3 * r.log10_bf_se + 0.01  # the exact enumeration's value
    True
    """
    beta = np.asarray(beta, float)
    se = np.asarray(se, float)
    k = beta.size
    dist = check_distances(distances, k)
    if k < 2 or not (np.all(np.isfinite(beta)) and np.all(se > 0)):
        raise InputError("the MCMC needs at least 2 studies, all with an effect and a positive SE")
    ev = _Evaluator(beta, se**2, psi * psi, parse_tau2_prior(tau2_prior))
    rng = np.random.default_rng(seed)

    def log_target(centres: np.ndarray) -> tuple[float, list]:
        cs = tuple(int(i) for i in np.flatnonzero(centres))
        parts = partitions_of(cs, dist)
        lbf = np.array([ev(p)[0] for p in parts])
        return centre_set_log_prior(k, len(cs)) + np.logaddexp.reduce(lbf) - np.log(len(parts)), parts

    n_keep = steps
    n_clusters = np.zeros((chains, n_keep))
    log_bf_trace = np.zeros((chains, n_keep))
    visits: dict[tuple, int] = {}
    cocl = np.zeros((k, k))
    m1 = np.zeros(k)
    m2 = np.zeros(k)
    accepted = 0
    for ch in range(chains):
        centres = np.zeros(k, bool)
        centres[rng.integers(k)] = True
        lt, parts = log_target(centres)
        for it in range(burn + steps):
            # The move type is chosen with a fixed probability (not depending on the state) so
            # that both proposals stay symmetric; an impossible move is a rejection.
            prop = centres.copy()
            if rng.uniform() < 0.5:
                prop[rng.integers(k)] ^= True
            elif not prop.all():
                on, off = np.flatnonzero(prop), np.flatnonzero(~prop)
                prop[rng.choice(on)] = False
                prop[rng.choice(off)] = True
            if prop.any() and not np.array_equal(prop, centres):
                lt_new, parts_new = log_target(prop)
                if np.log(rng.uniform()) < lt_new - lt:
                    centres, lt, parts = prop, lt_new, parts_new
                    accepted += it >= burn
            if it < burn:
                continue
            j = it - burn
            # With tied distances a centre set covers several partitions: pick one by weight.
            lbf = np.array([ev(p)[0] for p in parts])
            part = parts[int(rng.choice(len(parts), p=np.exp(lbf - np.logaddexp.reduce(lbf))))]
            log_bf, mean, sd = ev(part)
            visits[part] = visits.get(part, 0) + 1
            n_clusters[ch, j] = len(part)
            log_bf_trace[ch, j] = log_bf
            for cl in part:
                cocl[np.ix_(cl, cl)] += 1
            m1 += mean
            m2 += sd**2 + mean**2
    n = chains * n_keep
    het = (n_clusters > 1).astype(float)
    ess = _ess(het)
    # BF = P(Z*) BF(Z*) / P(Z*|data) at the most visited partition Z*.
    best = max(visits, key=visits.get)
    log_prior_best = _partition_log_prior(best, dist)
    log_total = log_prior_best + ev(best)[0] - np.log(visits[best] / n)
    # Its Monte Carlo error is that of the frequency of Z*: sd(1[Z*]) / (mean · √ESS).
    at_mode = (log_bf_trace == ev(best)[0]).astype(float)
    freq = at_mode.mean()
    se_log = np.sqrt(freq * (1 - freq) / max(_ess(at_mode), 1.0)) / freq / np.log(10)
    singles = sum(1 for c in visits.values() if c == 1)
    mean = m1 / n
    return CentreSetMCMC(
        log10_bf=float(log_total / np.log(10)), log10_bf_se=float(se_log),
        log10_bf_c1=ev((tuple(range(k)),))[0] / np.log(10), unseen_mass=singles / n,
        p_heterogeneity=float(het.mean()),
        p_heterogeneity_se=float(het.std() / np.sqrt(max(ess, 1.0))),
        coclustering=cocl / n, effect_mean=mean, effect_sd=np.sqrt(np.maximum(m2 / n - mean**2, 0)),
        map_partition=best,
        r_hat={"n_clusters": _split_rhat(n_clusters), "log_bf": _split_rhat(log_bf_trace)},
        ess_heterogeneity=ess, n_partitions_visited=len(visits), acceptance=accepted / n,
        visits={p: c / n for p, c in visits.items()})


def _partition_log_prior(part: tuple[tuple[int, ...], ...], dist: np.ndarray) -> float:
    """Prior mass of one partition.

    The centre sets that generate it are one centre per cluster, each cluster's centre being a member that
    pulls in exactly that cluster.
    """
    from itertools import product

    k = dist.shape[0]
    total = -np.inf
    for centres in product(*part):
        cs = tuple(sorted(centres))
        parts = partitions_of(cs, dist)
        hits = sum(p == part for p in parts)
        if hits:
            total = np.logaddexp(total, centre_set_log_prior(k, len(cs)) + np.log(hits / len(parts)))
    return float(total)
